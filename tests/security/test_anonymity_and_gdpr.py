"""Anonymity of respondents, and the GDPR commands: export, erase, purge; the audit log."""

from __future__ import annotations

import json
import logging
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assess.db import Base, utcnow
from assess.models import (
    Answer,
    AuditEvent,
    Invitation,
    PasswordReset,
    Period,
    RecoveryCode,
    Response,
    Round,
    User,
)

from .conftest import PASSWORD, login

RESPONDENT_ADDRESS = "198.51.100.77"
FORWARDED_ADDRESS = "203.0.113.99"
USER_AGENT = "UA-MARKER/1.0 (respondent's browser)"


def all_text(db) -> str:
    """Every value of every row of every table, as one text."""
    db.rollback()
    parts = []
    for table in Base.metadata.sorted_tables:
        for row in db.execute(select(table)):
            parts.extend(str(value) for value in row)
    return "\n".join(parts)


@pytest.fixture
def open_round(db, world):
    round_ = db.get(Round, world.round_a)
    round_.state = "open"
    round_.closes_on = date.today() + timedelta(days=10)
    db.commit()
    return round_


def answer_by_link(client, token: str, submit: bool = True, **environ):
    client.get(f"/s/{token}", **environ)
    response = client.post("/survey/page/1", data={"item_a1": "4", "item_a2": "5"}, **environ)
    assert response.status_code == 303, response.status_code
    if submit:
        assert client.post("/survey/submit", **environ).status_code == 303


# -- anonymity ---------------------------------------------------------------------------------


def test_no_table_has_a_column_for_addresses_or_browsers():
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            assert not re.search(r"(^|_)(ip|addr|address|agent|ua|host)($|_)", column.name), (
                f"{table.name}.{column.name}")


def test_answering_stores_and_logs_no_address_or_browser(app, client, db, world, open_round,
                                                         caplog):
    caplog.set_level(logging.DEBUG)
    environ = {"environ_base": {"REMOTE_ADDR": RESPONDENT_ADDRESS},
               "headers": {"User-Agent": USER_AGENT, "X-Forwarded-For": FORWARDED_ADDRESS}}
    answer_by_link(client, world.token_a, **environ)
    stored = all_text(db)
    for marker in (RESPONDENT_ADDRESS, FORWARDED_ADDRESS, "UA-MARKER"):
        assert marker not in stored
        assert marker not in caplog.text
    # Nor in the respondent's own cookie (Flask-Login keeps a hash of them for logins only).
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    data = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert "_id" not in data and "_user_id" not in data
    assert RESPONDENT_ADDRESS not in json.dumps(data)
    # No audit event is written for respondents.
    assert db.scalar(select(func.count(AuditEvent.id))) == 0


def test_closing_a_round_cuts_every_response_from_its_person(app, client, db, world, open_round,
                                                             runner):
    answer_by_link(client, world.token_a)
    member = app.test_client()
    login(member, world, "member")
    assert member.post(f"/rounds/{world.round_a}/answer").status_code == 303
    assert member.post("/survey/page/1", data={"item_a1": "2"}).status_code == 303
    db.rollback()
    linked = db.execute(select(Response.invitation_id, Response.user_id)).all()
    assert sorted(linked, key=str) == sorted(
        [(world.invitation_a, None), (None, world.user_ids["member"])], key=str)

    result = runner.invoke(args=["rounds", "close", "--network", "Network A", "--period",
                                 db.get(Round, world.round_a).period.label])
    assert result.exit_code == 0, result.output
    db.rollback()
    assert db.execute(select(Response.invitation_id, Response.user_id)).all() == [
        (None, None), (None, None)]
    # The link no longer leads to the answers, and the export finds none.
    export = runner.invoke(args=["gdpr", "export", "--email", "invitee@example.org"])
    assert json.loads(export.stdout)["responses"] == []
    export = runner.invoke(args=["gdpr", "export", "--email", world.emails["member"]])
    assert json.loads(export.stdout)["responses"] == []


def test_closing_a_round_leaves_no_times_that_pair_answers_with_people(app, db, world,
                                                                       open_round, monkeypatch,
                                                                       runner):
    from datetime import datetime

    import assess.services.surveys as surveys

    second = _invite(app, db, world, "second@example.org")
    for hour, token in ((9, world.token_a), (15, second)):
        monkeypatch.setattr(surveys, "utcnow", lambda h=hour: datetime(2026, 3, 2, h, 0, 0))
        answer_by_link(app.test_client(), token)
    monkeypatch.undo()
    result = runner.invoke(args=["rounds", "close", "--network", "Network A", "--period",
                                 db.get(Round, world.round_a).period.label])
    assert result.exit_code == 0, result.output
    db.rollback()
    answered = [a for a in db.scalars(select(Invitation.answered_at)) if a is not None]
    for submitted in db.scalars(select(Response.submitted_at)):
        close = [a for a in answered if abs((a - submitted).total_seconds()) < 60]
        # Either no invitation's time is near, or every one is: the times tell nothing.
        assert len(close) in (0, len(answered))


# -- export ------------------------------------------------------------------------------------


def test_gdpr_export_gives_everything_about_a_person(app, client, db, world, open_round,
                                                     runner):
    from assess.models import RoleAssignment

    # The member was also invited by email to round A, and answers through the link.
    invitation = db.get(Invitation, world.invitation_a)
    invitation.email = world.emails["member"]
    db.add(RoleAssignment(user_id=world.user_ids["member"], role="member",
                          network_id=world.network_b))
    db.commit()
    answer_by_link(client, world.token_a, submit=False)
    login(app.test_client(), world, "member")
    result = runner.invoke(args=["gdpr", "export", "--email", world.emails["member"].upper()])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["found"] is True
    account = data["account"]
    assert account["email"] == world.emails["member"]
    assert sorted(r["network"] for r in account["roles"]) == ["Network A", "Network B"]
    assert account["last_login_at"] is not None
    assert [i["network"] for i in data["invitations"]] == ["Network A"]
    [response] = data["responses"]
    assert response["status"] == "draft" and response["through"] == "invitation"
    assert {(a["item"], a["value"]) for a in response["answers"]} == {("a1", 4), ("a2", 5)}
    assert any(e["action"] == "login" for e in data["audit_events"])
    text = result.stdout
    assert "scrypt:" not in text and "password_hash" not in text
    db.rollback()
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "gdpr_export")) is not None


def test_gdpr_export_of_an_unknown_address_says_so(app, runner, world):
    result = runner.invoke(args=["gdpr", "export", "--email", "nobody@example.org"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["found"] is False


# -- erasure -----------------------------------------------------------------------------------


def test_gdpr_erase_removes_the_person_and_keeps_results_the_same(app, client, db, world,
                                                                   open_round, runner):
    from assess.services.accounts import create_user

    # Three invitees answer; the erased member is one of them, and has a draft elsewhere too
    # (in another round of the network: in this one the account reaches the same response).
    people = []
    for n in range(3):
        invitation_token = _invite(app, db, world, f"person{n}@example.org")
        people.append(invitation_token)
        answer_by_link(app.test_client(), invitation_token)
    erased_token = people[0]
    user = create_user(db, "person0@example.org", PASSWORD, "member", "Network A")
    later = Period(label=f"{date.today().year}-later", starts_on=date.today(),
                   ends_on=date.today() + timedelta(days=90))
    db.add(later)
    db.flush()
    elsewhere = Round(network_id=world.network_a, period_id=later.id,
                      questionnaire_id=open_round.questionnaire_id, opens_on=date.today(),
                      closes_on=date.today() + timedelta(days=30), state="open")
    db.add(elsewhere)
    db.commit()
    user_id = user.id
    member = app.test_client()
    member.post("/login", data={"email": "person0@example.org", "password": PASSWORD})
    member.post(f"/rounds/{elsewhere.id}/answer")
    member.post("/survey/page/1", data={"item_a1": "1"})  # a draft through the account
    db.add(PasswordReset(user_id=user_id, token_hash="f" * 64, expires_at=utcnow()))
    db.commit()

    db.rollback()
    submitted_before = db.scalar(select(func.count(Response.id)).where(
        Response.status == "submitted"))
    answers_before = db.scalar(select(func.count(Answer.id)).join(Response).where(
        Response.status == "submitted"))

    result = runner.invoke(args=["gdpr", "erase", "--email", "Person0@example.org", "--yes"])
    assert result.exit_code == 0, result.output
    assert "Drafts deleted: 1" in result.output
    db.rollback()
    assert db.get(User, user_id) is None
    assert db.scalar(select(func.count(PasswordReset.id))) == 0
    assert db.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user_id)) == 0
    assert "person0@example.org" not in all_text(db)
    # Submitted answers stay, unlinked; the draft is gone.
    assert db.scalar(select(func.count(Response.id)).where(
        Response.status == "submitted")) == submitted_before
    assert db.scalar(select(func.count(Answer.id)).join(Response).where(
        Response.status == "submitted")) == answers_before
    assert db.scalar(select(func.count(Response.id)).where(Response.status == "draft")) == 0
    # The link is dead, the account cannot log in, the audit trail keeps the bare id.
    assert app.test_client().get(f"/s/{erased_token}").status_code == 404
    response = app.test_client().post("/login", data={"email": "person0@example.org",
                                                      "password": PASSWORD})
    assert response.status_code == 401
    events = db.scalars(select(AuditEvent).where(AuditEvent.user_id == user_id)).all()
    assert events and all("person0@" not in f"{e.target} {e.detail}" for e in events)
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "gdpr_erase")).target == (
        f"user:{user_id}")
    # Running it again finds nothing to erase.
    again = runner.invoke(args=["gdpr", "erase", "--email", "person0@example.org", "--yes"])
    assert again.exit_code != 0 and "No account or invitation" in again.output


def test_gdpr_erase_asks_before_it_erases(app, runner, db, world):
    result = runner.invoke(args=["gdpr", "erase", "--email", world.emails["member"]],
                           input="n\n")
    assert result.exit_code != 0
    db.rollback()
    assert db.get(User, world.user_ids["member"]) is not None


def _invite(app, db, world, email: str) -> str:
    from assess.services.surveys import create_invitation

    round_ = db.get(Round, world.round_a)
    _invitation, token = create_invitation(db, app.config["SECRET_KEY"], round_, email)
    db.commit()
    return token


# -- retention ---------------------------------------------------------------------------------


def test_purge_removes_old_contact_lists_drafts_and_expired_links_once(app, client, db, world,
                                                                       open_round, runner):
    # A draft and a submitted answer in round A; a reset link that expired; one still valid.
    answer_by_link(client, world.token_a, submit=False)
    second = _invite(app, db, world, "second@example.org")
    answer_by_link(app.test_client(), second)
    db.add_all([
        PasswordReset(user_id=world.user_ids["admin"], token_hash="a" * 64,
                      expires_at=utcnow() - timedelta(minutes=1)),
        PasswordReset(user_id=world.user_ids["admin"], token_hash="b" * 64,
                      expires_at=utcnow() + timedelta(minutes=30)),
    ])
    round_ = db.get(Round, world.round_a)
    round_.state = "closed"
    round_.closes_on = date.today() - timedelta(days=181)
    # Round B closed recently: its contact list stays.
    recent = db.get(Round, world.round_b)
    recent.closes_on = date.today() - timedelta(days=10)
    db.commit()
    _invitation_b = db.add(Invitation(round_id=world.round_b, email="kept@example.org",
                                      token_hash="c" * 64, token_salt="x" * 32))
    db.commit()

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "Expired or used password-reset links deleted: 1" in result.output
    assert "Drafts of closed rounds deleted: 1" in result.output
    db.rollback()
    rows = db.execute(select(Invitation.round_id, Invitation.email, Invitation.answered_at)
                      .order_by(Invitation.id)).all()
    old = [r for r in rows if r.round_id == world.round_a]
    assert len(old) == 2 and all(r.email is None for r in old)  # rows kept for the counts
    assert sum(r.answered_at is not None for r in old) == 1
    assert [r.email for r in rows if r.round_id == world.round_b] == ["kept@example.org"]
    assert app.test_client().get(f"/s/{second}").status_code == 404  # the link is dead
    assert db.scalar(select(func.count(Response.id))) == 1  # the submitted one
    assert db.scalar(select(func.count(PasswordReset.id))) == 1

    before = all_text(db)
    again = runner.invoke(args=["purge"])
    assert again.exit_code == 0
    assert "Contact lists removed: 0 round(s), 0 invitation(s)" in again.output
    db.rollback()
    after = all_text(db)
    # Only the second run's own audit event differs.
    assert after.count("\n") - before.count("\n") == len(AuditEvent.__table__.columns)


def test_purge_keeps_everything_within_the_retention_period(app, db, world, runner):
    app.config["RETENTION_DAYS"] = 400
    round_ = db.get(Round, world.round_a)
    round_.closes_on = date.today() - timedelta(days=181)
    db.commit()
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0
    db.rollback()
    assert db.get(Invitation, world.invitation_a).email == "invitee@example.org"


# -- the audit log -----------------------------------------------------------------------------


def test_administrative_changes_are_audited(app, db, world, runner):
    runner.invoke(args=["users", "disable", "--email", world.emails["leader_b"]])
    db.rollback()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user_disabled"))
    assert event.target == f"user:{world.user_ids['leader_b']}"


def test_nothing_in_the_app_rewrites_or_deletes_audit_events():
    root = Path(__file__).parents[2] / "assess"
    offenders = []
    for path in root.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r"(delete|update)\(AuditEvent", source):
            offenders.append(f"{path.relative_to(root)}: {match.group(0)}")
    # The one exception: erasure scrubs an email address that slipped into a detail.
    assert offenders == ["services/gdpr.py: update(AuditEvent"]
