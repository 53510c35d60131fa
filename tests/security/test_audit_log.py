"""The audit log: every report view, export and administrative change leaves one event.

Each case does one thing, through the real route or command, and checks that exactly
one audit event was added, with the right action and the right actor (the logged-in
user; nobody, `user_id` None, for a command on the server), and that its target and
detail carry no email address, token, password or answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from .conftest import PASSWORD, login

TODAY = date.today()
LATER = (TODAY + timedelta(days=20)).isoformat()
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")


def open_round_a(db, world) -> None:
    from assess.models import Round

    round_ = db.get(Round, world.round_a)
    round_.state = "open"
    round_.closes_on = TODAY + timedelta(days=5)
    db.commit()


def extra_period(db, world) -> int:
    from assess.models import Period

    period = Period(label=f"{TODAY.year}-extra", starts_on=TODAY - timedelta(days=10),
                    ends_on=TODAY + timedelta(days=60))
    db.add(period)
    db.commit()
    return period.id


def answered_round(db, world, runner, tmp_path) -> int:
    """A closed round of network A with twelve imported responses (results shown)."""
    from assess.models import Round

    rows = [f"Region R,Network A,2025-autumn,key-{n:02d},Org A,2025-10-0{1 + n % 9}T10:00:00,"
            f"{1 + n % 5},4,3,2,5,4,3,2,1,2,3,note {n}" for n in range(12)]
    path = tmp_path / "answers.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
    assert result.exit_code == 0, result.output
    db.rollback()
    return db.scalar(select(Round.id).where(Round.network_id == world.network_a,
                                            Round.id != world.round_a))


def world_period(db, world) -> int:
    from assess.models import Round

    return db.get(Round, world.round_a).period_id


@dataclass
class Case:
    action: str
    role: str
    method: str
    #: (db, world, context) -> URL; context holds what `setup` returned.
    url: Callable
    data: Callable | None = None
    setup: Callable | None = None
    detail: str | None = None


def _practice_form(publish: bool):
    def _data(db, world, context):
        return {"network_id": str(world.network_a), "title": "How A meets",
                "body": "We meet every month and prepare decisions together.",
                "language": "en", ("publish" if publish else "save"): "y"}
    return _data


WEB_CASES = [
    Case("report_viewed", "leader_a", "GET", lambda db, w, c: f"/rounds/{w.round_a}/report"),
    Case("report_exported", "leader_a", "GET",
         lambda db, w, c: f"/rounds/{w.round_a}/report.json", detail="json"),
    Case("report_exported", "coordinator_r", "GET",
         lambda db, w, c: f"/rounds/{w.round_a}/report.pdf", detail="pdf"),
    Case("report_exported", "admin", "GET",
         lambda db, w, c: f"/rounds/{w.round_a}/report.csv", detail="csv dimensions"),
    Case("report_exported", "leader_a", "GET",
         lambda db, w, c: f"/rounds/{w.round_a}/report.xlsx", detail="xlsx"),
    Case("trends_viewed", "leader_a", "GET", lambda db, w, c: f"/networks/{w.network_a}/trends"),
    Case("targets_set", "leader_a", "POST", lambda db, w, c: f"/rounds/{c}/targets",
         data=lambda db, w, c: {"period": str(world_period(db, w)), "dim_trust": "4"},
         setup=answered_round),
    Case("national_viewed", "analyst", "GET", lambda db, w, c: "/national"),
    Case("national_exported", "analyst", "GET", lambda db, w, c: "/national.csv", detail="csv"),
    Case("national_exported", "admin", "GET", lambda db, w, c: "/national.xlsx", detail="xlsx"),
    Case("national_exported", "analyst", "GET", lambda db, w, c: "/national.pdf", detail="pdf"),
    Case("instrument_viewed", "analyst", "GET", lambda db, w, c: "/national/instrument"),
    Case("instrument_exported", "analyst", "GET", lambda db, w, c: "/national/instrument.csv",
         detail="csv"),
    Case("region_viewed", "coordinator_r", "GET", lambda db, w, c: f"/regions/{w.region_r}"),
    Case("round_opened", "leader_a", "POST", lambda db, w, c: "/rounds",
         data=lambda db, w, c: {"network_id": str(w.network_a), "period_id": str(c),
                                "questionnaire_id": str(_tiny_id(db)), "closes_on": LATER},
         setup=lambda db, w, runner, tmp_path: extra_period(db, w)),
    Case("round_closed", "leader_a", "POST", lambda db, w, c: f"/rounds/{w.round_a}/close",
         data=lambda db, w, c: {"close-confirm": "y"},
         setup=lambda db, w, runner, tmp_path: open_round_a(db, w)),
    Case("round_extended", "admin", "POST", lambda db, w, c: f"/rounds/{w.round_a}/extend",
         data=lambda db, w, c: {"extend-closes_on": LATER},
         setup=lambda db, w, runner, tmp_path: open_round_a(db, w)),
    Case("round_reopened", "leader_a", "POST", lambda db, w, c: f"/rounds/{w.round_a}/reopen",
         data=lambda db, w, c: {"reopen-closes_on": LATER}),
    Case("invitations_created", "leader_a", "POST",
         lambda db, w, c: f"/rounds/{w.round_a}/invitations/list",
         data=lambda db, w, c: {"list-addresses": "listed@example.org,Org A\n"
                                                  "other@example.org,Org A\n"},
         setup=lambda db, w, runner, tmp_path: open_round_a(db, w), detail="count=2 from list"),
    Case("invitations_created", "leader_a", "POST",
         lambda db, w, c: f"/rounds/{w.round_a}/invitations",
         data=lambda db, w, c: {"one-email": "single@example.org", "one-organization": "Org A"},
         setup=lambda db, w, runner, tmp_path: open_round_a(db, w), detail="count=1"),
    Case("reminders_sent", "leader_a", "POST", lambda db, w, c: f"/rounds/{w.round_a}/reminders",
         data=lambda db, w, c: {"remind-submit": "y"},
         setup=lambda db, w, runner, tmp_path: open_round_a(db, w)),
    Case("period_created", "analyst", "POST", lambda db, w, c: "/periods",
         data=lambda db, w, c: {"label": "2031-spring", "starts_on": "2031-01-01",
                                "ends_on": "2031-06-30"}, detail="2031-spring"),
    Case("practice_published", "leader_a", "POST", lambda db, w, c: "/practices/new",
         data=_practice_form(publish=True)),
    Case("practice_edited", "leader_a", "POST", lambda db, w, c: "/practices/new",
         data=_practice_form(publish=False)),
    Case("practice_unpublished", "leader_a", "POST",
         lambda db, w, c: f"/practices/{w.practice_a}/edit", data=_practice_form(publish=False)),
    Case("practice_edited", "leader_a", "POST",
         lambda db, w, c: f"/practices/{w.practice_a}/edit", data=_practice_form(publish=True)),
    Case("practice_deleted", "leader_a", "POST",
         lambda db, w, c: f"/practices/{w.practice_a}/delete", data=lambda db, w, c: {}),
    Case("network_naming_changed", "leader_a", "POST", lambda db, w, c: "/practices/settings",
         data=lambda db, w, c: {"network_id": str(w.network_a), "is_named_nationally": "y"},
         detail="named=True"),
]


def _tiny_id(db) -> int:
    from assess.models import QuestionnaireVersion

    return db.scalar(select(QuestionnaireVersion.id).where(QuestionnaireVersion.slug == "tiny"))


def last_event_id(db) -> int:
    from assess.models import AuditEvent

    db.rollback()
    return db.scalar(select(func.max(AuditEvent.id))) or 0


def events_after(db, event_id: int):
    from assess.models import AuditEvent

    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.id > event_id)
                           .order_by(AuditEvent.id)))


def assert_nothing_personal(event, world) -> None:
    text = f"{event.target or ''} {event.detail or ''}"
    assert "@" not in text, text
    assert world.token_a not in text and PASSWORD not in text, text


@pytest.mark.parametrize("case", WEB_CASES,
                         ids=[f"{c.action}-{c.detail or c.method}-{n}"
                              for n, c in enumerate(WEB_CASES)])
def test_each_view_export_and_change_leaves_one_audit_event(app, client, db, world, runner,
                                                            tmp_path, case):
    context = case.setup(db, world, runner, tmp_path) if case.setup else None
    login(client, world, case.role)
    before = last_event_id(db)
    url = case.url(db, world, context)
    if case.method == "GET":
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    else:
        response = client.post(url, data=case.data(db, world, context))
        assert response.status_code in (302, 303), (url, response.status_code,
                                                    response.get_data(as_text=True)[-2000:])
    events = events_after(db, before)
    assert [e.action for e in events] == [case.action], [(e.action, e.detail) for e in events]
    [event] = events
    assert event.user_id == world.user_ids[case.role]
    if case.detail is not None:
        assert event.detail == case.detail
    assert_nothing_personal(event, world)


def test_a_refused_or_unchanged_request_leaves_no_event(app, client, db, world):
    """An invalid form and a page outside one's scope change nothing: no admin event."""
    login(client, world, "leader_a")
    before = last_event_id(db)
    assert client.post(f"/rounds/{world.round_a}/reopen", data={}).status_code == 400
    assert client.get(f"/rounds/{world.round_b}/report").status_code == 404
    assert [e.action for e in events_after(db, before)] == ["access_denied"]


# -- commands on the server: no logged-in user -------------------------------------------------


def _invitations_file(tmp_path) -> str:
    path = tmp_path / "invitations.csv"
    path.write_text("email,organization\nfile1@example.org,Org A\nfile2@example.org,Org A\n",
                    encoding="utf-8")
    return str(path)


def _responses_file(tmp_path) -> str:
    rows = [f"Region R,Network A,2025-autumn,cli-{n},Org A,2025-10-01T10:00:00,"
            f"3,4,3,2,5,4,3,2,1,2,3," for n in range(3)]
    path = tmp_path / "responses.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return str(path)


def _period_label(db, world) -> str:
    from assess.models import Round

    return db.get(Round, world.round_a).period.label


CLI_CASES = [
    ("user_created", lambda db, w, tmp: ["users", "create", "--email", "new@example.org",
                                         "--role", "analyst", "--password-stdin"],
     "a long and unusual passphrase\n"),
    ("role_granted", lambda db, w, tmp: ["users", "grant", "--email", w.emails["member"],
                                         "--role", "leader", "--network", "Network A"], None),
    ("user_disabled", lambda db, w, tmp: ["users", "disable", "--email", w.emails["leader_b"]],
     None),
    ("mfa_reset", lambda db, w, tmp: ["users", "reset-mfa", "--email", w.emails["leader_b"]],
     None),
    ("period_created", lambda db, w, tmp: ["periods", "create", "2032-spring", "--starts",
                                           "2032-01-01", "--ends", "2032-06-30"], None),
    ("round_opened", lambda db, w, tmp: ["rounds", "open", "--network", "Network B", "--period",
                                         _period_label(db, w) + "-x", "--questionnaire", "tiny",
                                         "--closes", LATER], None),
    ("round_closed", lambda db, w, tmp: ["rounds", "close", "--network", "Network A",
                                         "--period", _period_label(db, w)], None),
    ("questionnaire_loaded", lambda db, w, tmp: ["questionnaires", "load",
                                                 "tests/data/tiny.v1.yaml"], None),
    ("responses_imported", lambda db, w, tmp: ["import-responses", _responses_file(tmp),
                                               "--questionnaire", "tiny"], None),
    ("invitations_created", lambda db, w, tmp: ["invitations", "create", "--network",
                                                "Network A", "--period", _period_label(db, w),
                                                "--email", "cli@example.org"], None),
    ("invitations_created", lambda db, w, tmp: ["invitations", "import", "--network",
                                                "Network A", "--period", _period_label(db, w),
                                                _invitations_file(tmp)], None),
    ("gdpr_export", lambda db, w, tmp: ["gdpr", "export", "--email", w.emails["member"],
                                        "-o", str(tmp / "export.json")], None),
    ("gdpr_erase", lambda db, w, tmp: ["gdpr", "erase", "--email", w.emails["member"], "--yes"],
     None),
    ("purge", lambda db, w, tmp: ["purge"], None),
]


@pytest.mark.parametrize(("action", "args", "stdin"), CLI_CASES,
                         ids=[f"{c[0]}-{n}" for n, c in enumerate(CLI_CASES)])
def test_each_command_leaves_one_audit_event_without_a_user(app, db, world, runner, tmp_path,
                                                            action, args, stdin):
    from pathlib import Path

    from assess.models import Period, Round

    if action == "round_opened":
        label = _period_label(db, world) + "-x"
        db.add(Period(label=label, starts_on=TODAY - timedelta(days=1),
                      ends_on=TODAY + timedelta(days=60)))
        db.commit()
    if action in ("invitations_created", "round_closed"):
        open_round_a(db, world)
    argv = args(db, world, tmp_path)
    if action == "questionnaire_loaded":
        argv[-1] = str(Path(__file__).parents[1] / "data" / "tiny.v1.yaml")
    before = last_event_id(db)
    result = runner.invoke(args=argv, input=stdin)
    assert result.exit_code == 0, result.output
    events = events_after(db, before)
    assert [e.action for e in events] == [action], [(e.action, e.detail) for e in events]
    [event] = events
    assert event.user_id is None
    assert_nothing_personal(event, world)
    if action == "round_closed":
        assert event.target == f"round:{world.round_a}"
    assert db.get(Round, world.round_a) is not None


def test_the_daily_run_audits_the_rounds_it_opens_and_closes(app, db, world, runner):
    from assess.models import Round

    open_round_a(db, world)
    draft = db.get(Round, world.round_b)
    draft.state, draft.opens_on = "draft", TODAY + timedelta(days=1)
    draft.closes_on = TODAY + timedelta(days=30)
    db.commit()
    before = last_event_id(db)
    # Day 6: round A's closing day (TODAY + 5) is over and round B's opening day has come.
    result = runner.invoke(args=["rounds", "tick", "--today",
                                 (TODAY + timedelta(days=6)).isoformat()])
    assert result.exit_code == 0, result.output
    events = [(e.action, e.target, e.detail, e.user_id) for e in events_after(db, before)]
    assert events == [
        ("round_closed", f"round:{world.round_a}", "daily run", None),
        ("round_opened", f"round:{world.round_b}", "daily run", None),
    ]
    # A second run the same day changes nothing and records nothing.
    before = last_event_id(db)
    runner.invoke(args=["rounds", "tick", "--today", (TODAY + timedelta(days=6)).isoformat()])
    assert events_after(db, before) == []
