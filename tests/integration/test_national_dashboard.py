"""The national dashboard: every figure on the page and in the CSV, XLSX and PDF is the JSON's.

Generated data on the tiny questionnaire (k = 3, five dimensions, stages 1-4): five regions
of 8, 6, 4, 3 and 2 comparable networks with the themes "elderly care" and "youth work",
plus a round with too few responses and one still open (both in R1, both never shown),
and an earlier period for the trends.
"""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from assess.models import Network, Round
from assess.questionnaire import load_questionnaire_file
from assess.services.questionnaires import load_into_db
from assess.services.reports import national_report

TINY = Path(__file__).parents[1] / "data" / "tiny.v1.yaml"
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")
ELDERLY, YOUTH = "elderly care", "youth work"
SPRING, AUTUMN = "2026-spring", "2025-autumn"
DIMENSIONS = ["stage-1", "stage-2", "stage-3", "stage-4", "trust"]

#: network -> (region, theme, respondents in spring); levels vary by network.
NETWORKS = {
    **{f"N1{i}": ("R1", ELDERLY if i <= 4 else YOUTH, 5) for i in range(1, 9)},
    **{f"N2{i}": ("R2", ELDERLY if i <= 3 else YOUTH, 4) for i in range(1, 7)},
    **{f"N3{i}": ("R3", ELDERLY if i <= 3 else YOUTH, 4) for i in range(1, 5)},
    "N41": ("R4", ELDERLY, 3), "N42": ("R4", YOUTH, 3), "N43": ("R4", YOUTH, 4),
    "N51": ("R5", YOUTH, 3), "N52": ("R5", ELDERLY, 3),
    "N19": ("R1", ELDERLY, 2),  # fewer than k = 3 responses: suppressed
    "N10": ("R1", ELDERLY, 4),  # its round is reopened: not comparable
}
HIDDEN_NETWORKS = ("N19", "N10")


def network_rows(name: str, region: str, period: str, respondents: int, seed: int) -> list[str]:
    """Answers around a level of the network's own, in 1-3 organisations."""
    rng = np.random.default_rng(seed)
    level = 1.8 + 2.6 * rng.random()
    month = "2026-03" if period == SPRING else "2025-10"
    rows = []
    for i in range(respondents):
        values = np.clip(np.rint(level + rng.normal(0, 0.9, 11)), 1, 5).astype(int)
        organisation = f"{name} org {i % (1 + seed % 3)}"
        rows.append(f"{region},{name},{period},{name}-{period}-{i},{organisation},"
                    f"{month}-1{i % 9}T10:00:00," + ",".join(map(str, values)) + ",")
    return rows


@pytest.fixture(autouse=True)
def _password_logins_suffice(app):
    """These tests are about the figures, not second factors."""
    app.config["MFA_REQUIRED"] = False


@pytest.fixture
def national_data(db, runner, tmp_path):
    """Import the generated rounds, set the themes, reopen N10's round."""
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    rows = []
    for seed, (name, (region, _theme, respondents)) in enumerate(sorted(NETWORKS.items())):
        rows += network_rows(name, region, SPRING, respondents, seed)
        if region in ("R1", "R2", "R3") and name not in HIDDEN_NETWORKS:
            rows += network_rows(name, region, AUTUMN, 4, seed + 100)
    path = tmp_path / "national.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
    assert result.exit_code == 0, result.output
    for network in db.scalars(select(Network)):
        network.theme = NETWORKS[network.name][1]
    n10 = db.scalar(select(Network).where(Network.name == "N10"))
    for round_ in db.scalars(select(Round).where(Round.network_id == n10.id)):
        round_.state = "open"
    db.commit()
    return NETWORKS


def cli_json(runner, *extra) -> dict:
    result = runner.invoke(args=["national", "--period", SPRING, "--questionnaire", "tiny",
                                 "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def fmt(value) -> str:
    """A figure as the English page shows it."""
    return "–" if value is None else f"{value:.1f}"


class Tables(HTMLParser):
    """Rows of the tables with an id: {table id: {data-region: [cell texts]}}."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, dict[str, list[str]]] = {}
        self.table = self.row = self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self.table = self.tables.setdefault(attrs["id"], {})
        elif tag == "tr" and self.table is not None and "data-region" in attrs:
            self.row = self.table.setdefault(attrs["data-region"], [])
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr":
            self.row = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def page(client, **params) -> tuple[str, dict]:
    response = client.get("/national", query_string=params)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    parser = Tables()
    parser.feed(html)
    return html, parser.tables


def login(client, auth, make_user, role="analyst", **scope):
    make_user(f"{role}@example.org", role=role, **scope)
    auth.login(f"{role}@example.org")
    client.post("/language", data={"lang": "en"})


# -- the JSON is the national report, then more ----------------------------------------------


def test_json_table_is_national_report_unchanged(national_data, runner, db):
    data = cli_json(runner)
    expected = national_report(db, SPRING, "tiny")
    assert data["regions"] == expected["regions"]
    assert data["national"] == expected["national"]
    regions = {b["region"]: b for b in data["regions"]}
    assert regions["R5"]["dimensions"]["trust"] is None  # 2 networks
    assert data["national"]["networks"] == 23  # N19 suppressed, N10 open: not counted
    assert data["themes"] == [ELDERLY, YOUTH]


def test_hidden_rounds_add_nothing_anywhere(national_data, runner, db):
    """The suppressed (N19) and the open (N10) round count in no figure, chart included."""
    from assess.models import RoundDimensionResult

    data = cli_json(runner)
    assert data["national"]["networks"] == 23 and data["stages"]["national"]["networks"] == 23
    assert {b["region"]: b["networks"] for b in data["regions"]}["R1"] == 8
    for dim in DIMENSIONS:
        funnel = data["funnel"][dim]
        small = sum(b["dimensions"][dim] is None and b["networks"] for b in data["regions"])
        assert funnel["networks"] == data["national"]["dimensions"][dim]["networks"]
        assert funnel["drawn"] == funnel["networks"] - small
        assert sum(len(r["scores"]) for r in data["distribution"][dim]) == funnel["drawn"]
    # N10's round has results (it was closed when imported), yet nothing of it is shown
    n10 = db.scalar(select(Round).join(Network).where(Network.name == "N10"))
    secret = db.scalar(select(RoundDimensionResult.score).where(
        RoundDimensionResult.round_id == n10.id, RoundDimensionResult.dimension_id == "trust"))
    assert secret is not None
    r1 = next(r for r in data["distribution"]["trust"] if r["region"] == "R1")
    assert len(r1["scores"]) == 8


@pytest.mark.parametrize("theme", [None, ELDERLY])
def test_every_figure_on_the_dashboard_is_the_json(national_data, runner, client, auth,
                                                   make_user, theme):
    login(client, auth, make_user)
    data = cli_json(runner, *(["--theme", theme] if theme else []))
    for dim in DIMENSIONS:
        html, tables = page(client, period=SPRING, questionnaire="tiny", dimension=dim,
                            **({"theme": theme} if theme else {}))
        blocks = [*data["regions"], {"region": "", **data["national"]}]
        for block in blocks:
            if theme and block["region"] and not block["networks"]:
                assert block["region"] not in tables["region-table"]
                continue
            row = tables["region-table"][block["region"]]
            cell = block["dimensions"][dim]
            text = row[2 + DIMENSIONS.index(dim)]
            if cell:
                assert text == f"{fmt(cell['median'])} ({fmt(cell['p25'])}–{fmt(cell['p75'])})"
                detail = tables["dimension-table"][block["region"]][1:]
                assert detail == [str(cell["networks"]), *(fmt(cell[k]) for k in
                                                           ("mean", "median", "p25", "p75"))]
            else:
                assert "fewer than 3 networks" in text or "would reveal" in text
                assert tables["dimension-table"][block["region"]][1] in (
                    "fewer than 3 networks", "hidden: would reveal fewer than 3 networks")
            assert row[1] == str(block["networks"])
        funnel = data["funnel"][dim]
        if funnel:
            assert f'<dd class="funnel-mean">{fmt(funnel["mean"])}</dd>' in html
            assert f'<dd class="funnel-sd">{fmt(funnel["sd"])}</dd>' in html
            assert f'{funnel["drawn"]} / {funnel["networks"]}' in html
            for band, count in funnel["counts"].items():
                if band != "inside":
                    assert f'<dd class="funnel-{band}">{count}</dd>' in html
        else:
            assert 'id="funnel-figures"' not in html
        trend = data["trends"][dim]
        assert tables["trend-table"][""][1:] == [fmt(v) for v in trend["national"]]
        for line in trend["regions"]:
            assert tables["trend-table"][line["region"]][1:] == [fmt(v) for v in line["medians"]]
    for row in [*data["stages"]["regions"], {"region": "", **data["stages"]["national"]}]:
        cells = tables["stage-table"][row["region"]]
        assert cells[1] == str(row["networks"])
        if row["counts"]:
            assert cells[2:] == [str(c) for c in row["counts"]]
        else:
            assert "networks" in cells[2]


def test_trend_of_this_period_is_the_table(national_data, runner):
    data = cli_json(runner)
    for dim in DIMENSIONS:
        trend = data["trends"][dim]
        assert trend["periods"] == [AUTUMN, SPRING]
        assert trend["national"][-1] == data["national"]["dimensions"][dim]["median"]
        for line in trend["regions"]:
            block = next(b for b in data["regions"] if b["region"] == line["region"])
            cell = block["dimensions"][dim]
            assert line["medians"][-1] == (cell["median"] if cell else None)


def test_funnel_limits_are_mean_plus_minus_z_sd_over_root_n(national_data, runner, db):
    from assess.services.national import Z95, Z998, pooled_sd, score_frame

    data = cli_json(runner)
    funnel = data["funnel"]["trust"]
    period = db.scalar(select(Round).join(Network).where(Network.name == "N11")).period_id
    frame = score_frame(db, [period], db.scalar(select(Round.questionnaire_id).limit(1)))
    trust = frame[frame["dimension_id"] == "trust"]
    mean, sd = trust["score"].mean(), pooled_sd(trust["organizations"], trust["sd"])
    assert (funnel["mean"], funnel["sd"]) == (round(mean, 1), round(sd, 1))
    for row in funnel["limits"]:
        n = row["organizations"]
        assert row["upper95"] == pytest.approx(min(100, mean + Z95 * sd / n ** 0.5), abs=0.051)
        assert row["lower998"] == pytest.approx(max(0, mean - Z998 * sd / n ** 0.5), abs=0.051)
    # no names, and listed by value, not by region
    assert all(set(p) == {"organizations", "score", "band"} for p in funnel["points"])
    assert funnel["points"] == sorted(funnel["points"],
                                      key=lambda p: (p["organizations"], p["score"]))


# -- the exports -------------------------------------------------------------------------------


@pytest.mark.parametrize("theme", [None, ELDERLY])
def test_csv_and_xlsx_hold_the_json_figures(national_data, runner, client, auth, make_user,
                                           theme, tmp_path):
    login(client, auth, make_user)
    extra = ["--theme", theme] if theme else []
    data = cli_json(runner, *extra)
    expected = []
    for block in [*data["regions"], {"region": "national", **data["national"]}]:
        for dim in DIMENSIONS:
            cell = block["dimensions"][dim]
            expected.append((block["region"], dim, cell))

    query = {"period": SPRING, "questionnaire": "tiny", **({"theme": theme} if theme else {})}
    csv_text = client.get("/national.csv", query_string=query).get_data(as_text=True)
    cli_csv = runner.invoke(args=["national", "--period", SPRING, "--questionnaire", "tiny",
                                  "--format", "csv", *extra]).stdout
    assert csv_text.strip() == cli_csv.strip()
    table = pd.read_csv(io.StringIO(csv_text), keep_default_na=False, dtype=str)
    assert len(table) == len(expected)
    for (region, dim, cell), row in zip(expected, table.itertuples(), strict=True):
        assert (row.region, row.dimension) == (region, dim)
        if theme:
            assert row.theme == theme
        if cell:
            assert row.suppressed == "no"
            assert [row.networks, row.mean, row.median, row.p25, row.p75] == [
                str(cell[k]) for k in ("networks", "mean", "median", "p25", "p75")]
        else:
            assert row.suppressed == "yes"
            assert [row.networks, row.mean, row.median, row.p25, row.p75] == [""] * 5

    body = client.get("/national.xlsx", query_string=query).data
    sheets = pd.read_excel(io.BytesIO(body), sheet_name=None)
    regions = sheets["Regions"]
    assert len(regions) == len(expected)
    for (region, dim, cell), row in zip(expected, regions.itertuples(), strict=True):
        assert (row.region, row.dimension) == (region, dim)
        if cell:
            assert [row.networks, row.mean, row.median, row.p25, row.p75] == [
                cell["networks"], cell["mean"], cell["median"], cell["p25"], cell["p75"]]
        else:
            assert row.suppressed == "yes"
            assert all(pd.isna(v) for v in [row.networks, row.mean, row.median, row.p25,
                                             row.p75])
    stages = sheets["Stages"].set_index("region")
    for block in [*data["stages"]["regions"], {"region": "national",
                                               **data["stages"]["national"]}]:
        row = stages.loc[block["region"]]
        if block["counts"]:
            assert [int(row[f"stage_{s}"]) for s in range(5)] == block["counts"]
        else:
            assert row["suppressed"] == "yes" and pd.isna(row["stage_0"])
    trends = sheets["Trends"]
    for dim, trend in data["trends"].items():
        rows = trends[(trends["dimension"] == dim) & (trends["region"] == "national")]
        assert [None if pd.isna(v) else v for v in rows["median"]] == trend["national"]
    points = sheets["Funnel points"]
    for dim, funnel in data["funnel"].items():
        mine = points[points["dimension"] == dim]
        expected_points = funnel["points"] if funnel else []
        assert list(zip(mine["organizations"], mine["score"], strict=True)) == [
            (p["organizations"], p["score"]) for p in expected_points]
    # the CLI writes the same workbook
    out = tmp_path / "national.xlsx"
    result = runner.invoke(args=["national", "--period", SPRING, "--questionnaire", "tiny",
                                 "--format", "xlsx", *extra, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert pd.read_excel(out, sheet_name="Regions").equals(regions)


def test_pdf_report_has_cover_page_numbers_and_the_json_figures(national_data, runner, db,
                                                                client, auth, make_user,
                                                                tmp_path):
    from pypdf import PdfReader

    from assess.services.national import count_rendered

    data = cli_json(runner)
    out = tmp_path / "national.pdf"
    result = runner.invoke(args=["national", "--period", SPRING, "--questionnaire", "tiny",
                                 "--format", "pdf", "--lang", "en", "-o", str(out)])
    assert result.exit_code == 0, result.output
    reader = PdfReader(out)
    pages = [p.extract_text() for p in reader.pages]
    assert "national comparison" in pages[0].lower() and "Contents" in pages[0]
    assert f"Page 2 of {len(pages)}" in pages[1]
    text = " ".join(" ".join(p.split()) for p in pages)
    for dim in DIMENSIONS:
        for block in [*data["regions"], {"region": "Whole country", **data["national"]}]:
            cell = block["dimensions"][dim]
            if cell:
                row = " ".join([block["region"], str(cell["networks"]),
                                *(fmt(cell[k]) for k in ("mean", "median", "p25", "p75"))])
                assert row in text, (dim, row)
    assert "fewer than 3 networks" in text

    # rendered once: the page's download of the same figures comes from the cache
    assert count_rendered(db) == 1
    login(client, auth, make_user)
    response = client.get("/national.pdf", query_string={"period": SPRING,
                                                         "questionnaire": "tiny"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == out.read_bytes()
    assert count_rendered(db) == 1


def test_suppressed_cells_stay_suppressed_in_every_output(national_data, runner, client, auth,
                                                          make_user, db):
    """R5 (2 networks) and R3's elderly-care cell (its complement is one network) are hidden;
    their true figures appear in no output, filters included."""
    from assess import scoring
    from assess.services.national import score_frame

    login(client, auth, make_user)
    period_id = db.scalar(select(Round.period_id).join(Network).where(Network.name == "N11"))
    frame = score_frame(db, [period_id], db.scalar(select(Round.questionnaire_id).limit(1)))
    secrets = []
    for region, theme in (("R5", None), ("R3", ELDERLY), ("R4", ELDERLY)):
        part = frame[(frame["region"] == region)
                     & ((frame["theme"] == theme) if theme else True)]
        for dim, scores in part.groupby("dimension_id")["score"]:
            for value in (scores.mean(), scores.median()):
                secrets.append((region, theme, dim, scoring.round1(value)))
    assert secrets
    for theme in (None, ELDERLY):
        extra = ["--theme", theme] if theme else []
        query = {"period": SPRING, "questionnaire": "tiny", **({"theme": theme} if theme else {})}
        data = cli_json(runner, *extra)
        blocks = {b["region"]: b for b in data["regions"]}
        csv_rows = pd.read_csv(io.StringIO(client.get("/national.csv",
                                                      query_string=query).get_data(as_text=True)),
                               keep_default_na=False, dtype=str)
        xlsx = pd.read_excel(io.BytesIO(client.get("/national.xlsx", query_string=query).data),
                             sheet_name="Regions")
        for region, secret_theme, dim, _value in secrets:
            if secret_theme != theme and not (theme and secret_theme is None):
                continue
            assert blocks[region]["dimensions"][dim] is None
            assert region not in {r["region"] for r in data["distribution"].get(dim, [])}
            csv_row = csv_rows[(csv_rows["region"] == region) & (csv_rows["dimension"] == dim)]
            assert csv_row["suppressed"].tolist() == ["yes"]
            assert csv_row[["mean", "median"]].values.tolist() == [["", ""]]
            xlsx_row = xlsx[(xlsx["region"] == region) & (xlsx["dimension"] == dim)]
            assert xlsx_row["suppressed"].tolist() == ["yes"]
            assert xlsx_row[["mean", "median"]].isna().all().all()
            _html, tables = page(client, **query, dimension=dim)
            if region in tables["dimension-table"]:
                assert "networks" in tables["dimension-table"][region][1]
    # R3's elderly-care networks (3) are hidden because of their complement of one
    data = cli_json(runner, "--theme", ELDERLY)
    assert {"R3"} <= set(data["protected"]["regions"])


def test_unknown_theme_is_an_error_in_the_cli(national_data, runner):
    result = runner.invoke(args=["national", "--period", SPRING, "--questionnaire", "tiny",
                                 "--theme", "gardening"])
    assert result.exit_code != 0
    assert "themes: elderly care, youth work" in result.output


# -- instrument quality ------------------------------------------------------------------------


def test_instrument_cli_and_page_agree_with_alpha_from_the_answers(national_data, runner, client,
                                                                   auth, make_user, db):
    from assess.models import Answer, Period, Response
    from assess.scoring.instrument import cronbach_alpha

    result = runner.invoke(args=["instrument", "--period", SPRING, "--questionnaire", "tiny"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["responses"] == sum(n for _r, _t, n in NETWORKS.values())
    # alpha of stage-1 recomputed here, from the stored answers, listwise
    rows = db.execute(
        select(Response.id, Answer.item_id, Answer.value)
        .join(Answer, Answer.response_id == Response.id)
        .join(Round, Response.round_id == Round.id).join(Period, Round.period_id == Period.id)
        .where(Period.label == SPRING, Answer.item_id.in_(["a1", "a2"]),
               Answer.value.is_not(None))
    ).all()
    wide = pd.DataFrame(rows, columns=["r", "item", "v"]).pivot(index="r", columns="item",
                                                                 values="v").astype(float)
    stage1 = next(d for d in report["dimensions"] if d["id"] == "stage-1")
    assert stage1["alpha"] == round(cronbach_alpha(wide) + 1e-12, 2)
    assert stage1["respondents"] == len(wide.dropna())
    item = next(i for i in stage1["items"] if i["id"] == "a1")
    assert sum(item["distribution"].values()) == item["answered"]
    assert item["answered"] + item["dont_know"] + item["no_answer"] == report["responses"]

    csv_text = runner.invoke(args=["instrument", "--period", SPRING, "--questionnaire", "tiny",
                                   "--format", "csv"]).stdout
    table = pd.read_csv(io.StringIO(csv_text))
    assert set(table["item"]) == {"a1", "a2", "b1", "b2", "c1", "c2", "d1", "d2", "t1", "t2",
                                  "t3"}
    assert table.loc[table["item"] == "a1", "alpha"].item() == stage1["alpha"]

    login(client, auth, make_user)
    html = client.get("/national/instrument",
                      query_string={"period": SPRING, "questionnaire": "tiny"}).get_data(
        as_text=True)
    assert f"{stage1['alpha']:.2f}" in html
    assert re.search(r"Cronbach", html)


# -- who may look --------------------------------------------------------------------------------

NATIONAL_URLS = ["/national", "/national.csv", "/national.xlsx", "/national.pdf",
                 "/national/instrument", "/national/instrument.csv"]


@pytest.mark.parametrize("role", ["member", "leader", "coordinator"])
def test_national_pages_are_404_below_the_national_level(national_data, client, auth, make_user,
                                                         db, role):
    network = db.scalar(select(Network).where(Network.name == "N11"))
    scope = {"region": network.region} if role == "coordinator" else {"network": network}
    login(client, auth, make_user, role, **scope)
    for url in NATIONAL_URLS:
        assert client.get(url, query_string={"period": SPRING, "questionnaire": "tiny"}
                          ).status_code == 404, url


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_national_pages_open_for_analysts_and_admins(national_data, client, auth, make_user,
                                                    role):
    login(client, auth, make_user, role)
    for url in ["/national", "/national.csv", "/national/instrument"]:
        assert client.get(url, query_string={"period": SPRING, "questionnaire": "tiny"}
                          ).status_code == 200, url


def test_anonymous_visitors_are_sent_to_the_login(national_data, client):
    response = client.get("/national")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


def test_funnel_limits_match_the_methodology_example():
    """docs/methodology.md, "Funnel plot": mean 60, sd 12, n = 4."""
    from assess.services.national import funnel_limits

    assert funnel_limits(60.0, 12.0, [4]) == [{
        "organizations": 4, "lower95": 48.2, "upper95": 71.8, "lower998": 41.5,
        "upper998": 78.5}]
    # clipped to the scale
    assert funnel_limits(95.0, 20.0, [1])[0]["upper998"] == 100.0


# -- the reader's language: periods, themes and questionnaires in words ----------------------------

def test_finnish_national_page_shows_periods_themes_and_questionnaire_in_words(
        national_data, client, auth, make_user):
    login(client, auth, make_user)
    client.post("/language", data={"lang": "fi"})
    html, _tables = page(client, period=SPRING, questionnaire="tiny")
    # the filter's values stay identifiers; what people read is in Finnish
    assert re.search(r'<option value="2026-spring"[^>]*>kevät 2026</option>', html)
    assert re.search(r'<option value="tiny"[^>]*>Pieni</option>', html)
    assert re.search(r'<option value="elderly care"[^>]*>ikääntyneiden palvelut</option>', html)
    assert re.search(r'<option value="youth work"[^>]*>youth work</option>', html)  # not known
    assert "kauden kevät 2026 suljetut kierrokset (Pieni, versio 1)" in html
    assert re.search(r'<th scope="col" class="num">syksy 2025</th>', html)
    # the methodology's section is named in Finnish and by its heading there
    assert "Ks. menetelmäkuvauksen kohta ”Suppilokuvio” (Funnel plot)." in html
    with open(Path(__file__).parents[2] / "docs" / "methodology.md", encoding="utf-8") as doc:
        assert "\n## Funnel plot\n" in doc.read()
    # downloads keep the identifiers
    csv_text = client.get("/national.csv", query_string={"period": SPRING,
                                                         "questionnaire": "tiny"}).get_data(
        as_text=True)
    assert SPRING in csv_text and "kevät" not in csv_text


def test_swedish_instrument_page_uses_decimal_commas_and_keeps_dont_know_on_one_line(
        national_data, runner, client, auth, make_user):
    report = json.loads(runner.invoke(args=["instrument", "--period", SPRING,
                                            "--questionnaire", "tiny"]).stdout)
    stage1 = next(d for d in report["dimensions"] if d["id"] == "stage-1")
    login(client, auth, make_user)
    client.post("/language", data={"lang": "sv"})
    html = client.get("/national/instrument",
                      query_string={"period": SPRING, "questionnaire": "tiny"}).get_data(
        as_text=True)
    alpha = re.search(r'<strong class="alpha-value">([^<]*)</strong>', html).group(1)
    assert alpha == f"{stage1['alpha']:.2f}".replace(".", ",").replace("-", "\u2212")
    row = re.search(r'<tr data-item="a1">.*?</tr>', html, re.S).group(0)
    item = next(i for i in stage1["items"] if i["id"] == "a1")
    assert f"{item['item_total']:.2f}".replace(".", ",").replace("-", "\u2212") in row
    assert not re.search(r"\d\.\d", re.sub(r"<[^>]+>", " ", row).replace(item["id"], ""))
    assert re.search(r'<td class="num nowrap dont-know">\d+ <span class="muted">\(\d+,\d\xa0%\)',
                     row)
    assert re.search(r'<option value="2026-spring"[^>]*>våren 2026</option>', html)
    assert re.search(r'<option value="tiny"[^>]*>Liten</option>', html)
    assert "under våren 2026" in html
