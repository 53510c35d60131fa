"""Logins, sessions, second factors and role checks that every page uses.

Sessions live in Flask's signed cookie. What makes them safe to end from the server:

* the user id in the session carries `User.session_version` (`User.get_id()`), so
  raising the version (logout, password change, disabling, a new second factor) makes
  every cookie of that user load nobody;
* the session stores when the login happened and when the user was last seen;
  `_check_session` ends it after `SESSION_IDLE_MINUTES` without a request and
  `SESSION_MAX_HOURS` after the login, whatever the activity;
* Flask-Login's "remember me" cookie is never set and never read.

Second factor: TOTP (RFC 6238, pyotp) and ten single-use recovery codes stored as
scrypt hashes. With `MFA_REQUIRED`, leaders, coordinators, analysts and admins must
have one: after the password, a user with TOTP is asked for a code before being
logged in; a user without one is logged in only to the enrolment page
(`_mfa_gate`) until they have set one up.

Denials are logged: every 403/404 answer to a logged-in user on a route of ours goes
to the `assess.security` logger and into the audit log as `access_denied`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from functools import wraps

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user
from markupsafe import Markup
from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .db import get_session, utcnow
from .logging import loggable
from .models import AuditEvent, RecoveryCode, User

security_log = logging.getLogger("assess.security")

#: Roles that must have a second factor when MFA_REQUIRED is on; members answer by link.
MFA_ROLES = frozenset({"leader", "coordinator", "analyst", "admin"})
#: What a user who must still enrol a second factor may reach.
MFA_SETUP_ENDPOINTS = frozenset({"account.setup_mfa", "auth.logout", "main.set_language",
                                 "static"})
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
#: A login waiting for its second factor expires after this many seconds.
PENDING_LOGIN_SECONDS = 600

# Session keys.
AUTH_AT = "auth_at"  #: when the password was given (epoch seconds): the absolute timeout
SEEN_AT = "seen_at"  #: the last request (epoch seconds): the idle timeout
MFA_OK = "mfa_ok"  #: this session passed a second factor
PENDING_LOGIN = "pending_login"  #: {"user": id, "version": n, "at": epoch, "next": path}

DEFAULTS = {
    "MFA_REQUIRED": True,
    "MFA_ISSUER": "assess",
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_MAX_HOURS": 12,
    # Failed attempts per account; all attempts per client address.
    "LOGIN_RATE_LIMIT_ACCOUNT": "5 per minute;20 per hour",
    "LOGIN_RATE_LIMIT_ADDRESS": "30 per minute;200 per hour",
    "MFA_RATE_LIMIT": "5 per minute;20 per hour",
    "PASSWORD_RESET_RATE_LIMIT": "5 per minute;20 per hour",
    "PASSWORD_RESET_ACCOUNT_LIMIT": "3 per hour",
}


class _LoginManager(LoginManager):
    """Flask-Login without "remember me": no cookie or header can log anyone in."""

    def _load_user_from_remember_cookie(self, cookie):  # noqa: ARG002 - never used
        return None

    def _load_user_from_header(self, header):  # noqa: ARG002 - never used
        return None


login_manager = _LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None
login_manager.session_protection = "strong"

# A valid hash to compare against when the user is unknown, so timing does not tell.
_DUMMY_HASH = generate_password_hash("not a password of anyone", method="scrypt")


def flag(value) -> bool:
    """A setting from the environment may arrive as a string ('false', '0')."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    _configure_cookies(app)
    login_manager.init_app(app)
    app.before_request(_check_session)
    app.after_request(_log_denials)


def _configure_cookies(app: Flask) -> None:
    """HttpOnly, SameSite=Lax, and Secure (with a __Host- name) unless served over plain HTTP."""
    config = app.config
    if "SECURE_COOKIES" not in config:
        base_url = str(config.get("BASE_URL") or "")
        config["SECURE_COOKIES"] = not (app.debug or app.testing
                                        or base_url.startswith("http://"))
    secure = flag(config["SECURE_COOKIES"])
    config["SECURE_COOKIES"] = secure
    config["SESSION_COOKIE_SECURE"] = secure
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if secure and config.get("SESSION_COOKIE_NAME", "session") == "session":
        # __Host- makes browsers refuse the cookie unless Secure, Path=/ and without Domain.
        at_root = (config.get("SESSION_COOKIE_PATH") or config.get("APPLICATION_ROOT")
                   or "/") == "/" and not config.get("SESSION_COOKIE_DOMAIN")
        config["SESSION_COOKIE_NAME"] = "__Host-session" if at_root else "__Secure-session"
    # Never set (remember=False everywhere, and the loader above ignores it); hardened anyway.
    config["REMEMBER_COOKIE_SECURE"] = secure
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = False


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        raw_id, version = user_id.split(":")
        user = get_session().get(User, int(raw_id))
    except (ValueError, TypeError):
        return None
    if user is None or str(user.session_version) != version or not user.is_enabled:
        return None
    return user


# -- passwords ---------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(user: User | None, password: str) -> bool:
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


def set_password(user: User, password: str) -> None:
    """Store a new password (the caller checked the policy) and end every session of the user."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_sessions(user)


def end_all_sessions(user: User) -> None:
    """Every cookie of `user` stops loading them: their id carries the old version."""
    user.session_version = (user.session_version or 1) + 1


def disable_user(user: User) -> None:
    user.is_enabled = False
    end_all_sessions(user)


# -- sessions ----------------------------------------------------------------------------------


def _now() -> int:
    return int(time.time())


def _clear_session() -> None:
    """An empty session that keeps only the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    g.pop("_login_user", None)
    # Flask-WTF keeps this request's CSRF token in g; the page this request still renders
    # must carry a token of the new session, or its forms (log out, language) fail.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def start_session(db: Session, user: User, *, mfa: bool, method: str) -> None:
    """Log `user` in on a new session (nothing from before the login survives)."""
    _clear_session()
    login_user(user, remember=False)
    now = _now()
    session[AUTH_AT] = now
    session[SEEN_AT] = now
    if mfa:
        session[MFA_OK] = True
    user.last_login_at = utcnow()
    from .services import audit

    audit.record("login", user_id=user.id, target=f"user:{user.id}", detail=method,
                 session=db, commit=False)
    db.commit()


def keep_session(user: User, *, mfa: bool | None = None) -> None:
    """After raising the user's session version: keep this session, end all the others."""
    auth_at = session.get(AUTH_AT, _now())
    had_mfa = session.get(MFA_OK, False)
    _clear_session()
    login_user(user, remember=False)
    session[AUTH_AT] = auth_at
    session[SEEN_AT] = _now()
    if had_mfa if mfa is None else mfa:
        session[MFA_OK] = True


def end_session() -> None:
    _clear_session()


def begin_pending_login(user: User, next_path: str) -> None:
    """Password accepted, second factor to come: nobody is logged in yet."""
    _clear_session()
    session[PENDING_LOGIN] = {"user": user.id, "version": user.session_version, "at": _now(),
                              "next": next_path}


def pending_login(db: Session) -> tuple[User, str] | None:
    """The user (and where to go next) whose password was accepted a moment ago, if any."""
    pending = session.get(PENDING_LOGIN)
    if not isinstance(pending, dict):
        return None
    if _now() - int(pending.get("at", 0)) > PENDING_LOGIN_SECONDS:
        session.pop(PENDING_LOGIN, None)
        return None
    user = db.get(User, pending.get("user"))
    if user is None or not user.is_enabled or user.session_version != pending.get("version"):
        session.pop(PENDING_LOGIN, None)
        return None
    return user, str(pending.get("next") or "")


def recently_authenticated(seconds: int = 600) -> bool:
    """The password was given in this session less than `seconds` ago."""
    auth_at = session.get(AUTH_AT)
    return isinstance(auth_at, int) and _now() - auth_at <= seconds


def _check_session():
    """Idle and absolute timeouts, then the second-factor gate; before every request."""
    if request.endpoint == "static":
        return None
    if "_user_id" not in session:
        return None
    now = _now()
    config = current_app.config
    idle = int(config["SESSION_IDLE_MINUTES"]) * 60
    lifetime = int(config["SESSION_MAX_HOURS"]) * 3600
    auth_at, seen_at = session.get(AUTH_AT), session.get(SEEN_AT)
    if (not isinstance(auth_at, int) or not isinstance(seen_at, int)
            or now - seen_at > idle or now - auth_at > lifetime):
        user_id = str(session.get("_user_id", "")).partition(":")[0]
        security_log.info("session expired: user=%s", loggable(user_id))
        _clear_session()
        _record_expiry(user_id)
        flash(_("Your session has ended. Please log in again."), "info")
        return None
    session[SEEN_AT] = now
    return _mfa_gate()


def _record_expiry(user_id: str) -> None:
    from .services import audit

    if not user_id.isdigit():
        return
    db = get_session()
    try:
        audit.record("session_expired", user_id=int(user_id), target=f"user:{user_id}",
                     session=db)
    except SQLAlchemyError:
        db.rollback()
        security_log.exception("the session_expired event could not be stored")


def mfa_required_for(user: User) -> bool:
    return flag(current_app.config.get("MFA_REQUIRED", True)) and bool(
        user.role_names & MFA_ROLES)


def _mfa_gate():
    if not current_user.is_authenticated or session.get(MFA_OK):
        return None
    if current_user.totp_secret:
        # A session that never passed the user's second factor (it predates it): log in again.
        _clear_session()
        return redirect(url_for("auth.login"))
    if mfa_required_for(current_user) and request.endpoint not in MFA_SETUP_ENDPOINTS:
        return redirect(url_for("account.setup_mfa"))
    return None


# -- TOTP and recovery codes -------------------------------------------------------------------


def setup_secret(user: User, nonce: str) -> str:
    """The TOTP secret offered during enrolment, derived so that no cookie has to carry it."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(),
                      f"totp-setup:{user.id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


def totp_uri(secret: str, email: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=email,
                                               issuer_name=current_app.config["MFA_ISSUER"])


def qr_svg(data: str) -> Markup:
    """A QR code as inline SVG (no style attributes, so the CSP's style-src 'self' holds)."""
    import segno

    svg = segno.make(data, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    return Markup(svg)  # noqa: S704 - segno's own markup; the data is in paths, not text


def _code_digits(code: str) -> str:
    return re.sub(r"\s", "", code or "")


def _last_totp_step(db: Session, user_id: int) -> int:
    detail = db.scalar(
        select(AuditEvent.detail)
        .where(AuditEvent.user_id == user_id, AuditEvent.action == "mfa_totp_used")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    try:
        return int(detail or -1)
    except ValueError:
        return -1


def verify_totp(db: Session, user: User, code: str, secret: str | None = None) -> bool:
    """Check a 6-digit code (one step of clock drift either way); each code works once.

    The last step used is kept in the audit log (`mfa_totp_used`), so a code seen by
    someone else cannot be replayed within its 30 seconds. A new secret being enrolled
    (`secret` given) has no history yet.
    """
    import pyotp

    code = _code_digits(code)
    secret = secret or user.totp_secret
    if not secret or not re.fullmatch(r"\d{6}", code):
        return False
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time())
    last = -1 if secret != user.totp_secret else _last_totp_step(db, user.id)
    for step in (current - 1, current, current + 1):
        if step > last and hmac.compare_digest(totp.generate_otp(step), code):
            from .services import audit

            audit.record("mfa_totp_used", user_id=user.id, target=f"user:{user.id}",
                         detail=str(step), session=db, commit=False)
            return True
    return False


def _normalize_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", (code or "").lower())


def new_recovery_codes(db: Session, user: User) -> list[str]:
    """Ten new single-use codes (the old ones die); shown once, stored as scrypt hashes."""
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _number in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        db.add(RecoveryCode(user_id=user.id,
                            code_hash=generate_password_hash(raw, method="scrypt")))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def use_recovery_code(db: Session, user: User, code: str) -> bool:
    """True when `code` is one of the user's unused codes; it is used up at once."""
    code = _normalize_recovery_code(code)
    if len(code) != 10 or any(c not in _RECOVERY_ALPHABET for c in code):
        return False
    unused = db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                   RecoveryCode.used_at.is_(None)))
    for row in unused:
        if check_password_hash(row.code_hash, code):
            claimed = db.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
            ).rowcount
            return bool(claimed)
    return False


def recovery_codes_left(db: Session, user: User) -> int:
    return len(db.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all())


def enrol_totp(db: Session, user: User, secret: str) -> list[str]:
    """Make `secret` the user's second factor; returns the new recovery codes."""
    user.totp_secret = secret
    end_all_sessions(user)
    return new_recovery_codes(db, user)


def reset_mfa(db: Session, user: User) -> None:
    """Remove the second factor (lost phone); the user enrols again at the next login."""
    user.totp_secret = None
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    end_all_sessions(user)


# -- role checks and denials -------------------------------------------------------------------


def roles_required(*roles: str) -> Callable:
    """Let a view through only for logged-in users holding one of `roles`.

    Anonymous users are sent to the login page; others get 404, so that a page
    outside one's scope cannot be told apart from one that does not exist.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                security_log.info("login required: endpoint=%s", request.endpoint)
                return login_manager.unauthorized()
            if not (current_user.role_names & set(roles)):
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def login_required(view: Callable) -> Callable:
    """Any logged-in user; anonymous users go to the login page."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            security_log.info("login required: endpoint=%s", request.endpoint)
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapped


def _log_denials(response):
    """Log every 403/404 on one of our routes; logged-in users' also go into the audit log."""
    if response.status_code not in (403, 404) or request.url_rule is None:
        return response
    if request.endpoint == "static":
        return response
    path = loggable(request.path)
    if not current_user.is_authenticated:
        security_log.info("not found or denied: endpoint=%s method=%s path=%s status=%s",
                          request.endpoint, request.method, path, response.status_code)
        return response
    security_log.warning("access denied: user=%s endpoint=%s method=%s path=%s status=%s",
                         current_user.id, request.endpoint, request.method, path,
                         response.status_code)
    from .services import audit

    db = get_session()
    try:
        # Nothing of a refused request is kept; the event is.
        db.rollback()
        audit.record("access_denied", user_id=current_user.id, target=request.endpoint,
                     detail=f"{request.method} {path} -> {response.status_code}", session=db)
    except SQLAlchemyError:
        db.rollback()
        security_log.exception("the access_denied event could not be stored")
    return response
