"""Attacks on access: enumeration (IDOR), response-level data, mass assignment, CSRF, GET writes."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO

import pytest
from sqlalchemy import select, text

from assess.db import Base
from assess.models import AuditEvent, Network, Practice, RoleAssignment, Round, User

from .conftest import PASSWORD, login
from .test_access_matrix import ROUTES, build_url, url_arguments

GET_ROUTES = [(key, endpoint, rule) for key, endpoint, rule in ROUTES if key.startswith("GET ")]
POST_ROUTES = [(key, endpoint, rule) for key, endpoint, rule in ROUTES
               if key.startswith("POST ")]
#: Pages about one round, and one network, that a leader of another network must not see.
ROUND_PAGES = ["/rounds/{id}/report", "/rounds/{id}/report.json", "/rounds/{id}/report.csv",
               "/rounds/{id}/report.xlsx", "/rounds/{id}/report.pdf", "/rounds/{id}/manage",
               "/rounds/{id}/targets"]
NETWORK_PAGES = ["/networks/{id}/trends"]


def main_of(response) -> str:
    """The page's <main>: the part that differs between answers (the header has the path)."""
    html = response.get_data(as_text=True)
    return html[html.index("<main"):html.index("</main>")] if "<main" in html else html


# -- IDOR --------------------------------------------------------------------------------------


@pytest.fixture
def more_rounds(db, world):
    """A few more rounds of network A, so that ids 1..N hold several rounds of others."""
    from assess.models import Period

    base = db.get(Round, world.round_a)
    ids = []
    for n in range(3):
        period = Period(label=f"2020-p{n}")
        db.add(period)
        db.flush()
        round_ = Round(network_id=world.network_a, period_id=period.id,
                       questionnaire_id=base.questionnaire_id, state="closed")
        db.add(round_)
        db.flush()
        ids.append(round_.id)
    db.commit()
    return ids


@pytest.mark.parametrize("role", ["leader_b", "coordinator_s", "analyst", "member"])
def test_enumerating_round_and_network_ids_finds_nothing_of_others(app, client, db, world,
                                                                   more_rounds, role):
    login(client, world, role)
    own_round = world.round_b if role in ("leader_b", "coordinator_s") else None
    own_network = world.network_b if role in ("leader_b", "coordinator_s") else None
    last = max([world.round_a, world.round_b, *more_rounds]) + 5
    for template in ROUND_PAGES:
        missing = client.get(template.format(id=10_000))
        assert missing.status_code == 404
        for round_id in range(1, last + 1):
            if round_id == own_round:
                continue
            with client.get(template.format(id=round_id)) as response:
                assert response.status_code == 404, (template, round_id)
                # Out of scope reads exactly like "does not exist".
                assert main_of(response) == main_of(missing), (template, round_id)
    for template in NETWORK_PAGES:
        for network_id in range(1, world.network_b + 5):
            if network_id == own_network:
                continue
            assert client.get(template.format(id=network_id)).status_code == 404
    # POSTs to another network's rounds change nothing and answer the same 404.
    for action in ("close", "extend", "reopen", "invitations", "reminders"):
        response = client.post(f"/rounds/{world.round_a}/{action}",
                               data={"close-confirm": "y", "one-email": "x@example.org"})
        assert response.status_code == 404, action
    db.rollback()
    assert db.get(Round, world.round_a).state == "closed"


@pytest.mark.parametrize("role", ["coordinator_s", "leader_a", "member"])
def test_enumerating_region_ids_finds_nothing_of_others(app, client, world, role):
    login(client, world, role)
    missing = client.get("/regions/10000")
    assert missing.status_code == 404
    for region_id in range(1, world.region_s + 5):
        if role == "coordinator_s" and region_id == world.region_s:
            assert client.get(f"/regions/{region_id}").status_code == 200
            continue
        with client.get(f"/regions/{region_id}") as response:
            assert response.status_code == 404, region_id
            assert main_of(response) == main_of(missing), region_id


def test_denials_are_logged_and_audited(app, client, db, world, caplog):
    login(client, world, "leader_b")
    caplog.set_level("INFO", logger="assess.security")
    assert client.get(f"/rounds/{world.round_a}/report").status_code == 404
    assert any(r.name == "assess.security" and "access denied" in r.getMessage()
               and f"/rounds/{world.round_a}/report" in r.getMessage() for r in caplog.records)
    db.rollback()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "access_denied")).one()
    assert event.user_id == world.user_ids["leader_b"]
    assert event.target == "reports.show_report"
    assert event.detail == f"GET /rounds/{world.round_a}/report -> 404"


# -- response-level data -----------------------------------------------------------------------


@pytest.fixture
def answered_round(app, db, world, runner, tmp_path):
    """Twelve submitted responses of network A (a closed, shown round), each with a marker."""
    header = ("region,network,period,respondent,organization,submitted_at,"
              "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")
    rows = [f"Region R,Network A,2025-autumn,resp-key-{n:02d},Org A,2025-10-0{1 + n % 9}T10:00:00,"
            f"{1 + n % 5},4,3,2,5,4,3,2,1,2,3,answer-marker-{n:02d}" for n in range(12)]
    path = tmp_path / "responses.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
    assert result.exit_code == 0, result.output
    db.rollback()
    return db.scalar(select(Round.id).where(Round.network_id == world.network_a,
                                            Round.id != world.round_a,
                                            Round.state == "closed"))


def _bodies(response) -> str:
    """A response's text, with the sheets of a workbook unpacked."""
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(BytesIO(data)) as book:
            return " ".join(book.read(name).decode("utf-8", "replace")
                            for name in book.namelist())
    if data[:4] == b"%PDF":
        from pypdf import PdfReader

        return " ".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)
    return data.decode("utf-8", "replace")


@pytest.mark.parametrize("role", ["analyst", "admin", "leader_a", "coordinator_r"])
def test_no_route_returns_one_persons_answers(app, client, world, answered_round, role):
    """Only aggregates leave the app; open answers at most as an unordered, unlinked list."""
    login(client, world, role)
    values = {**url_arguments(world), "round_id": answered_round}
    for key, _endpoint, rule in GET_ROUTES:
        [matching] = [r for r in app.url_map.iter_rules() if r.rule == rule and "GET" in r.methods]
        url = matching.build({a: values[a] for a in matching.arguments}, append_unknown=False)[1]
        for query in ({}, {"table": "items"}, {"format": "json"}):
            with client.get(url, query_string=query) as response:
                body = _bodies(response)
            assert "resp-key-" not in body, (role, key, query)
            if role in ("analyst",):
                assert "answer-marker-" not in body, (role, key, query)
            # A text never comes with the person's other answers: no per-respondent record.
            assert not re.search(r'"(respondent_key|response_id|invitation_id|user_id)"', body)


# -- mass assignment ---------------------------------------------------------------------------


def test_account_forms_ignore_role_network_and_identity_fields(app, client, db, world):
    login(client, world, "leader_a")
    extra = {"role": "admin", "roles": "admin", "network_id": str(world.network_b),
             "region_id": str(world.region_s), "email": "attacker@example.org",
             "is_enabled": "1", "session_version": "1", "totp_secret": "A" * 32,
             "user_id": str(world.user_ids["admin"]), "id": str(world.user_ids["admin"])}
    client.post("/account/password", data={**extra, "current": PASSWORD,
                                           "password": "a brand new passphrase",
                                           "confirm": "a brand new passphrase"})
    client.post("/account/sessions", data={**extra, "sessions-password": PASSWORD})
    client.post("/account/recovery-codes", data={**extra, "codes-password": PASSWORD})
    client.post("/account/mfa", data={**extra, "code": "123456"})
    db.rollback()
    leader = db.get(User, world.user_ids["leader_a"])
    assert leader.email == world.emails["leader_a"]
    assert leader.totp_secret == world.secrets["leader_a"]
    assert [(r.role, r.network_id, r.region_id) for r in leader.roles] == [
        ("leader", world.network_a, None)]
    admin = db.get(User, world.user_ids["admin"])
    assert admin.email == world.emails["admin"]
    assert db.scalar(select(RoleAssignment).where(RoleAssignment.role == "admin",
                                                  RoleAssignment.user_id != admin.id)) is None


def test_a_leader_cannot_act_for_another_network_by_changing_its_id(app, client, db, world):
    login(client, world, "leader_a")
    response = client.post("/practices/new", data={
        "network_id": str(world.network_b), "title": "Planted", "language": "en",
        "body": "A practice written into someone else's network.", "publish": "y"})
    assert response.status_code in (200, 400, 404)
    response = client.post("/rounds", data={"network_id": str(world.network_b)})
    assert response.status_code == 404
    response = client.post("/practices/settings", data={"network_id": str(world.network_b),
                                                        "is_named_nationally": ""})
    assert response.status_code == 404
    db.rollback()
    assert db.scalar(select(Practice).where(Practice.network_id == world.network_b)) is None
    assert db.get(Network, world.network_b).is_named_nationally is True


# -- CSRF --------------------------------------------------------------------------------------


def snapshot(db) -> dict[str, list]:
    """Every row of every table, except the audit log (it records refusals too)."""
    db.rollback()
    state = {}
    for table in Base.metadata.sorted_tables:
        if table.name == "audit_events":
            continue
        rows = db.execute(select(table).order_by(*table.primary_key.columns)).all()
        state[table.name] = [tuple(row) for row in rows]
    return state


@pytest.mark.parametrize("role", ["admin", "leader_a", "member"])
def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(app, client, db, world,
                                                                        role):
    login(client, world, role)
    client.get(f"/s/{world.token_a}")  # a survey in the session too, for the survey forms
    app.config["WTF_CSRF_ENABLED"] = True
    before = snapshot(db)
    for key, _endpoint, rule in POST_ROUTES:
        url = build_url(app, world, rule, "POST")
        response = client.post(url, data={"confirm": "y", "close-confirm": "y", "lang": "en"})
        assert response.status_code == 400, (key, response.status_code)
    assert snapshot(db) == before
    # Still logged in: the refusals did not log anyone out or in.
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.get("/account").status_code == 200


def test_a_csrf_token_from_another_session_is_refused(app, db, world):
    app.config["WTF_CSRF_ENABLED"] = True
    attacker = app.test_client()
    page = attacker.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    app.config["WTF_CSRF_ENABLED"] = False
    victim = app.test_client()
    login(victim, world, "leader_a")
    app.config["WTF_CSRF_ENABLED"] = True
    before = snapshot(db)
    for url, data in [
        ("/logout", {}),
        ("/account/sessions", {"sessions-password": PASSWORD}),
        (f"/rounds/{world.round_a}/reopen", {"reopen-closes_on": "2099-01-01"}),
        (f"/rounds/{world.round_a}/invitations", {"one-email": "planted@example.org"}),
    ]:
        response = victim.post(url, data={**data, "csrf_token": token})
        assert response.status_code == 400, url
    assert snapshot(db) == before


@pytest.mark.parametrize("role", ["admin", "leader_a", "member"])
def test_a_csrf_token_from_another_session_is_refused_on_every_post_route(app, db, world, role):
    """The attacker's own valid token (from their session) works nowhere in the victim's."""
    app.config["WTF_CSRF_ENABLED"] = True
    attacker = app.test_client()
    page = attacker.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    app.config["WTF_CSRF_ENABLED"] = False
    victim = app.test_client()
    login(victim, world, role)
    victim.get(f"/s/{world.token_a}")  # a survey in the session too, for the survey forms
    app.config["WTF_CSRF_ENABLED"] = True
    before = snapshot(db)
    for key, _endpoint, rule in POST_ROUTES:
        url = build_url(app, world, rule, "POST")
        response = victim.post(url, data={"confirm": "y", "close-confirm": "y", "lang": "en",
                                          "csrf_token": token})
        assert response.status_code == 400, (key, response.status_code)
    assert snapshot(db) == before
    app.config["WTF_CSRF_ENABLED"] = False
    assert victim.get("/account").status_code == 200


# -- no state change by GET --------------------------------------------------------------------

#: Derived data that reading a report may (re)compute and keep: results, the stored
#: comparisons (benchmarks and the version they are of) and rendered PDFs.
CACHE_TABLES = {"round_summaries", "round_dimension_results", "organization_scores",
                "round_item_stats", "rendered_reports", "network_benchmarks",
                "comparison_versions"}


@pytest.mark.parametrize("role", ["admin", "leader_a", "member", "anonymous"])
def test_no_get_route_changes_the_database(app, client, db, world, answered_round, role):
    login(client, world, role)
    client.get(f"/s/{world.token_a}")
    before = {k: v for k, v in snapshot(db).items() if k not in CACHE_TABLES}
    for _key, _endpoint, rule in GET_ROUTES:
        for round_id in (world.round_a, answered_round):
            values = {**url_arguments(world), "round_id": round_id}
            [matching] = [r for r in app.url_map.iter_rules()
                          if r.rule == rule and "GET" in r.methods]
            url = matching.build({a: values[a] for a in matching.arguments},
                                 append_unknown=False)[1]
            if "/s/" in url or "/password/reset/" in url:
                continue  # they exchange the link for a session mark: read-only too, below
            client.get(url).close()
    after = {k: v for k, v in snapshot(db).items() if k not in CACHE_TABLES}
    assert after == before
    # Opening a personal link writes nothing either.
    client.get(f"/s/{world.token_a}").close()
    assert {k: v for k, v in snapshot(db).items() if k not in CACHE_TABLES} == before


def test_sql_rows_are_counted_the_same_way_on_both_databases(db):
    # A guard for the snapshots above: raw SQL sees the same tables the ORM does.
    names = {t.name for t in Base.metadata.sorted_tables}
    assert {"users", "responses", "answers", "invitations", "audit_events"} <= names
    assert db.execute(text("SELECT 1")).scalar() == 1
