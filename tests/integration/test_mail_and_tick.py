"""Mail and the daily run, against a real SMTP server on loopback."""

from __future__ import annotations

import email
import socket
import threading
from datetime import date, datetime, time, timedelta
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from assess.mail import OutgoingMail, send_mail, sender_for
from assess.models import Invitation, Round
from assess.services import schedule, surveys

TODAY = date.today()
BASE_URL = "https://kysely.example.fi"
NETWORK = "Vårdnätverket Österbotten"


class Collector:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


def refresh(db) -> None:
    """Forget loaded rows and end the transaction: SQLite reads see the database as of
    their BEGIN, so a new snapshot is needed to see what the app or CLI wrote."""
    db.rollback()
    db.expire_all()


class LoopbackSMTP(Controller):
    """An SMTP server on a port the kernel gave it and it never let go of.

    Asking for a free port, closing it and binding it again later leaves a moment in which
    another process (the other xdist worker's SMTP server or gunicorn) may take it.
    """

    def __init__(self, handler):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        # A loaded CI machine may take more than the default 5 s to answer the first EHLO.
        super().__init__(handler, hostname="127.0.0.1", port=self._socket.getsockname()[1],
                         ready_timeout=60)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._socket)


def refusing_port() -> socket.socket:
    """A loopback port bound but never listening, so connecting is refused; the port stays
    ours (no one else can start listening on it) until the socket is closed."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def smtp(app):
    handler = Collector()
    controller = LoopbackSMTP(handler)
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                      MAIL_SENDER="kysely@example.fi", BASE_URL=BASE_URL)
    yield handler
    controller.stop()


@pytest.fixture
def draft_round(db, questionnaire_row, make_network):
    """A draft round opening tomorrow, closing in ten days, with three invitees."""
    network = make_network(NETWORK)
    period = surveys.create_period(db, f"{TODAY.year}-test", TODAY - timedelta(days=30),
                                   TODAY + timedelta(days=60))
    round_ = surveys.open_round(db, network, period, questionnaire_row,
                                closes_on=TODAY + timedelta(days=10), today=TODAY,
                                opens_on=TODAY + timedelta(days=1))
    for address, language in [("anna@example.fi", "sv"), ("pekka@example.fi", "fi"),
                              ("sam@example.fi", "en")]:
        surveys.create_invitation(db, "test-secret-key", round_, address, "City of Vaasa",
                                  language)
    db.commit()
    return round_


def run_tick(app, db, day, send=None):
    """The daily run at 06:00 UTC of `day`, as cron would start it."""
    with app.app_context():
        return schedule.tick(db, day, send or sender_for(app), app.config["SECRET_KEY"],
                             app.config["BASE_URL"], reminder_days=3,
                             now=datetime.combine(day, time(6)))


def body_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def link_in(message) -> str:
    return BASE_URL + "/s/" + body_of(message).split(BASE_URL + "/s/", 1)[1].split()[0]


def state_of(db, round_id) -> str:
    refresh(db)
    return db.get(Round, round_id).state


def test_tick_opens_a_draft_on_its_date_and_mails_its_invitations(app, db, smtp, draft_round):
    nothing = run_tick(app, db, TODAY)
    assert (nothing.opened, nothing.invited) == (0, 0)
    assert smtp.messages == [] and state_of(db, draft_round.id) == "draft"

    report = run_tick(app, db, TODAY + timedelta(days=1))
    assert (report.opened, report.invited, report.failed) == (1, 3, [])
    assert state_of(db, draft_round.id) == "open"
    assert sorted(m["To"] for m in smtp.messages) == [
        "anna@example.fi", "pekka@example.fi", "sam@example.fi"]
    for message in smtp.messages:
        body = body_of(message)
        assert message["From"] == "kysely@example.fi"
        assert NETWORK in body and NETWORK in message["Subject"]
        assert draft_round.period.label in body
        token = body.split(BASE_URL + "/s/", 1)[1].split()[0]
        with app.app_context():
            invitation = surveys.resolve_token(db, token)
        assert invitation is not None and invitation.email == message["To"]
    english = smtp.to("sam@example.fi")[0]
    assert english["Content-Language"] == "en"
    assert english["Subject"] == f"Survey invitation: {NETWORK}, {draft_round.period.label}"
    assert "The link is personal" in body_of(english)
    assert "shown to nobody else" in body_of(english)
    # The texts are built under force_locale: the closing date is in the invitee's language.
    closes = TODAY + timedelta(days=10)
    month = {"sv": ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
                    "september", "oktober", "november", "december"],
             "fi": ["tammikuuta", "helmikuuta", "maaliskuuta", "huhtikuuta", "toukokuuta",
                    "kesäkuuta", "heinäkuuta", "elokuuta", "syyskuuta", "lokakuuta",
                    "marraskuuta", "joulukuuta"]}
    swedish, finnish = smtp.to("anna@example.fi")[0], smtp.to("pekka@example.fi")[0]
    assert swedish["Content-Language"] == "sv" and finnish["Content-Language"] == "fi"
    assert f"{closes.day} {month['sv'][closes.month - 1]} {closes.year}" in body_of(swedish)
    assert f"{closes.day}. {month['fi'][closes.month - 1]} {closes.year}" in body_of(finnish)
    # English as written in Finland: the day before the month.
    assert f"{closes.day} {closes.strftime('%B')} {closes.year}" in body_of(english)


@pytest.mark.parametrize(("language", "period"), [
    ("sv", "hösten 2026"), ("fi", "syksy 2026"), ("en", "autumn 2026")])
def test_a_mail_names_a_seasonal_period_in_words_of_the_invitees_language(app, language,
                                                                          period):
    from flask_babel import force_locale

    from assess.mail import SurveyFacts, invitation_mail

    facts = SurveyFacts(to="anna@example.fi", language=language, network=NETWORK,
                        period="2026-autumn", survey="Survey", closes_on=None,
                        link=BASE_URL + "/s/x")
    with app.test_request_context(), force_locale(language):
        mail = invitation_mail(facts)
    assert mail.subject.endswith(f"{NETWORK}, {period}")
    assert "2026-autumn" not in mail.body


def test_one_reminder_goes_out_days_before_closing_and_never_twice(app, db, smtp, draft_round):
    run_tick(app, db, TODAY + timedelta(days=1))
    links = {m["To"]: link_in(m) for m in smtp.messages}
    answered = db.scalar(select(Invitation).where(Invitation.email == "sam@example.fi"))
    answered.answered_at = answered.sent_at
    db.commit()
    smtp.messages.clear()

    early = run_tick(app, db, TODAY + timedelta(days=6))  # closes in 4 days: too early
    assert early.reminded == 0 and smtp.messages == []

    due = run_tick(app, db, TODAY + timedelta(days=7))  # closes in 3 days
    assert due.reminded == 2
    assert sorted(m["To"] for m in smtp.messages) == ["anna@example.fi", "pekka@example.fi"]
    for message in smtp.messages:
        assert NETWORK in message["Subject"]
        # The reminder carries the same personal link as the invitation.
        assert link_in(message) == links[message["To"]]

    again = run_tick(app, db, TODAY + timedelta(days=8))
    assert (again.invited, again.reminded) == (0, 0)
    assert len(smtp.messages) == 2


def test_a_reopened_round_reminds_those_who_have_not_answered_before_its_new_close(
        app, db, smtp, draft_round):
    run_tick(app, db, TODAY + timedelta(days=1))
    answered = db.scalar(select(Invitation).where(Invitation.email == "sam@example.fi"))
    answered.answered_at = answered.sent_at
    db.commit()
    assert run_tick(app, db, TODAY + timedelta(days=7)).reminded == 2
    assert run_tick(app, db, TODAY + timedelta(days=11)).closed == 1
    smtp.messages.clear()

    refresh(db)
    surveys.reopen_round(db, db.get(Round, draft_round.id), TODAY + timedelta(days=20),
                         TODAY + timedelta(days=12))
    db.commit()
    due = run_tick(app, db, TODAY + timedelta(days=17))  # the new close is 3 days away
    assert due.reminded == 2
    assert sorted(m["To"] for m in smtp.messages) == ["anna@example.fi", "pekka@example.fi"]


def test_running_tick_twice_in_a_row_sends_nothing_twice(app, db, smtp, draft_round):
    day = TODAY + timedelta(days=7)  # opening and the reminder window at once
    first = run_tick(app, db, day)
    second = run_tick(app, db, day)
    assert (first.opened, first.invited) == (1, 3)
    # Mailed today: the reminder waits for a later run, never in the same one.
    assert first.reminded == 0
    assert (second.opened, second.invited, second.reminded, second.closed) == (0, 0, 0, 0)
    assert len(smtp.messages) == 3


def test_two_hosts_running_at_once_mail_each_invitation_once(app, db, smtp, draft_round):
    """The second host runs while the first is in the middle of sending."""
    other = app.extensions["assess.sessionmaker"]()
    real_send = sender_for(app)
    calls = []

    def send_and_let_the_other_host_run(message: OutgoingMail) -> None:
        calls.append(message.to)
        if len(calls) == 1:
            run_tick(app, other, TODAY + timedelta(days=1))
        real_send(message)

    try:
        run_tick(app, db, TODAY + timedelta(days=1), send=send_and_let_the_other_host_run)
    finally:
        other.close()
    assert sorted(m["To"] for m in smtp.messages) == [
        "anna@example.fi", "pekka@example.fi", "sam@example.fi"]


def test_tick_closes_a_round_after_its_closing_date(app, db, smtp, draft_round):
    run_tick(app, db, TODAY + timedelta(days=1))
    on_the_day = run_tick(app, db, TODAY + timedelta(days=10))
    assert on_the_day.closed == 0 and state_of(db, draft_round.id) == "open"
    after = run_tick(app, db, TODAY + timedelta(days=11))
    assert after.closed == 1 and state_of(db, draft_round.id) == "closed"
    sent = len(smtp.messages)
    assert run_tick(app, db, TODAY + timedelta(days=12)).closed == 0
    assert len(smtp.messages) == sent


def test_the_tick_command_prints_what_it_did(app, db, smtp, draft_round, runner):
    day = (TODAY + timedelta(days=1)).isoformat()
    result = runner.invoke(args=["rounds", "tick", "--today", day])
    assert result.exit_code == 0, result.output
    assert "Rounds opened: 1" in result.output
    assert "Invitations sent: 3" in result.output
    again = runner.invoke(args=["rounds", "tick", "--today", day])
    assert "Invitations sent: 0" in again.output
    assert len(smtp.messages) == 3


def test_a_refused_connection_leaves_the_mail_for_the_next_run(app, db, draft_round, runner):
    day = TODAY + timedelta(days=1)
    with refusing_port() as closed:
        app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1",
                          MAIL_PORT=closed.getsockname()[1], BASE_URL=BASE_URL)
        failed = run_tick(app, db, day)
        assert failed.opened == 1 and failed.invited == 0
        assert len(failed.failed) == 3 and "ConnectionRefusedError" in failed.failed[0]
        refresh(db)
        assert db.scalars(select(Invitation.sent_at)).all() == [None, None, None]
        result = runner.invoke(args=["rounds", "tick", "--today", day.isoformat()])
        assert result.exit_code == 1
        assert "retried on the next run" in result.output

    handler = Collector()
    controller = LoopbackSMTP(handler)
    controller.start()
    try:
        app.config["MAIL_PORT"] = controller.port
        retried = run_tick(app, db, day)
    finally:
        controller.stop()
    assert (retried.invited, retried.failed) == (3, [])
    assert len(handler.messages) == 3


def test_console_backend_logs_and_writes_an_eml_into_the_outbox(app, db, draft_round, caplog):
    caplog.set_level("INFO", logger="assess.mail")
    report = run_tick(app, db, TODAY + timedelta(days=1))
    assert report.invited == 3
    outbox = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert len(outbox) == 3
    message = email.message_from_bytes(outbox[0].read_bytes(), policy=policy.default)
    assert "http://127.0.0.1:5000/s/" in body_of(message)
    assert sum("Mail (console backend" in r.getMessage() for r in caplog.records) == 3


def test_send_mail_builds_a_utf8_message_over_smtp(app, smtp):
    send_mail(app.config, OutgoingMail("asa@example.fi", "Päivää – hej", "Ääkköset\n", "fi"))
    [message] = smtp.messages
    assert message["Subject"] == "Päivää – hej"
    assert body_of(message).rstrip() == "Ääkköset"
    assert message["Auto-Submitted"] == "auto-generated"
