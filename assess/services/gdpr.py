"""Data subjects' rights and storage limits: export, erase, purge (GDPR art. 15, 17, 5(1)(e)).

What is personal data here (docs/privacy.md has the register):

* an account: the email address, language, role assignments, login times, second
  factor and recovery codes, reset links; the audit events naming its id;
* an invitation: the email address of the invitee (the round's contact list);
* a response while it is linked to a person (through an invitation or an account,
  until the round closes). Once the link is gone the response is anonymous data:
  nobody, not even the administrator, can tell whose it is.

`erase_person` keeps submitted responses as anonymous data, so that published
results and aggregates stay as they were; it deletes the person's unfinished drafts.
`purge` is the daily retention job: expired reset links, contact lists and drafts of
rounds closed more than RETENTION_DAYS ago. Both are idempotent.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Answer,
    AuditEvent,
    Invitation,
    Network,
    PasswordReset,
    Period,
    Practice,
    RecoveryCode,
    Region,
    Response,
    ResponseScore,
    Round,
    Target,
    User,
)
from ..models.survey import CLOSED, DRAFT
from .surveys import hash_token

DEFAULT_RETENTION_DAYS = 180
#: `Invitation.token_salt` of an invitation whose link was made unusable (purge, erasure).
WITHDRAWN_SALT = ""


class GdprError(ValueError):
    """The request cannot be carried out; the message says why."""


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _normalize(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise GdprError(f"'{email}' is not an email address.")
    return email


def _find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email))


def _invitations(session: Session, email: str) -> list[Invitation]:
    return list(session.scalars(
        select(Invitation).where(func.lower(Invitation.email) == email).order_by(Invitation.id)
    ))


def _linked_responses(session: Session, user: User | None,
                      invitations: list[Invitation]) -> list[Response]:
    """Responses still linked to the person: by invitation, or by account in an open round."""
    conditions = []
    if invitations:
        conditions.append(Response.invitation_id.in_([i.id for i in invitations]))
    if user is not None:
        conditions.append(Response.user_id == user.id)
    if not conditions:
        return []
    return list(session.scalars(select(Response).where(or_(*conditions)).order_by(Response.id)))


def _round_label(session: Session, round_id: int) -> dict:
    row = session.execute(
        select(Round.id, Round.state, Network.name, Period.label)
        .join(Network, Round.network_id == Network.id)
        .join(Period, Round.period_id == Period.id)
        .where(Round.id == round_id)
    ).one()
    return {"round_id": row.id, "state": row.state, "network": row.name, "period": row.label}


# -- export ------------------------------------------------------------------------------------


def export_person(session: Session, email: str) -> dict:
    """Everything stored about the person with this email address, as plain JSON values."""
    email = _normalize(email)
    user = _find_user(session, email)
    invitations = _invitations(session, email)
    responses = _linked_responses(session, user, invitations)
    data: dict = {
        "email": email,
        "exported_at": _iso(utcnow()),
        "account": None,
        "invitations": [],
        "responses": [],
        "audit_events": [],
    }
    if user is not None:
        networks = dict(session.execute(select(Network.id, Network.name)).all())
        regions = dict(session.execute(select(Region.id, Region.name)).all())
        data["account"] = {
            "id": user.id,
            "email": user.email,
            "language": user.language,
            "is_enabled": user.is_enabled,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
            "password_changed_at": _iso(user.password_changed_at),
            # The secrets themselves are not personal data worth handing out; that they exist is.
            "has_second_factor": bool(user.totp_secret),
            "recovery_codes_unused": session.scalar(
                select(func.count(RecoveryCode.id)).where(
                    RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))),
            "roles": [
                {"role": r.role, "network": networks.get(r.network_id),
                 "region": regions.get(r.region_id)}
                for r in user.roles
            ],
            "password_resets": [
                {"created_at": _iso(r.created_at), "expires_at": _iso(r.expires_at),
                 "used_at": _iso(r.used_at)}
                for r in session.scalars(select(PasswordReset).where(
                    PasswordReset.user_id == user.id).order_by(PasswordReset.id))
            ],
            "targets_set": [
                {"network": networks.get(t.network_id), "questionnaire": t.questionnaire_slug,
                 "dimension": t.dimension_id, "level": t.level, "set_at": _iso(t.set_at)}
                for t in session.scalars(select(Target).where(Target.set_by_user_id == user.id))
            ],
            "practices_written": [
                {"network": networks.get(p.network_id), "title": p.title,
                 "is_published": p.is_published, "updated_at": _iso(p.updated_at)}
                for p in session.scalars(select(Practice).where(
                    Practice.author_user_id == user.id))
            ],
        }
        data["audit_events"] = [
            {"occurred_at": _iso(e.occurred_at), "action": e.action, "target": e.target,
             "detail": e.detail}
            for e in session.scalars(select(AuditEvent).where(
                AuditEvent.user_id == user.id).order_by(AuditEvent.id))
        ]
    for invitation in invitations:
        data["invitations"].append({
            **_round_label(session, invitation.round_id),
            "organization": invitation.organization.name if invitation.organization else None,
            "language": invitation.language,
            "created_at": _iso(invitation.created_at),
            "sent_at": _iso(invitation.sent_at),
            "reminded_at": _iso(invitation.reminded_at),
            "answered_at": _iso(invitation.answered_at),
        })
    for response in responses:
        answers = session.scalars(
            select(Answer).where(Answer.response_id == response.id).order_by(Answer.item_id))
        data["responses"].append({
            **_round_label(session, response.round_id),
            "through": "invitation" if response.invitation_id else "account",
            "status": response.status,
            "submitted_at": _iso(response.submitted_at),
            "updated_at": _iso(response.updated_at),
            "answers": [
                {"item": a.item_id, "value": a.value, "dont_know": a.dont_know, "text": a.text}
                for a in answers
            ],
        })
    data["found"] = bool(user is not None or invitations)
    return data


# -- erasure -----------------------------------------------------------------------------------


@dataclass
class ErasureSummary:
    account_deleted: bool = False
    user_id: int | None = None
    invitations_cleared: int = 0
    drafts_deleted: int = 0
    responses_anonymised: int = 0
    audit_details_scrubbed: int = 0

    def format(self) -> str:
        account = f"yes (user id {self.user_id})" if self.account_deleted else "no"
        lines = [
            f"Account deleted: {account}",
            f"Invitations cleared: {self.invitations_cleared}",
            f"Drafts deleted: {self.drafts_deleted}",
            f"Submitted responses kept as anonymous data: {self.responses_anonymised}",
        ]
        if self.audit_details_scrubbed:
            lines.append(f"Audit details scrubbed: {self.audit_details_scrubbed}")
        return "\n".join(lines)


def _withdraw_links(session: Session, invitation_ids: list[int]) -> None:
    """Forget the addresses and make the links unusable; the rows stay for the counts."""
    for invitation_id in invitation_ids:
        # A fresh random hash per row (the column is unique) that no token can produce.
        session.execute(
            update(Invitation).where(Invitation.id == invitation_id).values(
                email=None, token_salt=WITHDRAWN_SALT,
                token_hash=hash_token("withdrawn:" + secrets.token_hex(32)))
        )


def _delete_responses(session: Session, response_ids: list[int]) -> None:
    if not response_ids:
        return
    session.execute(delete(ResponseScore).where(ResponseScore.response_id.in_(response_ids)))
    session.execute(delete(Answer).where(Answer.response_id.in_(response_ids)))
    session.execute(delete(Response).where(Response.id.in_(response_ids)))


def erase_person(session: Session, email: str) -> ErasureSummary:
    """Remove the person's personal data; the caller commits.

    Deleted: the account (with its roles, second factor, recovery codes and reset links),
    the email address on every invitation (whose link stops working), and the person's
    unfinished drafts. Kept: submitted responses, unlinked from the person, so results
    stay the same; the audit log's events under the numeric user id, without the email.
    """
    email = _normalize(email)
    summary = ErasureSummary()
    user = _find_user(session, email)
    invitations = _invitations(session, email)
    if user is None and not invitations:
        raise GdprError(f"No account or invitation has the email address {email}.")
    responses = _linked_responses(session, user, invitations)
    drafts = [r.id for r in responses if r.status == DRAFT]
    submitted = [r.id for r in responses if r.status != DRAFT]
    _delete_responses(session, drafts)
    summary.drafts_deleted = len(drafts)
    if submitted:
        session.execute(update(Response).where(Response.id.in_(submitted))
                        .values(invitation_id=None, user_id=None))
    summary.responses_anonymised = len(submitted)
    _withdraw_links(session, [i.id for i in invitations])
    summary.invitations_cleared = len(invitations)
    if user is not None:
        summary.user_id = user.id
        session.execute(update(Target).where(Target.set_by_user_id == user.id)
                        .values(set_by_user_id=None))
        session.execute(update(Practice).where(Practice.author_user_id == user.id)
                        .values(author_user_id=None))
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id))
        session.delete(user)  # its role assignments go with it (ORM cascade)
        summary.account_deleted = True
    summary.audit_details_scrubbed = session.execute(
        update(AuditEvent)
        .where(or_(func.lower(AuditEvent.detail).contains(email, autoescape=True),
                   func.lower(AuditEvent.target).contains(email, autoescape=True)))
        .values(detail="[erased]", target=None)
    ).rowcount
    session.flush()
    return summary


# -- retention ---------------------------------------------------------------------------------


@dataclass
class PurgeSummary:
    password_resets: int = 0
    contact_lists: int = 0
    invitations: int = 0
    drafts: int = 0
    rounds: list[int] = field(default_factory=list)

    def format(self) -> str:
        return "\n".join([
            f"Expired or used password-reset links deleted: {self.password_resets}",
            f"Contact lists removed: {self.contact_lists} round(s), "
            f"{self.invitations} invitation(s)",
            f"Drafts of closed rounds deleted: {self.drafts}",
        ])


def purge(session: Session, today: date, retention_days: int = DEFAULT_RETENTION_DAYS,
          now: datetime | None = None) -> PurgeSummary:
    """Delete what is no longer needed; running it twice changes nothing more. Caller commits.

    * password-reset links that have expired or been used;
    * the contact list of every round closed more than `retention_days` ago (by its
      closing date): the invitations' email addresses, and their links stop working;
      the rows stay, so the round's invitation and answer counts stay;
    * the drafts (never submitted responses) of those rounds.
    """
    if retention_days < 0:
        raise GdprError("RETENTION_DAYS cannot be negative.")
    summary = PurgeSummary()
    now = now or utcnow()
    summary.password_resets = session.execute(
        delete(PasswordReset).where(or_(PasswordReset.expires_at <= now,
                                        PasswordReset.used_at.is_not(None)))
    ).rowcount
    cutoff = today - timedelta(days=retention_days)
    old_rounds = list(session.scalars(
        select(Round.id).where(Round.state == CLOSED, Round.closes_on.is_not(None),
                               Round.closes_on < cutoff)
    ))
    if not old_rounds:
        return summary
    invitation_ids = list(session.scalars(
        select(Invitation.id).where(
            Invitation.round_id.in_(old_rounds),
            or_(Invitation.email.is_not(None), Invitation.token_salt != WITHDRAWN_SALT),
        )
    ))
    _withdraw_links(session, invitation_ids)
    summary.invitations = len(invitation_ids)
    summary.contact_lists = len(set(session.scalars(
        select(Invitation.round_id).where(Invitation.id.in_(invitation_ids))))) \
        if invitation_ids else 0
    drafts = list(session.scalars(
        select(Response.id).where(Response.round_id.in_(old_rounds), Response.status == DRAFT)
    ))
    _delete_responses(session, drafts)
    summary.drafts = len(drafts)
    summary.rounds = old_rounds
    session.flush()
    return summary

