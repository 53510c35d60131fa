"""The leaders' report page: every figure equals the report JSON, in each language; scope.

Data: the tiny questionnaire (tests/data/tiny.v1.yaml, k = 3) imported from hand-made CSV
rows, as in test_scoring_pipeline.py. Network N1 (region R1) has an autumn and a spring
round; N2 and N3 share its region, so the region median exists; N4 is in region R2.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from tiny_import import HEADER, TINY, import_rows

from assess.models import Network, Region, Round
from assess.questionnaire import load_questionnaire_file
from assess.services.questionnaires import load_into_db

N1_SPRING = [
    "R1,N1,2026-spring,r1,A,2026-03-15T10:00:00,5,5,4,4,3,3,1,dk,5,1,4,Good meetings",
    "R1,N1,2026-spring,r2,A,2026-03-15T11:00:00,3,5,4,2,3,,2,2,4,2,3,",
    "R1,N1,2026-spring,r3,B,2026-03-16T09:00:00,4,4,5,5,1,1,dk,dk,3,5,2,",
    "R1,N1,2026-spring,r4,,2026-03-17T09:00:00,5,4,3,3,2,4,3,3,5,3,5,",
]


def uniform(network, region, value, n=3, period="2026-spring", month="2026-03"):
    cells = ",".join([str(value)] * 11)
    return [f"{region},{network},{period},{network}-x{i},{network} org {i},{month}-20T12:00:00,"
            f"{cells}," for i in range(n)]


N1_AUTUMN = [r.replace("N1 org 0", "A").replace("N1 org 1", "B")
             for r in uniform("N1", "R1", 2, period="2025-autumn", month="2025-10")]
OTHERS = [*uniform("N2", "R1", 3), *uniform("N3", "R1", 4), *uniform("N4", "R2", 5)]
LANGS = ["en", "sv", "fi"]


@pytest.fixture
def tiny(db):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()


@pytest.fixture
def data(tiny, db, runner, tmp_path):
    import_rows(runner, tmp_path, N1_AUTUMN, "autumn.csv")
    import_rows(runner, tmp_path, [*N1_SPRING, *OTHERS], "spring.csv")
    network = db.scalar(select(Network).where(Network.name == "N1"))
    rounds = {r.period.label: r for r in db.scalars(select(Round).where(
        Round.network_id == network.id))}
    return {"network": network, "spring": rounds["2026-spring"], "autumn": rounds["2025-autumn"]}


def login_as(client, make_user, role, network=None, region=None, lang="en"):
    user = make_user(role=role, network=network, region=region)
    response = client.post("/login", data={"email": user.email,
                                           "password": "correct horse battery"})
    assert response.status_code in (302, 303)
    client.post("/language", data={"lang": lang, "next": "/"})
    return user


def fmt(value, lang):
    """The `score` filter's output: one decimal, decimal comma in sv and fi."""
    text = f"{abs(value):.1f}" if value is not None else "–"
    text = text.replace(".", ",") if lang in ("sv", "fi") else text
    return ("-" if value is not None and value < 0 else "") + text


def signed(value, lang):
    text = fmt(abs(value), lang)
    return ("+" if value > 0 else "\u2212" if value < 0 else "") + text


def card(html, dim_id):
    match = re.search(r'<article class="dimension-card"[^>]*data-dimension="'
                      + re.escape(dim_id) + r'".*?</article>', html, re.S)
    assert match, f"no card for {dim_id}"
    return match.group(0)


def section(html, section_id):
    match = re.search(r'<section[^>]*id="sec-' + section_id + r'".*?</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(0)


def text_of(fragment):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))


@pytest.mark.parametrize("lang", LANGS)
def test_every_figure_on_the_page_equals_the_report_json(data, client, make_user, lang):
    login_as(client, make_user, "leader", data["network"], lang=lang)
    round_id = data["spring"].id
    report = client.get(f"/rounds/{round_id}/report.json").get_json()
    response = client.get(f"/rounds/{round_id}/report")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'lang="{lang}"' in html
    summary = text_of(section(html, "summary"))
    assert fmt(report["overall"], lang) in summary
    assert re.search(r'class="big-figure stage-reached">\s*2<', html)
    for dim in report["dimensions"]:
        text = text_of(card(html, dim["id"]))
        assert dim["title"] in text
        assert fmt(dim["score"], lang) in text
        assert f"{dim['level']} " in text
        if dim["ci95"]:
            assert f"{fmt(dim['ci95'][0], lang)}–{fmt(dim['ci95'][1], lang)}" in text
        assert fmt(dim["benchmark"]["national_percentile"], lang) in text
        if dim["region_networks"] >= 3:
            assert fmt(dim["benchmark"]["region_percentile"], lang) in text
        assert signed(dim["trend"]["delta"], lang) in text
        assert dim["trend"]["previous_period"] == "2025-autumn"
        assert PERIOD_WORDS[lang][0] in text  # the previous period, in words
    profile = text_of(section(html, "profile"))
    for dim in report["dimensions"]:
        row = re.search(r'<tr data-dimension="' + dim["id"] + r'">.*?</tr>',
                        section(html, "profile"), re.S).group(0)
        cells = text_of(row)
        assert fmt(dim["score"], lang) in cells
        assert fmt(dim["benchmark"]["national_median"], lang) in cells
        assert fmt(dim["region_median"], lang) in cells
    assert "chart-profile-title" in profile or 'id="chart-profile"' in html


def test_page_shows_the_region_median_from_three_networks(data, client, make_user):
    login_as(client, make_user, "leader", data["network"])
    report = client.get(f"/rounds/{data['spring'].id}/report.json").get_json()
    stage1 = next(d for d in report["dimensions"] if d["id"] == "stage-1")
    # region R1: N1 83.33, N2 50, N3 75 -> median 75; nationally N4 100 joins: median 79.2
    assert (stage1["region_median"], stage1["region_networks"]) == (75.0, 3)
    assert stage1["benchmark"]["national_median"] == 79.2
    n4 = next(d for d in report["dimensions"] if d["id"] == "trust")
    assert n4["region_median"] is not None


def test_staircase_says_reached_next_and_not_yet_in_words(data, client, make_user):
    login_as(client, make_user, "leader", data["network"])
    html = client.get(f"/rounds/{data['spring'].id}/report").get_data(as_text=True)
    steps = re.findall(r'<li class="step step-(\w+)">(.*?)</li>', html, re.S)
    assert [status for status, _ in steps] == ["reached", "reached", "next", "not_yet"]
    words = [text_of(body).strip() for _, body in steps]
    assert words[0].startswith("✓ Reached") and words[2].startswith("→ Next step")
    assert words[3].startswith("○ Not yet")


def test_recommendations_discuss_and_agreement_are_listed(data, client, make_user):
    login_as(client, make_user, "leader", data["network"])
    html = client.get(f"/rounds/{data['spring'].id}/report").get_data(as_text=True)
    recs = text_of(section(html, "recommendations"))
    assert recs.index("Stage three") < recs.index("Stage four")
    assert "Follow up the goals" in recs and "Spread the results" in recs
    assert "C1" in recs and "C2" in recs  # focus item texts
    discuss = section(html, "discuss")
    assert "dampen tensions and interpret between actors" in discuss
    assert [m for m in re.findall(r'data-item="(\w+)"', discuss)] == ["t2", "c2", "t3", "b2", "d1"]
    assert "1.76" in text_of(discuss)
    agreement = text_of(section(html, "agreement"))
    assert "Other types" in agreement and "83.3" in agreement


def test_open_round_shows_its_response_rate_only(data, db, client, make_user):
    spring = db.get(Round, data["spring"].id)
    spring.state = "open"
    db.commit()
    login_as(client, make_user, "leader", data["network"])
    html = client.get(f"/rounds/{spring.id}/report").get_data(as_text=True)
    assert "still open" in html
    assert 'class="dimension-card"' not in html and "sec-summary" not in html
    assert "chart-svg" not in html


def test_suppressed_round_says_why_and_nothing_else(tiny, db, runner, tmp_path, client,
                                                    make_user):
    import_rows(runner, tmp_path, N1_SPRING[:2])
    network = db.scalar(select(Network).where(Network.name == "N1"))
    round_ = db.scalar(select(Round).where(Round.network_id == network.id))
    login_as(client, make_user, "leader", network)
    html = client.get(f"/rounds/{round_.id}/report").get_data(as_text=True)
    assert "Fewer than 3 responses were received" in html
    for absent in ("dimension-card", "sec-summary", "Download PDF", "Overall score"):
        assert absent not in html


def test_first_round_says_plainly_there_is_no_trend(tiny, db, runner, tmp_path, client,
                                                    make_user):
    import_rows(runner, tmp_path, N1_SPRING)
    network = db.scalar(select(Network).where(Network.name == "N1"))
    round_ = db.scalar(select(Round).where(Round.network_id == network.id))
    login_as(client, make_user, "leader", network)
    html = client.get(f"/rounds/{round_.id}/report").get_data(as_text=True)
    assert "first closed round, so there is no trend yet" in html
    assert "no earlier round" in html


def test_charts_are_accessible_inline_svg_that_the_csp_allows(data, client, make_user):
    login_as(client, make_user, "leader", data["network"], lang="sv")
    response = client.get(f"/rounds/{data['spring'].id}/report")
    html = response.get_data(as_text=True)
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    svg = re.search(r"<svg\b[^>]*>", html).group(0)
    assert 'role="img"' in svg
    assert 'aria-labelledby="chart-profile-title chart-profile-desc"' in svg
    assert '<title id="chart-profile-title">Scores by dimension, compared with others</title>' in (
        html) or 'id="chart-profile-title"' in html
    # inline styles would be blocked by the CSP: everything is a presentation attribute
    assert not re.search(r"\sstyle=", html) and "<style" not in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate ids on the page"
    assert "Steg ett" in html  # chart text is text, translated with the questionnaire


def test_region_percentile_is_withheld_below_three_networks(data, client, make_user, db):
    leader_n4 = db.scalar(select(Network).where(Network.name == "N4"))
    round_ = db.scalar(select(Round).where(Round.network_id == leader_n4.id))
    login_as(client, make_user, "leader", leader_n4)
    report = client.get(f"/rounds/{round_.id}/report.json").get_json()
    html = client.get(f"/rounds/{round_.id}/report").get_data(as_text=True)
    stage1 = next(d for d in report["dimensions"] if d["id"] == "stage-1")
    assert stage1["region_median"] is None and stage1["region_networks"] == 1
    region_cell = re.search(r'class="region-percentile">(.*?)</dd>', card(html, "stage-1"),
                            re.S).group(1)
    assert text_of(region_cell).strip() == "–"
    assert "A region percentile is shown only when at least 3 networks" in html


# -- who may read ------------------------------------------------------------------------------

ENDPOINTS = [
    "/rounds/{round}/report", "/rounds/{round}/report.json", "/rounds/{round}/report.pdf",
    "/rounds/{round}/report.csv", "/rounds/{round}/report.xlsx", "/rounds/{round}/targets",
    "/networks/{network}/trends",
]


def _urls(data):
    return [url.format(round=data["spring"].id, network=data["network"].id) for url in ENDPOINTS]


@pytest.mark.parametrize("who", ["other_leader", "other_coordinator", "analyst", "member"])
def test_readers_outside_the_scope_get_404_everywhere(data, db, client, make_user, make_region,
                                                      who):
    other = db.scalar(select(Network).where(Network.name == "N4"))
    if who == "other_leader":
        login_as(client, make_user, "leader", other)
    elif who == "other_coordinator":
        login_as(client, make_user, "coordinator", region=other.region)
    elif who == "analyst":
        login_as(client, make_user, "analyst")
    else:
        login_as(client, make_user, "member", data["network"])
    for url in _urls(data):
        assert client.get(url).status_code == 404, url


def test_anonymous_readers_are_sent_to_the_login(data, client):
    for url in _urls(data):
        response = client.get(url)
        assert response.status_code in (302, 404), url
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]


def test_unknown_round_and_network_are_404(data, client, make_user):
    login_as(client, make_user, "admin")
    assert client.get("/rounds/99999/report").status_code == 404
    assert client.get("/rounds/99999/report.pdf").status_code == 404
    assert client.get("/networks/99999/trends").status_code == 404


def test_the_region_coordinator_and_admins_read_but_do_not_set_targets(data, db, client,
                                                                       make_user):
    region = db.scalar(select(Region).where(Region.name == "R1"))
    login_as(client, make_user, "coordinator", region=region)
    url = f"/rounds/{data['spring'].id}/report"
    html = client.get(url).get_data(as_text=True)
    assert client.get(url).status_code == 200
    assert "Set targets" not in html
    assert client.get(f"/rounds/{data['spring'].id}/targets").status_code == 404
    assert client.get(f"/networks/{data['network'].id}/trends").status_code == 200


# -- open-text answers -------------------------------------------------------------------------


def _respondents(n, texts):
    rows = []
    for i in range(n):
        text = texts[i] if i < len(texts) else ""
        rows.append(f"R9,N9,2026-spring,secret-respondent-{i},Org {i % 4},2026-03-20T12:00:00,"
                    f"4,4,4,4,3,3,3,3,4,2,4,{text}")
    return rows


TEXTS = ["zebra crossing needed", "Better minutes", "=HYPERLINK(evil)", "another idea",
         "More meetings", "ÅÄÖ letters first?", "bravo", "", "charlie", "delta"]


@pytest.mark.parametrize(("respondents", "shown"), [(9, False), (10, True)])
def test_open_answers_only_from_ten_respondents_and_without_who(tiny, db, runner, tmp_path,
                                                                client, make_user,
                                                                respondents, shown):
    import_rows(runner, tmp_path, _respondents(respondents, TEXTS))
    network = db.scalar(select(Network).where(Network.name == "N9"))
    round_ = db.scalar(select(Round).where(Round.network_id == network.id))
    login_as(client, make_user, "leader", network)
    report = client.get(f"/rounds/{round_.id}/report.json").get_json()
    html = client.get(f"/rounds/{round_.id}/report").get_data(as_text=True)
    assert report["open_answers_shown"] is shown
    written = [t for t in TEXTS[:respondents] if t]
    if not shown:
        assert report["open_answers"] == {}
        assert "listed only when at least 10 members responded" in html
        for text in written:
            assert text not in html
        return
    expected = sorted(written, key=lambda t: (t.casefold(), t))
    assert report["open_answers"] == {"note": expected}
    listed = re.findall(r"<li>(.*?)</li>", re.search(
        r'<ul class="open-answers" data-item="note">(.*?)</ul>', html, re.S).group(1))
    assert listed == [t.replace('"', "&#34;").replace("'", "&#39;") for t in expected]
    assert "secret-respondent" not in html
    assert "secret-respondent" not in str(report)


# -- trends ------------------------------------------------------------------------------------


def test_trend_page_lists_every_closed_round_with_the_reports_figures(data, client, make_user):
    login_as(client, make_user, "leader", data["network"], lang="fi")
    response = client.get(f"/networks/{data['network'].id}/trends")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    table = re.search(r'<table class="trend-table">.*?</table>', html, re.S).group(0)
    # periods in words, oldest first; the questionnaire by its title, not its id
    assert table.index("syksy 2025") < table.index("kevät 2026")
    assert "2025-autumn" not in text_of(table)
    assert "Kyselylomake Pieni" in text_of(html)
    for round_ in (data["autumn"], data["spring"]):
        report = client.get(f"/rounds/{round_.id}/report.json").get_json()
        for dim in report["dimensions"]:
            row = re.search(r'<tr data-dimension="' + dim["id"] + r'">.*?</tr>', table,
                            re.S).group(0)
            assert fmt(dim["score"], "fi") in text_of(row)
        assert f'href="/rounds/{round_.id}/report"' in table
    assert 'aria-labelledby="chart-trend-title chart-trend-desc"' in html
    chart = re.search(r'<svg.*?</svg>', html[html.index("chart-trend-title") - 2000:],
                      re.S).group(0)
    assert "syksy 2025" in chart and "2025-autumn" not in chart  # the axis in words too
    assert "no trend" not in html


def test_trend_page_with_one_round_says_there_is_no_trend_yet(tiny, db, runner, tmp_path,
                                                               client, make_user):
    import_rows(runner, tmp_path, N1_SPRING)
    network = db.scalar(select(Network).where(Network.name == "N1"))
    login_as(client, make_user, "leader", network)
    html = client.get(f"/networks/{network.id}/trends").get_data(as_text=True)
    assert "only one closed round (spring 2026), so there is no trend yet" in html


def test_trend_page_without_closed_rounds_says_so(tiny, db, runner, tmp_path, client,
                                                  make_user):
    import_rows(runner, tmp_path, N1_SPRING)
    network = db.scalar(select(Network).where(Network.name == "N1"))
    for round_ in db.scalars(select(Round)):
        round_.state = "open"
    db.commit()
    login_as(client, make_user, "leader", network)
    html = client.get(f"/networks/{network.id}/trends").get_data(as_text=True)
    assert "no closed round yet, so there is no trend" in html


def test_trends_across_questionnaire_versions_keep_only_shared_dimensions(
        tiny, db, runner, tmp_path, client, make_user):
    import_rows(runner, tmp_path, N1_AUTUMN, "autumn.csv")  # version 1
    text = TINY.read_text(encoding="utf-8").replace("version: 1", "version: 2")
    head, _sep, _trust = text.partition("  - id: trust")
    v2 = head + (
        "  - id: cohesion\n    kind: theme\n"
        "    title: {en: Cohesion, sv: Sammanhållning, fi: Yhtenäisyys}\n"
        "    items:\n"
        "      - {id: e1, text: {en: E1, sv: E1, fi: E1}}\n"
        "      - {id: e2, text: {en: E2, sv: E2, fi: E2}}\n")
    path = tmp_path / "tiny.v2.yaml"
    path.write_text(v2, encoding="utf-8")
    load_into_db(db, load_questionnaire_file(path))
    db.commit()
    v2_header = HEADER.replace("t1,t2,t3,note", "e1,e2")
    spring = [",".join(r.split(",")[:14] + ["4", "4"]) for r in N1_SPRING]
    path = tmp_path / "spring.csv"
    path.write_text("\n".join([v2_header, *spring]) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny",
                                 "--version", "2"])
    assert result.exit_code == 0, result.output
    network = db.scalar(select(Network).where(Network.name == "N1"))
    login_as(client, make_user, "leader", network)
    html = client.get(f"/networks/{network.id}/trends").get_data(as_text=True)
    assert "The questionnaire changed between rounds (versions 1, 2)" in html
    assert "Not in every version: Cohesion." in html
    assert "no longer has them: trust." in html
    assert 'data-dimension="trust"' not in html
    cohesion = re.search(r'<tr data-dimension="cohesion">.*?</tr>', html, re.S).group(0)
    assert "not asked" in cohesion
    stage1 = text_of(re.search(r'<tr data-dimension="stage-1">.*?</tr>', html, re.S).group(0))
    assert "25.0" in stage1 and "83.3" in stage1  # autumn v1 and spring v2 side by side


def test_several_charts_on_one_page_share_no_id_and_keep_their_references():
    from assess.reports import charts

    series = [charts.Series("This network", [70, 50, None, 30], filled=True),
              charts.Series("National median", [60, 55, 45, 35])]
    radar = charts.radar_figure(["A", "B", "C", "D"], series, title="Radar")
    panels = [charts.TrendPanel("A", [50, None, 62], [40, None, 50], [60, None, 70])]
    trend = charts.trend_figure(["2025-autumn", "2026-spring", "2026-autumn"], panels,
                                title="Trend", score_label="Score", interval_label="95 % interval",
                                threshold=60, threshold_label="Threshold", stages=[1, None, 2],
                                stage_title="Stage")
    page = (charts.svg_markup(radar, "one", "Radar", "Radar described")
            + charts.svg_markup(trend, "two", "Trend", "Trend described"))
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    references = re.findall(r'url\(#([^)]+)\)', page) + re.findall(r'href="#([^"]+)"', page)
    assert references and set(references) <= set(ids)
    assert "<style" not in page and not re.search(r"\sstyle=", page)
    assert page.count('role="img"') == 2
    assert "<text" in page  # text stays text (svg.fonttype none)
    assert charts.png_data_uri(radar).startswith("data:image/png;base64,iVBOR")


# -- periods in words, an honest trend summary --------------------------------------------------

PERIOD_WORDS = {"en": ("autumn 2025", "spring 2026"), "sv": ("hösten 2025", "våren 2026"),
                "fi": ("syksy 2025", "kevät 2026")}


@pytest.mark.parametrize("lang", LANGS)
def test_report_names_periods_in_words_of_the_readers_language(data, client, make_user, lang):
    login_as(client, make_user, "leader", data["network"], lang=lang)
    text = text_of(client.get(f"/rounds/{data['spring'].id}/report").get_data(as_text=True))
    autumn, spring = PERIOD_WORDS[lang]
    assert spring in text and autumn in text
    assert "2026-spring" not in text and "2025-autumn" not in text


SUMMARY = {
    "en": "Compared with autumn 2025, {up} of {n} dimensions are higher and {down} lower.",
    "sv": "Jämfört med hösten 2025 är {up} av {n} dimensioner högre och {down} lägre.",
    "fi": "Kauteen syksy 2025 verrattuna pisteet ovat nousseet {up}/{n} ulottuvuudessa ja "
          "laskeneet {down} ulottuvuudessa.",
}
NONE_SIGNIFICANT = {
    "en": "None of the changes is statistically significant",
    "sv": "Ingen av förändringarna är statistiskt signifikant",
    "fi": "Mikään muutoksista ei ole tilastollisesti merkitsevä",
}


@pytest.mark.parametrize("lang", LANGS)
def test_summary_says_how_many_dimensions_rose_and_how_many_significantly(data, client,
                                                                          make_user, lang):
    login_as(client, make_user, "leader", data["network"], lang=lang)
    round_id = data["spring"].id
    report = client.get(f"/rounds/{round_id}/report.json").get_json()
    html = client.get(f"/rounds/{round_id}/report").get_data(as_text=True)
    summary = text_of(re.search(r'<li class="trend-summary">.*?</li>', html, re.S).group(0))
    trends = [d["trend"] for d in report["dimensions"]
              if d["score"] is not None and d["trend"] and d["trend"]["delta"] is not None]
    up = sum(t["delta"] > 0 for t in trends)
    down = sum(t["delta"] < 0 for t in trends)
    assert SUMMARY[lang].format(up=up, n=len(trends), down=down) in summary
    significant = [t for t in trends if t["significant"]]
    assert (NONE_SIGNIFICANT[lang] in summary) == (not significant)
    # rule 12: a rise that is not significant is not called an improvement
    assert "improved" not in summary and "förbättrats" not in summary


def test_summary_names_significant_rises_and_says_when_no_rise_is(data, client, make_user,
                                                                  monkeypatch):
    from assess.services import report_render

    real = report_render.at_a_glance

    def one_significant_decline(report):
        glance = real(report)
        changes = [d for d in report["dimensions"]
                   if d["score"] is not None and d["trend"] and d["trend"]["delta"] is not None]
        glance.update(improved=2, declined=1, changed=3, significant_up=[],
                      significant_down=[{**changes[0], "title": "Trust"}])
        return glance

    monkeypatch.setattr(report_render, "at_a_glance", one_significant_decline)
    login_as(client, make_user, "leader", data["network"], lang="en")
    html = client.get(f"/rounds/{data['spring'].id}/report").get_data(as_text=True)
    summary = text_of(re.search(r'<li class="trend-summary">.*?</li>', html, re.S).group(0))
    assert "2 of 3 dimensions are higher and 1 lower." in summary
    assert "No rise is statistically significant." in summary
    assert "Statistically significant declines (1 of 1): Trust." in summary
    assert "None of the changes" not in summary
