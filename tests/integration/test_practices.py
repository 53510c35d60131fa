"""Good practices: leaders write and publish them; suggestions come from the top quartile."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from assess.models import Network, Practice, Round
from assess.questionnaire import load_questionnaire_file
from assess.services.practices import suggest_practices
from assess.services.questionnaires import load_into_db

TINY = Path(__file__).parents[1] / "data" / "tiny.v1.yaml"
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")
PERIOD = "2026-spring"
BODY = "We meet on the first Tuesday of every month.\nDecisions are prepared in writing."


@pytest.fixture(autouse=True)
def _password_logins_suffice(app):
    app.config["MFA_REQUIRED"] = False


def log_in(client, auth, email):
    auth.login(email)
    client.post("/language", data={"lang": "en"})


def write(client, network_id, title="Our monthly rhythm", publish=True, body=BODY):
    action = {"publish": "Publish"} if publish else {"save": "Save as draft"}
    return client.post("/practices/new", data={"network_id": network_id, "title": title,
                                               "body": body, "language": "en", **action})


def test_a_draft_is_for_the_networks_leaders_and_publishing_shows_it_to_everyone(
        client, auth, make_user, make_network, db):
    network = make_network("Elderly care network North")
    other = make_network("Somewhere else")
    make_user("leader@example.org", role="leader", network=network)
    make_user("co-leader@example.org", role="leader", network=network)
    make_user("stranger@example.org", role="leader", network=other)
    make_user("member@example.org", role="member", network=network)

    log_in(client, auth, "leader@example.org")
    response = write(client, network.id, "Draft of our rhythm", publish=False)
    assert response.status_code == 302
    url = response.headers["Location"]
    assert "Draft of our rhythm" in client.get("/practices").get_data(as_text=True)
    auth.logout()

    log_in(client, auth, "co-leader@example.org")
    assert client.get(url).status_code == 200
    auth.logout()
    for email in ("stranger@example.org", "member@example.org"):
        log_in(client, auth, email)
        assert client.get(url).status_code == 404
        assert "Draft of our rhythm" not in client.get("/practices").get_data(as_text=True)
        auth.logout()

    log_in(client, auth, "leader@example.org")
    practice_id = int(url.rsplit("/", 1)[1])
    response = client.post(f"/practices/{practice_id}/edit", data={
        "network_id": network.id, "title": "Our monthly rhythm", "body": BODY,
        "language": "en", "publish": "Publish"})
    assert response.status_code == 302
    auth.logout()
    log_in(client, auth, "member@example.org")
    page = client.get("/practices").get_data(as_text=True)
    assert "Our monthly rhythm" in page and "Elderly care network North" in page
    shown = client.get(url).get_data(as_text=True)
    assert "We meet on the first Tuesday of every month." in shown
    db.rollback()
    assert db.get(Practice, practice_id).published_at is not None


def test_only_the_networks_leaders_edit_or_delete(client, auth, make_user, make_network, db):
    network, other = make_network(), make_network()
    make_user("leader@example.org", role="leader", network=network)
    make_user("stranger@example.org", role="leader", network=other)
    make_user("coordinator@example.org", role="coordinator", region=network.region)
    log_in(client, auth, "leader@example.org")
    url = write(client, network.id).headers["Location"]
    practice_id = int(url.rsplit("/", 1)[1])
    auth.logout()
    log_in(client, auth, "stranger@example.org")
    assert client.get(f"/practices/{practice_id}/edit").status_code == 404
    assert client.post(f"/practices/{practice_id}/delete").status_code == 404
    # nor may a leader write for a network they do not lead
    assert write(client, network.id).status_code == 200  # the form refuses the choice
    assert db.scalar(select(Practice).where(Practice.author_user_id.is_not(None)).order_by(
        Practice.id.desc())).id == practice_id
    auth.logout()
    log_in(client, auth, "coordinator@example.org")
    assert client.get("/practices/new").status_code == 404
    auth.logout()
    log_in(client, auth, "leader@example.org")
    assert client.post(f"/practices/{practice_id}/delete").status_code == 302
    db.rollback()  # end this session's snapshot: the app deleted in its own transaction
    assert db.get(Practice, practice_id) is None


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get("/practices")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


def test_leaders_choose_whether_their_network_is_named_nationally(client, auth, make_user,
                                                                  make_network, db):
    network = make_network("Quiet network")
    make_user("leader@example.org", role="leader", network=network)
    make_user("member@example.org", role="member", network=network)
    log_in(client, auth, "leader@example.org")
    assert client.get("/practices/settings").status_code == 200
    assert client.post("/practices/settings", data={"network_id": network.id}).status_code == 302
    db.rollback()
    db.refresh(network)
    assert network.is_named_nationally is False
    write(client, network.id, "Unnamed practice")
    auth.logout()
    log_in(client, auth, "member@example.org")
    page = client.get("/practices").get_data(as_text=True)
    assert "Unnamed practice" in page and "Quiet network" not in page
    assert client.get("/practices/settings").status_code == 404
    auth.logout()
    log_in(client, auth, "leader@example.org")
    client.post("/practices/settings", data={"network_id": network.id,
                                             "is_named_nationally": "y"})
    db.rollback()
    db.refresh(network)
    assert network.is_named_nationally is True


# -- suggestions -------------------------------------------------------------------------------


def uniform_rows(network: str, region: str, value: int) -> list[str]:
    cells = ",".join([str(value)] * 11)
    return [f"{region},{network},{PERIOD},{network}-{i},{network} org {i},2026-03-20T12:00:00,"
            f"{cells}," for i in range(3)]


@pytest.fixture
def twelve_networks(db, runner, tmp_path):
    """Stage scores 25 * (v - 1) for v = 1 1 2 2 3 3 4 4 5 5 5 5: p75 is 100, so the top
    quartile of stage-1 is the four networks answering 5 (T1-T4)."""
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    values = {"L1": 1, "L2": 1, "L3": 2, "L4": 2, "M1": 3, "M2": 3, "M3": 4, "M4": 4,
              "T1": 5, "T2": 5, "T3": 5, "T4": 5}
    lines = [r for name, v in values.items() for r in uniform_rows(name, "R" + name[1], v)]
    path = tmp_path / "twelve.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    assert runner.invoke(args=["import-responses", str(path), "--questionnaire",
                               "tiny"]).exit_code == 0
    return {n.name: n for n in db.scalars(select(Network))}


def publish(db, network, title, published=True, minute=0):
    from datetime import datetime

    db.add(Practice(network_id=network.id, title=title, body=BODY, language="en",
                    is_published=published,
                    published_at=datetime(2026, 4, 1, 12, minute) if published else None))
    db.commit()


def round_of(db, network) -> Round:
    return db.scalar(select(Round).where(Round.network_id == network.id))


def test_suggestions_come_from_the_top_quartile_and_never_from_the_network_itself(
        twelve_networks, db):
    nets = twelve_networks
    for minute, name in enumerate(["T1", "T2", "T3", "T4"]):
        publish(db, nets[name], f"Practice of {name}", minute=minute)
    publish(db, nets["T1"], "Older practice of T1", minute=0)  # one per network
    publish(db, nets["M3"], "Practice of M3")  # 75: below the top quartile
    publish(db, nets["T4"], "Draft of T4", published=False)
    nets["T3"].is_named_nationally = False
    db.commit()

    weak = suggest_practices(db, round_of(db, nets["L1"]), ["stage-1", "trust"])
    assert set(weak) == {"stage-1", "trust"}
    titles = [p["title"] for p in weak["stage-1"]]
    # three at most, the most recently published first, one per network
    assert titles == ["Practice of T4", "Practice of T3", "Practice of T2"]
    by_title = {p["title"]: p for p in weak["stage-1"]}
    assert by_title["Practice of T3"]["network"] is None  # its leader keeps the name out
    assert by_title["Practice of T2"]["network"] == "T2"

    own = suggest_practices(db, round_of(db, nets["T4"]), ["stage-1"])
    assert "Practice of T4" not in [p["title"] for p in own["stage-1"]]
    assert len(own["stage-1"]) == 3


def test_no_suggestions_without_a_top_quartile(db, runner, tmp_path):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    lines = uniform_rows("A", "R1", 5) + uniform_rows("B", "R1", 2)
    path = tmp_path / "two.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    assert runner.invoke(args=["import-responses", str(path), "--questionnaire",
                               "tiny"]).exit_code == 0
    a, b = (db.scalar(select(Network).where(Network.name == n)) for n in ("A", "B"))
    publish(db, a, "Only two networks")
    assert suggest_practices(db, round_of(db, b), ["stage-1"]) == {"stage-1": []}


def test_the_report_page_suggests_published_top_quartile_practices_under_each_recommendation(
        twelve_networks, db, client, auth, make_user):
    nets = twelve_networks
    publish(db, nets["T1"], "Practice of T1", minute=0)
    publish(db, nets["T2"], "Practice of T2", minute=1)
    publish(db, nets["T3"], "Practice of T3", minute=2)
    publish(db, nets["M3"], "Practice of M3", minute=3)  # 75: below the top quartile
    publish(db, nets["T4"], "Draft of T4", published=False)
    nets["T3"].is_named_nationally = False
    db.commit()
    practices = {p.title: p.id for p in db.scalars(select(Practice))}
    make_user("leader-l1@example.org", role="leader", network=nets["L1"])

    log_in(client, auth, "leader-l1@example.org")
    html = client.get(f"/rounds/{round_of(db, nets['L1']).id}/report").get_data(as_text=True)
    start = html.index('id="sec-recommendations"')
    section = html[start:html.index('id="sec-discuss"', start)]
    # L1 scores 0 everywhere: every dimension has a recommendation, each with suggestions.
    assert section.count('class="suggested-practices"') == 5
    for title in ("Practice of T1", "Practice of T2", "Practice of T3"):
        assert section.count(f'href="/practices/{practices[title]}"') == 5, title
    assert "Practice of M3" not in html and "Draft of T4" not in html
    assert "(T2)" in section and "(T1)" in section
    assert "(T3)" not in section  # its leader keeps the network's name out


def test_a_network_in_the_top_quartile_everywhere_gets_no_suggestions(
        twelve_networks, db, client, auth, make_user):
    nets = twelve_networks
    publish(db, nets["T1"], "Practice of T1")
    make_user("leader-t2@example.org", role="leader", network=nets["T2"])
    log_in(client, auth, "leader-t2@example.org")
    html = client.get(f"/rounds/{round_of(db, nets['T2']).id}/report").get_data(as_text=True)
    assert "suggested-practices" not in html and "Practice of T1" not in html


def test_the_practice_forms_buttons_are_buttons_the_apps_styles_apply_to(
        client, auth, make_user, make_network):
    network = make_network()
    make_user("leader@example.org", role="leader", network=network)
    log_in(client, auth, "leader@example.org")
    page = client.get("/practices/new").get_data(as_text=True)
    # static/assess.css styles `button, .button`; a bare <input type="submit"> stays tiny.
    assert re.search(r'<button type="submit" name="save" value="Save as draft" '
                     r'class="button-secondary">Save as draft</button>', page)
    assert re.search(r'<button type="submit" name="publish" value="Publish">Publish</button>',
                     page)
    assert not re.search(r"<input[^>]*type=\"submit\"", page)


@pytest.mark.parametrize(("lang", "code"), [("fi", "fi"), ("sv", "sv"), ("en", "en")])
def test_a_new_practices_text_language_defaults_to_the_readers_interface_language(
        client, auth, make_user, make_network, lang, code):
    network = make_network()
    make_user("leader@example.org", role="leader", network=network)
    log_in(client, auth, "leader@example.org")
    client.post("/language", data={"lang": lang})
    page = client.get("/practices/new").get_data(as_text=True)
    select_html = page[page.index('<select id="language"'):]
    select_html = select_html[: select_html.index("</select>")]
    assert re.findall(r'<option selected value="(\w+)"', select_html) == [code]


def test_editing_a_practice_keeps_the_language_it_was_written_in(
        client, auth, make_user, make_network):
    network = make_network()
    make_user("leader@example.org", role="leader", network=network)
    log_in(client, auth, "leader@example.org")
    url = write(client, network.id).headers["Location"]  # written in English
    client.post("/language", data={"lang": "fi"})
    page = client.get(f"{url}/edit").get_data(as_text=True)
    select_html = page[page.index('<select id="language"'):]
    assert re.findall(r'<option selected value="(\w+)"',
                      select_html[: select_html.index("</select>")]) == ["en"]


def test_a_practices_paragraphs_and_line_breaks_show_on_the_card_and_page_escaped(
        client, auth, make_user, make_network):
    network = make_network()
    make_user("leader@example.org", role="leader", network=network)
    log_in(client, auth, "leader@example.org")
    body = ("We meet monthly.\r\nDecisions are prepared in writing.\r\n\r\n\r\n"
            "Every <b>organisation</b> & its board decide.")
    url = write(client, network.id, body=body).headers["Location"]
    expected = ("<p>We meet monthly.<br>Decisions are prepared in writing.</p>"
                "<p>Every &lt;b&gt;organisation&lt;/b&gt; &amp; its board decide.</p>")
    shown = client.get(url).get_data(as_text=True)
    assert f'<div class="practice-body">{expected}</div>' in shown
    listed = client.get("/practices").get_data(as_text=True)
    assert f'<div class="practice-excerpt">{expected}</div>' in listed
    assert "<b>organisation</b>" not in shown + listed


def test_the_write_button_and_the_settings_link_wrap_apart_on_a_narrow_screen(
        app, client, auth, make_user, make_network):
    network = make_network()
    make_user("leader@example.org", role="leader", network=network)
    log_in(client, auth, "leader@example.org")
    page = client.get("/practices").get_data(as_text=True)
    match = re.search(r'<(\w+) class="([^"]*)">\s*<a class="button" href="/practices/new">'
                      r'.*?href="/practices/settings".*?</\1>', page, re.S)
    assert match, "the button and the link share one container"
    css = (Path(app.static_folder) / "assess.css").read_text(encoding="utf-8")
    rules = [body for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)
             if any(re.search(rf"(^|[\s,])\.{re.escape(cls)}([\s,:]|$)", selectors)
                    for cls in match.group(2).split())]
    # at 360 px the two do not fit on one line: they must wrap, with space between them
    assert any("flex-wrap: wrap" in rule and "gap:" in rule for rule in rules)
