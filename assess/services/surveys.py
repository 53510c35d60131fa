"""Periods, rounds, invitations and answering: the life of a survey round.

draft -> open -> closed. Members answer through a personal link (a random token
stored only as its SHA-256) or while logged in. Every page save stores a draft;
submitting scores the response and marks the round's results stale.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import (
    DateTime,
    bindparam,
    case,
    delete,
    func,
    insert,
    inspect,
    literal,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from ..db import utcnow
from ..models import (
    Answer,
    Invitation,
    Network,
    Organization,
    Period,
    QuestionnaireVersion,
    Response,
    ResponseScore,
    Round,
    User,
)
from ..models.survey import CLOSED, DRAFT, OPEN, SUBMITTED
from ..questionnaire import Questionnaire
from ..scoring.response import score_response
from .questionnaires import definition_of, questionnaire_by_id
from .results import recompute_rounds

PERIOD_LABEL = re.compile(r"^\d{4}-[a-z0-9]+(?:-[a-z0-9]+)*$")
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
MAX_TEXT_LENGTH = 5000
DONT_KNOW = "dk"


def N_(message: str) -> str:
    """Marks an English message for the translation catalogs; it is translated where shown."""
    return message


def _english(message: str, **params) -> str:
    return message % params if params else message


@dataclass(frozen=True)
class Problem:
    """One reason, as an English message with %(name)s parameters, and its line if any."""

    message: str
    params: dict = field(default_factory=dict)
    line: int | None = None

    def text(self, translate: Callable[..., str] = _english) -> str:
        text = translate(self.message, **self.params)
        if self.line is None:
            return text
        return translate(N_("line %(line)d: %(problem)s"), line=self.line, problem=text)


class SurveyError(ValueError):
    """A request that cannot be carried out; the message says why in one sentence.

    str() is English (the command line, logs); `translated()` is in the reader's language
    (pages). Several problems (the lines of a list) are joined with "; ".
    """

    def __init__(self, message: str = "", /, problems: Iterable[Problem] = (), **params):
        self.problems = list(problems) or [Problem(message, params)]
        super().__init__(self.text())

    def text(self, translate: Callable[..., str] = _english) -> str:
        return "; ".join(problem.text(translate) for problem in self.problems)

    def translated(self) -> str:
        return "; ".join(self.translated_problems())

    def translated_problems(self) -> list[str]:
        from flask_babel import gettext

        return [problem.text(gettext) for problem in self.problems]


# -- periods ---------------------------------------------------------------------------------


def create_period(session: Session, label: str, starts_on: date, ends_on: date) -> Period:
    label = label.strip()
    if not PERIOD_LABEL.match(label):
        raise SurveyError(
            N_("'%(label)s' is not a period label; use the year and a name, e.g. 2026-spring."),
            label=label)
    if ends_on < starts_on:
        raise SurveyError(N_("A period cannot end before it starts."))
    if session.scalar(select(Period.id).where(Period.label == label)) is not None:
        raise SurveyError(N_("The period %(label)s exists already."), label=label)
    period = Period(label=label, starts_on=starts_on, ends_on=ends_on)
    session.add(period)
    session.flush()
    return period


def find_period(session: Session, label: str) -> Period:
    period = session.scalar(select(Period).where(Period.label == label))
    if period is None:
        raise SurveyError(N_("There is no period '%(label)s'."), label=label)
    return period


def is_current(period: Period, today: date) -> bool:
    """A period is current from its start until its end (open-ended without dates)."""
    if period.starts_on and today < period.starts_on:
        return False
    return period.ends_on is None or today <= period.ends_on


# -- rounds ----------------------------------------------------------------------------------


def open_round(
    session: Session,
    network: Network,
    period: Period,
    questionnaire: QuestionnaireVersion,
    closes_on: date,
    today: date,
    opens_on: date | None = None,
) -> Round:
    """A new round: open now, or a draft that `tick` opens on `opens_on`."""
    opens_on = opens_on or today
    if closes_on <= today:
        raise SurveyError(N_("The closing date must be in the future."))
    if closes_on < opens_on:
        raise SurveyError(N_("The closing date must come after the opening date."))
    if period.ends_on and opens_on > period.ends_on:
        raise SurveyError(N_("The period %(period)s has ended by the opening date."),
                          period=period.label)
    exists = session.scalar(
        select(Round.id).where(
            Round.network_id == network.id,
            Round.period_id == period.id,
            Round.questionnaire_id == questionnaire.id,
        )
    )
    if exists is not None:
        raise SurveyError(
            N_("%(network)s already has a round of this questionnaire in %(period)s."),
            network=network.name, period=period.label)
    round_ = Round(
        network_id=network.id,
        period_id=period.id,
        questionnaire_id=questionnaire.id,
        opens_on=opens_on,
        closes_on=closes_on,
        state=OPEN if opens_on <= today else DRAFT,
    )
    try:
        with session.begin_nested():
            session.add(round_)
    except IntegrityError:  # another request opened the same round a moment ago
        raise SurveyError(
            N_("%(network)s already has a round of this questionnaire in %(period)s."),
            network=network.name, period=period.label) from None
    return round_


def extend_round(session: Session, round_: Round, closes_on: date, today: date) -> None:
    if round_.state == CLOSED:
        raise SurveyError(N_("The round is closed; reopen it instead."))
    if closes_on <= today:
        raise SurveyError(N_("The closing date must be in the future."))
    if round_.opens_on and closes_on < round_.opens_on:
        raise SurveyError(N_("The closing date must come after the opening date."))
    round_.closes_on = closes_on


def reopen_round(session: Session, round_: Round, closes_on: date, today: date) -> None:
    if round_.state != CLOSED:
        raise SurveyError(N_("Only a closed round can be reopened."))
    if not is_current(round_.period, today):
        raise SurveyError(N_("The period %(period)s is over; its rounds stay closed."),
                          period=round_.period.label)
    if closes_on <= today:
        raise SurveyError(N_("The closing date must be in the future."))
    round_.state = OPEN
    round_.closes_on = closes_on
    # A new closing date earns those who have not answered a new reminder before it.
    session.execute(
        update(Invitation)
        .where(Invitation.round_id == round_.id, Invitation.answered_at.is_(None))
        .values(reminded_at=None)
    )
    _results_changed(session, round_)


def close_round(session: Session, round_: Round, default_k: int = 5) -> None:
    """Close a round: results become visible, and responses lose their link to any person."""
    round_ = session.scalar(
        select(Round).where(Round.id == round_.id).with_for_update().execution_options(
            populate_existing=True)
    )
    if round_.state == CLOSED:
        return
    round_.state = CLOSED
    # Every time of the round becomes the closing time: times written within microseconds
    # of each other (an invitation answered, its response submitted) would pair them again.
    closed_at = utcnow()
    session.execute(
        update(Response)
        .where(Response.round_id == round_.id)
        .values(
            invitation_id=None,
            user_id=None,
            submitted_at=case((Response.submitted_at.is_(None), None), else_=closed_at),
            updated_at=closed_at,
        )
        .execution_options(synchronize_session="fetch")
    )
    session.execute(
        update(Invitation)
        .where(Invitation.round_id == round_.id, Invitation.answered_at.is_not(None))
        .values(answered_at=closed_at)
        .execution_options(synchronize_session="fetch")
    )
    _results_changed(session, round_)
    session.flush()
    recompute_rounds(session, [round_.id], default_k)


def _results_changed(session: Session, round_: Round | int) -> None:
    """Mark the round's stored results stale; an SQL increment, so no concurrent bump is lost."""
    round_id = round_ if isinstance(round_, int) else round_.id
    session.execute(
        update(Round).where(Round.id == round_id).values(data_version=Round.data_version + 1)
    )
    if not isinstance(round_, int):
        session.expire(round_, ["data_version"])


def _lock_open_round(session: Session, round_id: int, *, results_change: bool = False) -> None:
    """Lock the round row for this transaction and check that it is still open.

    Answers change only under this lock and closing takes it too, so no change can
    slip in after a round has closed, and submissions to one round take turns. With
    `results_change`, the same statement also marks the round's stored results stale
    (the UPDATE takes the lock), which saves a round trip on every submit.
    """
    statement = _LOCK_AND_BUMP_ROUND if results_change else _LOCK_ROUND
    if session.execute(statement, {"round_id": round_id}).scalar() != OPEN:
        raise LinkNotValid
    if results_change:
        _expire_cached(session, Round, round_id, ["data_version"])


# Statements of the answering path, built once: a survey wave runs them thousands of
# times a minute, and building a statement costs more CPU than running a prepared one.
_ROUNDS, _RESPONSES, _INVITATIONS = Round.__table__, Response.__table__, Invitation.__table__
_ANSWERS, _SCORES = Answer.__table__, ResponseScore.__table__
_LOCK_ROUND = (
    select(_ROUNDS.c.state).where(_ROUNDS.c.id == bindparam("round_id")).with_for_update()
)
_LOCK_AND_BUMP_ROUND = (
    update(_ROUNDS)
    .where(_ROUNDS.c.id == bindparam("round_id"), _ROUNDS.c.state == OPEN)
    .values(data_version=_ROUNDS.c.data_version + 1)
    .returning(_ROUNDS.c.state)
)
_MARK_SUBMITTED = (
    update(_RESPONSES)
    .where(_RESPONSES.c.id == bindparam("response_id"), _RESPONSES.c.status != SUBMITTED)
    .values(status=SUBMITTED,
            submitted_at=func.coalesce(_RESPONSES.c.submitted_at,
                                       bindparam("now", type_=DateTime())),
            updated_at=bindparam("now", type_=DateTime()))
    .returning(_RESPONSES.c.invitation_id)
)
_MARK_ANSWERED = (
    update(_INVITATIONS)
    .where(_INVITATIONS.c.id == bindparam("invitation_id"), _INVITATIONS.c.answered_at.is_(None))
    .values(answered_at=bindparam("now", type_=DateTime()))
)
_ANSWERS_TO_SCORE = select(_ANSWERS.c.item_id, _ANSWERS.c.value, _ANSWERS.c.dont_know).where(
    _ANSWERS.c.response_id == bindparam("response_id"))
_DELETE_SCORES = delete(_SCORES).where(_SCORES.c.response_id == bindparam("response_id"))
_INSERT_SCORES = insert(_SCORES)


# -- invitations -----------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_token(secret_key: str, invitation: Invitation) -> str:
    """The link's token: HMAC of the invitation's salt under the app's secret key.

    Only its hash is stored, so a copy of the database alone opens no link; with
    the key, a mail sent days later (when a draft round opens, or a reminder)
    carries the same link the member may already have used.
    """
    digest = hmac.new(secret_key.encode(), f"invitation:{invitation.token_salt}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class InvitationRow:
    line: int
    email: str
    organization: str | None
    language: str | None


def parse_invitation_csv(text: str, languages: list[str]) -> list[InvitationRow]:
    """`email,organization[,language]` lines; raises SurveyError listing every bad line."""
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise SurveyError(problems=[Problem(N_("the file is not text"), line=1)])
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows, problems, seen = [], [], set()
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    last_line = 0
    for cells in reader:
        # The line the record starts on: a quoted field may span several lines.
        number, last_line = last_line + 1, reader.line_num
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() == "email":
            continue  # a header line
        if len(cells) > 3:
            problems.append(Problem(N_("expected email,organization[,language]"), line=number))
            continue
        email = cells[0]
        organization = cells[1] if len(cells) > 1 and cells[1] else None
        language = cells[2].lower() if len(cells) > 2 and cells[2] else None
        if not EMAIL.match(email) or len(email) > 254:
            problems.append(Problem(N_("'%(email)s' is not an email address"),
                                    {"email": email}, number))
        elif email.lower() in seen:
            problems.append(Problem(N_("%(email)s is listed twice"), {"email": email}, number))
        if language is not None and language not in languages:
            problems.append(Problem(N_("language must be one of %(languages)s"),
                                    {"languages": ", ".join(languages)}, number))
        if organization and len(organization) > 200:
            problems.append(Problem(N_("the organisation name is too long"), line=number))
        seen.add(email.lower())
        rows.append(InvitationRow(number, email, organization, language))
    if problems:
        raise SurveyError(problems=problems)
    if not rows:
        raise SurveyError(N_("The list has no email addresses."))
    return rows


def _organization(session: Session, network_id: int, name: str | None) -> Organization | None:
    if not name:
        return None
    org = session.scalar(
        select(Organization).where(Organization.network_id == network_id,
                                   Organization.name == name)
    )
    if org is None:
        org = Organization(network_id=network_id, name=name, type="other")
        session.add(org)
        session.flush()
    return org


def create_invitation(
    session: Session,
    secret_key: str,
    round_: Round,
    email: str | None,
    organization: str | None = None,
    language: str | None = None,
) -> tuple[Invitation, str]:
    """A personal link for one member; returns the invitation and its token."""
    if round_.state == CLOSED:
        raise SurveyError(N_("The round is closed; no more invitations can be sent."))
    if email is not None and (not EMAIL.match(email) or len(email) > 254):
        raise SurveyError(N_("'%(email)s' is not an email address."), email=email)
    if email is not None and session.scalar(
        select(Invitation.id).where(Invitation.round_id == round_.id,
                                    func.lower(Invitation.email) == email.lower())
    ):
        raise SurveyError(N_("%(email)s has been invited to this round already."), email=email)
    org = _organization(session, round_.network_id, organization)
    invitation = Invitation(
        round_id=round_.id,
        organization_id=org.id if org else None,
        email=email.lower() if email else None,
        language=language,
        token_salt=secrets.token_hex(16),
    )
    token = invitation_token(secret_key, invitation)
    invitation.token_hash = hash_token(token)
    session.add(invitation)
    session.flush()
    return invitation, token


def create_invitations(
    session: Session, secret_key: str, round_: Round, rows: list[InvitationRow]
) -> list[tuple[Invitation, str]]:
    """All rows or none: the caller rolls back on SurveyError."""
    created, problems = [], []
    for row in rows:
        try:
            created.append(create_invitation(session, secret_key, round_, row.email,
                                             row.organization, row.language))
        except SurveyError as exc:
            problems += [Problem(p.message, p.params, row.line) for p in exc.problems]
    if problems:
        raise SurveyError(problems=problems)
    return created


def resolve_token(session: Session, token: str) -> Invitation | None:
    """The invitation of a link, or None; the same work whatever the reason."""
    if not token or len(token) > 100:
        token = ""
    return session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))


# -- answering -------------------------------------------------------------------------------


class LinkNotValid(LookupError):
    """The link is unknown, or its round is not open: one answer for every reason."""


@dataclass
class Progress:
    invited: int = 0
    sent: int = 0
    reminded: int = 0
    answered: int = 0
    #: Invitations with an address that are not mailed yet (a batch left for later, or a
    #: failed mail put back); the daily run or "Mail the waiting invitations" sends them.
    waiting: int = 0
    submitted: int = 0
    drafts: int = 0
    by_organization: list[dict] = field(default_factory=list)

    @property
    def response_rate(self) -> float | None:
        return None if not self.invited else 100 * self.answered / self.invited


def response_of_invitation(
    session: Session, invitation: Invitation, lock: bool = False
) -> Response | None:
    query = select(Response).where(Response.invitation_id == invitation.id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def start_or_resume(session: Session, invitation: Invitation) -> Response:
    """The invitation's response (a new draft the first time); LinkNotValid when not possible.

    A member may hold both a personal link and an account: whichever way they come, they
    answer the one response of the round, so nobody is counted (or weighs) twice.
    """
    round_ = invitation.round
    if round_.state != OPEN:
        raise LinkNotValid
    response = response_of_invitation(session, invitation)
    if response is not None:
        return response
    if invitation.answered_at is not None:
        # Answered before the round was closed and reopened: the link to the answers is gone.
        raise LinkNotValid
    by_account = _response_of_invited_account(session, invitation)
    if by_account is not None:
        by_account.invitation_id = invitation.id
        return by_account
    return _new_draft(session, round_, invitation=invitation)


def _response_of_invited_account(session: Session, invitation: Invitation) -> Response | None:
    if not invitation.email:
        return None
    return session.scalar(
        select(Response).join(User, Response.user_id == User.id).where(
            Response.round_id == invitation.round_id,
            Response.invitation_id.is_(None),
            func.lower(User.email) == invitation.email.lower(),
        )
    )


def start_or_resume_for_user(session: Session, round_: Round, user_id: int,
                             organization_id: int | None = None) -> Response:
    if round_.state != OPEN:
        raise LinkNotValid
    response = session.scalar(
        select(Response).where(Response.round_id == round_.id, Response.user_id == user_id)
    )
    if response is not None:
        return response
    invitation = session.scalar(
        select(Invitation).join(User, func.lower(User.email) == func.lower(Invitation.email))
        .where(Invitation.round_id == round_.id, User.id == user_id)
    )
    if invitation is not None:
        # Invited by email too: the same response as the personal link's.
        response = start_or_resume(session, invitation)
        if response.user_id is None:
            response.user_id = user_id
        return response
    return _new_draft(session, round_, user_id=user_id, organization_id=organization_id)


def _new_draft(session: Session, round_: Round, invitation: Invitation | None = None,
               user_id: int | None = None, organization_id: int | None = None) -> Response:
    """Create the draft; when two tabs race, the unique constraint picks one and both use it."""
    response = Response(
        round_id=round_.id,
        respondent_key=secrets.token_hex(12),
        invitation_id=invitation.id if invitation else None,
        organization_id=invitation.organization_id if invitation else organization_id,
        user_id=user_id,
        status=DRAFT,
    )
    try:
        with session.begin_nested():
            session.add(response)
    except IntegrityError:
        if invitation is not None:
            existing = response_of_invitation(session, invitation)
        else:
            existing = session.scalar(
                select(Response).where(Response.round_id == round_.id,
                                       Response.user_id == user_id)
            )
        if existing is None:
            raise
        return existing
    return response


def answers_of(session: Session, response: Response) -> dict[str, str]:
    """Stored answers as form values: '1'..'5', 'dk', free text."""
    values = {}
    for answer in session.scalars(select(Answer).where(Answer.response_id == response.id)):
        if answer.dont_know:
            values[answer.item_id] = DONT_KNOW
        elif answer.value is not None:
            values[answer.item_id] = str(answer.value)
        elif answer.text:
            values[answer.item_id] = answer.text
    return values


def validate_answers(
    questionnaire: Questionnaire, posted: dict[str, str], item_ids: list[str]
) -> dict[str, str]:
    """Problems per item id (codes the UI translates): 'out_of_scale', 'too_long', 'unknown'."""
    scale = questionnaire.scale
    allowed = {str(v) for v in range(scale.min, scale.max + 1)}
    if scale.dont_know:
        allowed.add(DONT_KNOW)
    known = {item.id: item for item in questionnaire.items}
    errors = {}
    for item_id, raw in posted.items():
        if item_id not in known or item_id not in item_ids:
            errors[item_id] = "unknown"
            continue
        value = (raw or "").strip()
        if known[item_id].is_scored:
            if value and value not in allowed:
                errors[item_id] = "out_of_scale"
        elif len(value) > MAX_TEXT_LENGTH:
            errors[item_id] = "too_long"
        elif "\x00" in value:
            errors[item_id] = "not_text"
    return errors


def save_answers(
    session: Session,
    response: Response,
    questionnaire: Questionnaire,
    posted: dict[str, str],
    item_ids: list[str],
) -> dict[str, str]:
    """Replace the answers to `item_ids` (one page) with `posted`; nothing changes on errors."""
    errors = validate_answers(questionnaire, posted, item_ids)
    if errors:
        return errors
    _lock_open_round(session, response.round_id)
    # Read under the lock: another tab may have submitted since the response was loaded,
    # and a change to a submitted response must be scored at once.
    session.refresh(response, ["status"])
    answers = Answer.__table__
    session.execute(
        delete(answers).where(answers.c.response_id == response.id,
                              answers.c.item_id.in_(item_ids))
    )
    scored = {item.id for item in questionnaire.items if item.is_scored}
    rows = []
    for item_id in item_ids:
        value = (posted.get(item_id) or "").strip()
        if not value:
            continue
        if item_id in scored:
            dont_know = value == DONT_KNOW
            rows.append({"item_id": item_id, "value": None if dont_know else int(value),
                         "dont_know": dont_know, "text": None})
        else:
            rows.append({"item_id": item_id, "value": None, "dont_know": False, "text": value})
    if rows:
        # Core rows, not ORM objects: nothing reads them back in this request.
        session.execute(insert(answers), [{"response_id": response.id, **row} for row in rows])
    response.updated_at = utcnow()
    if response.status == SUBMITTED:
        # A change to a submitted response is scored at once, so results never go stale.
        _store_scores(session, questionnaire, response.id, replace=True)
        _results_changed(session, response.round_id)
    return {}


def submit(session: Session, response: Response, questionnaire: Questionnaire) -> bool:
    """Submit (or resubmit) a response; True the first time. Idempotent under double clicks.

    Few statements, as this is the busiest write of a survey wave: lock the round and
    mark its results stale (one UPDATE), mark the response submitted unless it is (one
    UPDATE, which sees the latest committed row, so a double click counts once), note
    the invitation answered, read the answers and store the scores.
    """
    _lock_open_round(session, response.round_id, results_change=True)
    submitted = None
    # A submitted response never becomes a draft again: a resubmit needs no UPDATE.
    if response.status != SUBMITTED:
        now = utcnow()
        submitted = session.execute(
            _MARK_SUBMITTED, {"response_id": response.id, "now": now}).first()
    first_time = submitted is not None
    if first_time:
        session.expire(response, ["status", "submitted_at", "updated_at"])
        if submitted.invitation_id is not None:
            session.execute(_MARK_ANSWERED,
                            {"invitation_id": submitted.invitation_id, "now": now})
            _expire_cached(session, Invitation, submitted.invitation_id, ["answered_at"])
    # A draft never has stored scores: only a resubmit has old ones to replace.
    _store_scores(session, questionnaire, response.id, replace=not first_time)
    return first_time


def _expire_cached(session: Session, model, key: int, attributes: list[str]) -> None:
    """Expire attributes an SQL UPDATE changed, if the session holds that object."""
    cached = session.identity_map.get(Session.identity_key(model, key))
    if cached is not None:
        session.expire(cached, attributes)


def _store_scores(session: Session, questionnaire: Questionnaire, response_id: int,
                  replace: bool) -> None:
    """Score one response from its stored answers and store its dimension scores.

    The plain-Python scorer (scoring.score_response) gives the numbers the pandas
    scorer of imports and recomputations gives, without its ~10 ms set-up per call.
    """
    rows = session.execute(_ANSWERS_TO_SCORE, {"response_id": response_id}).all()
    scores = score_response(rows, questionnaire)
    if replace:
        session.execute(_DELETE_SCORES, {"response_id": response_id})
    if scores:
        session.execute(_INSERT_SCORES, [
            {"response_id": response_id, "dimension_id": dimension_id, "score": score}
            for dimension_id, score in scores
        ])


def questionnaire_of(round_: Round) -> Questionnaire:
    """The round's parsed questionnaire; once parsed, its definition text is never read again."""
    session = object_session(round_)
    if session is None or "questionnaire" not in inspect(round_).unloaded:
        return definition_of(round_.questionnaire)
    return questionnaire_by_id(session, round_.questionnaire_id)


# -- progress --------------------------------------------------------------------------------


def member_statuses(session: Session, user_id: int, email: str,
                    round_ids: list[int]) -> dict[int, str]:
    """The member's response status (draft or submitted) per round: the response of their
    account, or of the personal link mailed to their address (one person, one response;
    see start_or_resume_for_user). Submitted wins when there are both."""
    if not round_ids:
        return {}
    by_account = select(Response.round_id, Response.status).where(
        Response.user_id == user_id, Response.round_id.in_(round_ids))
    by_link = (
        select(Response.round_id, Response.status)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .where(func.lower(Invitation.email) == func.lower(literal(email)),
               Response.round_id.in_(round_ids))
    )
    statuses: dict[int, str] = {}
    for round_id, status in session.execute(by_account.union_all(by_link)).all():
        if statuses.get(round_id) != SUBMITTED:
            statuses[round_id] = status
    return statuses


def round_listing():
    """Rounds with network name, period label, questionnaire and counts (invited,
    answered, submitted), newest period first: the rounds list of the page and the CLI.

    ``submitted`` counts the round's submitted responses, whichever way they came (a
    link, a login or ``assess import-responses``); ``invited`` and ``answered`` count
    invitations only, so a round whose responses were imported has 0 of them. Counts
    only: who answered is never listed.
    """
    invitations = (
        select(Invitation.round_id, func.count(Invitation.id).label("invited"),
               func.count(Invitation.answered_at).label("answered"))
        .group_by(Invitation.round_id)
        .subquery()
    )
    responses = (
        select(Response.round_id, func.count(Response.id).label("submitted"))
        .where(Response.status == SUBMITTED)
        .group_by(Response.round_id)
        .subquery()
    )
    return (
        select(Round, Network.name, Period.label, QuestionnaireVersion,
               func.coalesce(invitations.c.invited, 0).label("invited"),
               func.coalesce(invitations.c.answered, 0).label("answered"),
               func.coalesce(responses.c.submitted, 0).label("submitted"))
        .join(Network, Round.network_id == Network.id)
        .join(Period, Round.period_id == Period.id)
        .join(QuestionnaireVersion, Round.questionnaire_id == QuestionnaireVersion.id)
        .outerjoin(invitations, invitations.c.round_id == Round.id)
        .outerjoin(responses, responses.c.round_id == Round.id)
        .order_by(*Period.newest_first(), Network.name, QuestionnaireVersion.slug)
    )


def round_progress(session: Session, round_: Round) -> Progress:
    """Counts only: who answered what is never shown."""
    progress = Progress()
    row = session.execute(
        select(
            func.count(Invitation.id),
            func.count(Invitation.sent_at),
            func.count(Invitation.reminded_at),
            func.count(Invitation.answered_at),
            func.count(Invitation.id).filter(Invitation.sent_at.is_(None),
                                             Invitation.email.is_not(None)),
        ).where(Invitation.round_id == round_.id)
    ).one()
    (progress.invited, progress.sent, progress.reminded, progress.answered,
     progress.waiting) = row
    counts = dict(
        session.execute(
            select(Response.status, func.count())
            .where(Response.round_id == round_.id)
            .group_by(Response.status)
        ).all()
    )
    progress.submitted = counts.get(SUBMITTED, 0)
    progress.drafts = counts.get(DRAFT, 0)
    per_org = session.execute(
        select(
            Organization.name,
            func.count(Invitation.id),
            func.count(Invitation.answered_at),
        )
        .select_from(Invitation)
        .outerjoin(Organization, Invitation.organization_id == Organization.id)
        .where(Invitation.round_id == round_.id)
        .group_by(Organization.name)
        .order_by(Organization.name)
    ).all()
    progress.by_organization = [
        {"organization": name, "invited": invited, "answered": answered}
        for name, invited, answered in per_org
    ]
    return progress
