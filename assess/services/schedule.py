"""The daily run: open rounds on their date, mail invitations and reminders, close rounds.

Several hosts may run `tick` at the same time. Every mail is claimed first with
`UPDATE ... WHERE sent_at IS NULL` (or `reminded_at`), committed, and sent only by the
run whose claim changed the row; a failed send puts the claim back, so the next run
retries it. A run that dies between claiming and sending loses that one mail: we
prefer a missing mail to a duplicate, and the leader can send reminders by hand.

Unlike most services, these functions commit as they go (each claim, each round), so
call them with no pending changes of your own.

After the mails, the run renders into the database cache (RenderedReport), in every
language, the report PDFs that the cache lacks for the current data of recently closed
rounds: the ones it closed, and the ones closed by hand (round page, `rounds close`).
So the leaders who download them the morning after a round closes get them from the
cache instead of each waiting for a rendering (and the answering pages never compete
with a burst of renderings).

The claims keep mails and closings single, but two runs at once would both render the
PDFs they both find missing. So on PostgreSQL the command runs inside `tick_lock`, an
advisory lock: a run started while another one works exits at once. SQLite is one
host's database, where overlapping runs are an operator's mistake; at worst a PDF is
rendered twice (store_rendered keeps one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..mail import OutgoingMail, SurveyFacts, invitation_mail, personal_link, reminder_mail
from ..models import Invitation, Round, RoundSummary
from ..models.survey import CLOSED, DRAFT, OPEN
from ..questionnaire import localized
from . import audit
from .questionnaires import definition_of
from .surveys import close_round, invitation_token

logger = logging.getLogger(__name__)

Send = Callable[[OutgoingMail], None]
#: A leader's "Send reminders now" skips anyone reminded more recently than this.
REMIND_AGAIN_AFTER = timedelta(hours=24)
#: The run pre-renders the PDFs of closed rounds whose closing date is at most this far
#: back (a round closed early by hand keeps its later date, so it counts). Leaders
#: download in the days after closing; older rounds, imported ones (no date) and a
#: restored backup render on their first download instead of making one run render
#: for hours. Two weeks also covers a timer that failed for some days.
PRERENDER_WINDOW = timedelta(days=14)
#: At most this many PDFs per run: about 1 s each at low CPU priority, so about five
#: minutes. A whole period closing on one day (100 networks in 3 languages) fits; what is
#: left over is rendered by the next run, or on its first download meanwhile.
PRERENDER_LIMIT = 300
#: The key of the daily run's PostgreSQL advisory lock: any constant, the same on every
#: host ("assess:t"). Advisory locks are per database, so other databases do not clash.
TICK_LOCK_KEY = int.from_bytes(b"assess:t", "big")


@dataclass
class TickReport:
    opened: int = 0
    invited: int = 0
    reminded: int = 0
    closed: int = 0
    #: Report PDFs rendered into the cache by this run (one per round and language).
    prerendered: int = 0
    #: One line per mail that could not be sent: "invitation 12: <error>".
    failed: list[str] = field(default_factory=list)
    #: Mails left for later because the run's `limit` was reached (a request's batch).
    left: int = 0

    def add(self, other: TickReport) -> None:
        self.opened += other.opened
        self.invited += other.invited
        self.reminded += other.reminded
        self.closed += other.closed
        self.prerendered += other.prerendered
        self.failed.extend(other.failed)
        self.left += other.left

    def format(self) -> str:
        lines = [
            f"Rounds opened: {self.opened}",
            f"Invitations sent: {self.invited}",
            f"Reminders sent: {self.reminded}",
            f"Rounds closed: {self.closed}",
            f"Report PDFs rendered: {self.prerendered}",
        ]
        if self.failed:
            lines.append(f"Mails not sent (retried on the next run): {len(self.failed)}")
            lines.extend(f"  {line}" for line in self.failed)
        return "\n".join(lines)


def tick(
    session: Session,
    today: date,
    send: Send,
    secret_key: str,
    base_url: str,
    reminder_days: int = 3,
    min_respondents: int = 5,
    now: datetime | None = None,
    prerender_languages: Sequence[str] | None = None,
    prerender_limit: int = PRERENDER_LIMIT,
) -> TickReport:
    """Bring every round up to date for `today`; safe to run again and on several hosts.

    Rounds past their closing date are closed first, so no mail goes out for a round
    that is over. Then drafts open on their date, unsent invitations of open rounds
    are mailed, and one reminder goes out `reminder_days` before closing. `now` (UTC,
    default: the clock) stamps sent_at and reminded_at. Last, the report PDFs that the
    cache lacks of the rounds in rounds_to_prerender are rendered, at most
    `prerender_limit`, in `prerender_languages` (default: the app's LANGUAGES when an
    app context is active, else none). The command runs it inside `tick_lock`.
    """
    report = TickReport()
    closed = close_due_rounds(session, today, min_respondents)
    report.closed = len(closed)
    report.opened = open_due_rounds(session, today)
    report.add(send_pending_invitations(session, send, secret_key, base_url, now=now))
    report.add(send_due_reminders(session, today, send, secret_key, base_url, reminder_days,
                                  now=now))
    if prerender_languages is None:
        from flask import current_app, has_app_context

        prerender_languages = current_app.config["LANGUAGES"] if has_app_context() else ()
    if prerender_languages:
        from .report_render import prerender_pdfs

        report.prerendered = prerender_pdfs(
            session, rounds_to_prerender(session, today, closed), prerender_languages,
            min_respondents, limit=prerender_limit)
    return report


def rounds_to_prerender(session: Session, today: date, closed_now: Sequence[int] = ()
                        ) -> list[int]:
    """Closed, unsuppressed rounds whose PDFs the run keeps cached: those it just closed
    (`closed_now`) first, then those closing within PRERENDER_WINDOW before `today` or
    later (closed by hand), newest closing date first.

    A suppressed round's PDF shows no scores (and renders on its download quickly).
    """
    ids = list(session.scalars(
        select(Round.id)
        .join(RoundSummary, RoundSummary.round_id == Round.id)
        .where(Round.state == CLOSED, RoundSummary.suppressed.is_(False),
               or_(Round.id.in_(list(closed_now)),
                   Round.closes_on >= today - PRERENDER_WINDOW))
        .order_by(Round.closes_on.desc(), Round.id)
    ))
    first = set(closed_now)
    return sorted(ids, key=lambda round_id: round_id not in first)  # stable sort


@contextmanager
def tick_lock(session: Session) -> Iterator[bool]:
    """Hold the daily run's advisory lock on PostgreSQL; yields False when another run
    holds it (the caller then does nothing). Elsewhere (SQLite) yields True.

    A session-level lock (pg_try_advisory_lock, which never waits) on a connection of its
    own, held for the whole run: the run commits many times, and each transaction may
    take another pooled connection. PostgreSQL drops the lock when its connection ends,
    so a run that is killed leaves none behind. It needs a real session: behind a
    transaction-pooling PgBouncer the lock would not hold.
    """
    engine = session.get_bind()
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        locked = conn.scalar(select(func.pg_try_advisory_lock(TICK_LOCK_KEY)))
        conn.commit()
        if not locked:
            yield False
            return
        try:
            yield True
        finally:
            try:
                conn.scalar(select(func.pg_advisory_unlock(TICK_LOCK_KEY)))
                conn.commit()
            except Exception:  # closing the connection lets go of the lock as well
                logger.warning("tick lock not released; closing its connection", exc_info=True)
                conn.invalidate()


def _begin_write(session: Session) -> None:
    """End the current (reading) transaction and start one that will write.

    On SQLite a reading transaction that later writes fails at once ("database is
    locked") when another process wrote in between; asking for the write lock up front
    (BEGIN IMMEDIATE, see db._begin) makes it wait for the other writer instead.
    PostgreSQL ignores the option.
    """
    session.commit()
    session.connection(execution_options={"sqlite_immediate": True})


def close_due_rounds(session: Session, today: date, min_respondents: int = 5) -> list[int]:
    """Close every round past its closing date; returns the ids this run closed."""
    due = list(session.scalars(
        select(Round.id).where(Round.state != CLOSED, Round.closes_on < today).order_by(Round.id)
    ))
    closed = []
    for round_id in due:
        _begin_write(session)
        # The row lock makes a second host wait, then see the round closed and skip it.
        round_ = session.scalar(
            select(Round).where(Round.id == round_id, Round.state != CLOSED)
            .with_for_update().execution_options(populate_existing=True)
        )
        if round_ is None:
            session.rollback()
            continue
        close_round(session, round_, min_respondents)
        audit.record("round_closed", user_id=None, target=f"round:{round_id}",
                     detail="daily run", session=session, commit=False)
        session.commit()
        closed.append(round_id)
    return closed


def open_due_rounds(session: Session, today: date) -> int:
    _begin_write(session)
    opened = session.scalars(
        update(Round)
        .where(Round.state == DRAFT, Round.opens_on <= today)
        .values(state=OPEN)
        .returning(Round.id)
        .execution_options(synchronize_session=False)
    ).all()
    for round_id in sorted(opened):
        audit.record("round_opened", user_id=None, target=f"round:{round_id}",
                     detail="daily run", session=session, commit=False)
    session.commit()
    return len(opened)


def send_pending_invitations(
    session: Session,
    send: Send,
    secret_key: str,
    base_url: str,
    round_id: int | None = None,
    invitation_ids: Iterable[int] | None = None,
    now: datetime | None = None,
    limit: int | None = None,
) -> TickReport:
    """Mail every invitation of an open round that has not been mailed (sent_at null);
    with `limit`, the first `limit` of them, counting the rest in `left`."""
    query = (
        select(Invitation.id)
        .join(Round, Invitation.round_id == Round.id)
        .where(Round.state == OPEN, Invitation.sent_at.is_(None), Invitation.email.is_not(None))
        .order_by(Invitation.id)
    )
    if round_id is not None:
        query = query.where(Invitation.round_id == round_id)
    if invitation_ids is not None:
        query = query.where(Invitation.id.in_(list(invitation_ids)))
    batch, left = _batch(list(session.scalars(query)), limit)
    sent, failed = _send_each(
        session, batch, Invitation.sent_at, invitation_mail, send,
        secret_key, base_url, claimable=Invitation.sent_at.is_(None), now=now)
    return TickReport(invited=sent, failed=failed, left=left)


def send_due_reminders(
    session: Session,
    today: date,
    send: Send,
    secret_key: str,
    base_url: str,
    reminder_days: int,
    now: datetime | None = None,
) -> TickReport:
    """One reminder per unanswered invitation, `reminder_days` before the round closes.

    An invitation mailed today gets its reminder on a later run, never in the same
    one (a round opened close to its closing date would otherwise send both at once).
    """
    start_of_today = datetime.combine(today, time.min)
    query = (
        select(Invitation.id)
        .join(Round, Invitation.round_id == Round.id)
        .where(
            Round.state == OPEN,
            Round.closes_on <= today + timedelta(days=reminder_days),
            Invitation.email.is_not(None),
            Invitation.sent_at < start_of_today,
            Invitation.answered_at.is_(None),
            Invitation.reminded_at.is_(None),
        )
        .order_by(Invitation.id)
    )
    sent, failed = _send_each(
        session, list(session.scalars(query)), Invitation.reminded_at, reminder_mail, send,
        secret_key, base_url, claimable=Invitation.reminded_at.is_(None), now=now)
    return TickReport(reminded=sent, failed=failed)


def remind_now(
    session: Session,
    round_: Round,
    send: Send,
    secret_key: str,
    base_url: str,
    now: datetime | None = None,
    limit: int | None = None,
) -> TickReport:
    """A leader's "Send reminders now": every invitation mailed but not answered,
    unless it was reminded in the last 24 hours; with `limit`, the first `limit` of them.
    Returns the counts (reminded, failed, left)."""
    now = now or utcnow()
    cutoff = now - REMIND_AGAIN_AFTER
    not_recent = or_(Invitation.reminded_at.is_(None), Invitation.reminded_at <= cutoff)
    if round_.state != OPEN:
        return TickReport()
    ids = list(session.scalars(
        select(Invitation.id)
        .where(
            Invitation.round_id == round_.id,
            Invitation.email.is_not(None),
            Invitation.sent_at.is_not(None),
            Invitation.answered_at.is_(None),
            not_recent,
        )
        .order_by(Invitation.id)
    ))
    batch, left = _batch(ids, limit)
    sent, failed = _send_each(session, batch, Invitation.reminded_at, reminder_mail, send,
                              secret_key, base_url, claimable=not_recent, now=now)
    return TickReport(reminded=sent, failed=failed, left=left)


def _batch(ids: list[int], limit: int | None) -> tuple[list[int], int]:
    """The ids to mail now and how many are left: a request mails a bounded batch, so a
    list of thousands never outlasts the worker timeout."""
    if limit is None:
        return ids, 0
    return ids[:limit], max(0, len(ids) - limit)


def mark_handed_over(invitations: Iterable[Invitation]) -> None:
    """The operator hands the links out themselves: the daily run will not mail them."""
    now = utcnow()
    for invitation in invitations:
        invitation.sent_at = invitation.sent_at or now


def mail_facts(invitation: Invitation, token: str, base_url: str) -> SurveyFacts:
    """What a mail says, in the invitee's language, else the questionnaire's default."""
    round_ = invitation.round
    definition = definition_of(round_.questionnaire)
    language = invitation.language or definition.default_language
    return SurveyFacts(
        to=invitation.email or "",
        language=language,
        network=round_.network.name,
        period=round_.period.label,
        survey=localized(definition.title, language, definition.default_language),
        closes_on=round_.closes_on,
        link=personal_link(base_url, token),
    )


def _send_each(
    session: Session,
    invitation_ids: Iterable[int],
    column,
    build: Callable[[SurveyFacts], OutgoingMail],
    send: Send,
    secret_key: str,
    base_url: str,
    claimable,
    now: datetime | None = None,
) -> tuple[int, list[str]]:
    """Claim and send one mail per invitation; (mails this run sent, failure lines)."""
    sent, failed = 0, []
    for invitation_id in invitation_ids:
        outcome = _claim_and_send(session, invitation_id, column, build, send, secret_key,
                                  base_url, claimable=claimable, now=now)
        if outcome is True:
            sent += 1
        elif outcome:
            failed.append(outcome)
    return sent, failed


def _claim_and_send(
    session: Session,
    invitation_id: int,
    column,
    build: Callable[[SurveyFacts], OutgoingMail],
    send: Send,
    secret_key: str,
    base_url: str,
    claimable,
    now: datetime | None = None,
) -> bool | str | None:
    """True when this run sent the mail; None when another run had claimed it; else the
    failure as one line (the claim is then put back)."""
    invitation = session.get(Invitation, invitation_id, populate_existing=True)
    if invitation is None:
        return None
    previous = getattr(invitation, column.key)
    message = build(mail_facts(invitation, invitation_token(secret_key, invitation), base_url))
    claimed_at = now or utcnow()
    _begin_write(session)
    claim = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, claimable)
        .values({column.key: claimed_at})
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if claim.rowcount != 1:
        return None
    try:
        send(message)
    except Exception as exc:  # SMTP or network: log it, put the claim back, go on
        logger.warning("mail for invitation %s not sent: %s", invitation_id, exc)
        _begin_write(session)
        session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, column == claimed_at)
            .values({column.key: previous})
            .execution_options(synchronize_session=False)
        )
        session.commit()
        session.expire(invitation, [column.key])
        return f"invitation {invitation_id}: {exc.__class__.__name__}: {exc}"
    # The UPDATE bypassed the object (synchronize_session=False): reload it when next used.
    session.expire(invitation, [column.key])
    return True
