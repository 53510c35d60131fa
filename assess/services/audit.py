"""The audit log: who did what, when; append-only, and without personal data beyond an id.

Events name the acting user by numeric id (no email, no password, no address), so
the trail survives a GDPR erasure without identifying anyone by itself. Nothing in
the app updates or deletes an event; `gdpr.erase_person` only scrubs an email
address should one ever have slipped into a `detail`.

Call `record(...)` where the thing happens:

    from assess.services import audit
    audit.record("report_viewed", target=f"round:{round_.id}")

In a request, the acting user defaults to the logged-in user and the event is
written with the request's database session and committed at once, so call it
after the view's own commit (or in a view that writes nothing else).
"""

from __future__ import annotations

from flask import has_app_context, has_request_context
from sqlalchemy.orm import Session

from ..models import AuditEvent

#: The actions in use; `record` refuses others so that the log stays searchable.
ACTIONS = frozenset({
    # authentication
    "login", "login_failed", "mfa_failed", "logout", "sessions_ended", "session_expired",
    "password_changed", "password_reset_requested", "password_reset",
    "mfa_enrolled", "mfa_totp_used", "mfa_recovery_code_used",
    "mfa_recovery_codes_regenerated", "mfa_reset",
    # authorisation
    "access_denied",
    # reading and exporting network data
    "report_viewed", "report_exported", "trends_viewed", "region_viewed", "national_viewed",
    "national_exported", "instrument_viewed", "instrument_exported",
    # administration
    "user_created", "user_disabled", "role_granted", "period_created",
    "round_opened", "round_closed", "round_reopened", "round_extended",
    "invitations_created", "invitations_mailed", "reminders_sent", "targets_set",
    "questionnaire_loaded",
    "responses_imported", "practice_published", "practice_unpublished", "practice_edited",
    "practice_deleted", "network_naming_changed",
    # data protection
    "gdpr_export", "gdpr_erase", "purge",
})

MAX_DETAIL = 500
MAX_TARGET = 120


class _Unset:
    pass


_CURRENT_USER = _Unset()


def _current_user_id() -> int | None:
    if not has_request_context():
        return None
    from flask_login import current_user

    return current_user.id if current_user and current_user.is_authenticated else None


def record(
    action: str,
    *,
    target: str | None = None,
    detail: str | None = None,
    user_id: int | None | _Unset = _CURRENT_USER,
    session: Session | None = None,
    commit: bool = True,
) -> AuditEvent:
    """Append one event; `user_id` defaults to the logged-in user (None outside a request).

    `session` defaults to the request's (or CLI command's) session. With `commit=False`
    the event joins the caller's transaction and is stored with the change it records.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to audit.ACTIONS")
    if isinstance(user_id, _Unset):
        user_id = _current_user_id()
    if session is None:
        if not has_app_context():
            raise RuntimeError("audit.record needs an app context or a session")
        from ..db import get_session

        session = get_session()
    event = AuditEvent(
        user_id=user_id,
        action=action,
        target=target[:MAX_TARGET] if target else None,
        detail=detail[:MAX_DETAIL] if detail else None,
    )
    session.add(event)
    if commit:
        session.commit()
    return event
