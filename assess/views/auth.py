"""Logging in (password, then a second factor), logging out, and resetting a forgotten password.

Every answer about an account is the same whether the account exists or not: one
message for an unknown address and a wrong password, one page after asking for a
reset link. Attempts are limited per account and per client address.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from .. import auth
from ..db import get_session
from ..forms import LoginForm
from ..limiter import client_address, forgive_attempts, limiter, spend_attempt
from ..logging import loggable
from ..mail import OutgoingMail, sender_for
from ..services import audit, passwords
from ..services.accounts import find_user

bp = Blueprint("auth", __name__)
logger = logging.getLogger("assess.security")

#: Where the reset link's id and check are kept once the link has been opened.
RESET_KEY = "password_reset"

#: The reader's text for each password-policy problem (services.passwords.PROBLEMS).
PASSWORD_MESSAGES = {
    "too_short": _l("The password must be at least %(count)s characters long.",
                    count=passwords.MIN_LENGTH),
    "too_long": _l("The password is too long (at most %(count)s characters).",
                   count=passwords.MAX_LENGTH),
    "common": _l("This password is too common: it is, or is made from, a password that many "
                 "people use. Choose another one, for example several unrelated words."),
    "sequence": _l("This password is too easy to guess: it repeats characters or runs along "
                   "the keyboard or the alphabet. Choose another one."),
    "context": _l("This password is too easy to guess: it is made from your email address or "
                  "the name of this service. Choose another one."),
}


def password_message(code: str) -> str:
    return str(PASSWORD_MESSAGES[code])


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "text",
                                  "spellcheck": "false", "autocapitalize": "off"})
    submit = SubmitField(_l("Continue"))


class ForgotForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Send me a link"))


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"),
                             validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)])
    confirm = PasswordField(_l("The new password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords are not the same."))])
    submit = SubmitField(_l("Save the password"))


# -- rate limits -------------------------------------------------------------------------------


def _address_key() -> str:
    return "address:" + client_address()


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _pending_key() -> str:
    pending = session.get(auth.PENDING_LOGIN)
    user = pending.get("user") if isinstance(pending, dict) else None
    return f"pending:{user}"


def _config_limit(key: str):
    return lambda: current_app.config[key]


def _too_many(_limit):
    logger.warning("rate limit reached: endpoint=%s address=%s", request.endpoint,
                   loggable(client_address()))
    response = make_response(render_template("auth/too_many_requests.html"), 429)
    response.headers["Retry-After"] = "60"
    return response


# -- logging in --------------------------------------------------------------------------------


def safe_next(target: str | None) -> str:
    """Only a local path; anything with a scheme or host would be an open redirect."""
    if not target:
        return url_for("main.home")
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target)):
        return url_for("main.home")
    return target


def _after_login(user, next_path: str):
    if auth.mfa_required_for(user) and not user.totp_secret:
        return redirect(url_for("account.setup_mfa"))
    return redirect(safe_next(next_path))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_config_limit("LOGIN_RATE_LIMIT_ADDRESS"), key_func=_address_key,
               methods=["POST"], on_breach=_too_many)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        account_limit = current_app.config["LOGIN_RATE_LIMIT_ACCOUNT"]
        if not spend_attempt(account_limit, "login", _account_key()):
            return _too_many(None)
        db = get_session()
        user = find_user(db, form.email.data)
        if auth.verify_password(user, form.password.data) and user.is_enabled:
            forgive_attempts(account_limit, "login", _account_key())
            next_path = safe_next(request.args.get("next"))
            if user.totp_secret:
                auth.begin_pending_login(user, next_path)
                return redirect(url_for("auth.login_code"))
            auth.start_session(db, user, mfa=False, method="password")
            return _after_login(user, next_path)
        reason = ("unknown account" if user is None
                  else "account disabled" if not user.is_enabled else "wrong password")
        logger.warning("login failed: user=%s reason=%s address=%s",
                       user.id if user else "-", reason, loggable(client_address()))
        audit.record("login_failed", user_id=user.id if user else None,
                     target=f"user:{user.id}" if user else None, detail=reason, session=db)
        error = _("The email address or password is not correct.")
    return render_template("auth/login.html", form=form, error=error), 200 if not error else 401


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_config_limit("LOGIN_RATE_LIMIT_ADDRESS"), key_func=_address_key,
               methods=["POST"], on_breach=_too_many)
def login_code():
    db = get_session()
    pending = auth.pending_login(db)
    if pending is None:
        flash(_("Log in with your email address and password first."), "info")
        return redirect(url_for("auth.login"))
    user, next_path = pending
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        code_limit = current_app.config["MFA_RATE_LIMIT"]
        if not spend_attempt(code_limit, "code", _pending_key()):
            return _too_many(None)
        code = form.code.data
        if auth.verify_totp(db, user, code):
            forgive_attempts(code_limit, "code", _pending_key())
            auth.start_session(db, user, mfa=True, method="password+totp")
            return redirect(safe_next(next_path))
        if auth.use_recovery_code(db, user, code):
            forgive_attempts(code_limit, "code", _pending_key())
            audit.record("mfa_recovery_code_used", user_id=user.id, target=f"user:{user.id}",
                         session=db, commit=False)
            auth.start_session(db, user, mfa=True, method="password+recovery code")
            left = auth.recovery_codes_left(db, user)
            flash(_("You logged in with a recovery code; %(count)s codes are left. Make new "
                    "ones on your account page if you are running out.", count=left), "info")
            return redirect(safe_next(next_path))
        db.rollback()
        logger.warning("second factor failed: user=%s address=%s", user.id,
                       loggable(client_address()))
        audit.record("mfa_failed", user_id=user.id, target=f"user:{user.id}", session=db)
        error = _("The code is not correct, or it has been used already: each code works "
                  "once. Wait for the next code in the app and enter it, check the time on "
                  "your phone, or use a recovery code.")
    return render_template("auth/code.html", form=form, error=error), 200 if not error else 401


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        db = get_session()
        user = current_user._get_current_object()
        auth.end_all_sessions(user)
        audit.record("logout", user_id=user.id, target=f"user:{user.id}", session=db)
    auth.end_session()
    return redirect(url_for("main.home"))


# -- a forgotten password ----------------------------------------------------------------------


def reset_link(token: str) -> str:
    """Built from BASE_URL only: the Host header is the client's to choose."""
    return current_app.config["BASE_URL"].rstrip("/") + "/password/reset/" + token


def _reset_mail(user, link: str) -> OutgoingMail:
    with force_locale(user.language):
        subject = _("Resetting your password")
        body = "\n\n".join([
            _("Hello,"),
            _("Someone, probably you, asked to reset the password of your account at assess. "
              "Choose a new password through this link within one hour:") + "\n" + link,
            _("The link works once. If you did not ask for it, ignore this message: your "
              "password stays as it is."),
            _("This message was sent automatically; please do not reply to it."),
        ]) + "\n"
    return OutgoingMail(user.email, subject, body, user.language)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_config_limit("PASSWORD_RESET_RATE_LIMIT"), key_func=_address_key,
               methods=["POST"], on_breach=_too_many)
@limiter.limit(_config_limit("PASSWORD_RESET_ACCOUNT_LIMIT"), key_func=_account_key,
               methods=["POST"], on_breach=_too_many)
def forgot_password():
    form = ForgotForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot.html", form=form), 400 if form.errors else 200
    db = get_session()
    user = find_user(db, form.email.data)
    if user is not None and user.is_enabled:
        token = passwords.create_reset(db, user)
        audit.record("password_reset_requested", user_id=user.id, target=f"user:{user.id}",
                     session=db)
        try:
            sender_for(current_app)(_reset_mail(user, reset_link(token)))
        except Exception:  # noqa: BLE001 - the answer must not tell that the account exists
            logger.exception("the password reset mail could not be sent: user=%s", user.id)
    # The same page whether or not the address has an account.
    return render_template("auth/forgot_sent.html")


@bp.route("/password/reset/<path:token>")
@limiter.limit(lambda: current_app.config["SURVEY_LINK_RATE_LIMIT"], key_func=_address_key,
               on_breach=_too_many)
def open_reset_link(token: str):
    """Exchange the link for a mark in the session, so the token leaves the address bar."""
    reset = passwords.find_reset(get_session(), token)
    if reset is None:
        return render_template("auth/reset_not_valid.html"), 404
    auth.end_session()
    session[RESET_KEY] = {"id": reset.id, "check": reset.token_hash[:32]}
    return redirect(url_for("auth.reset_password"))


def _session_reset():
    mark = session.get(RESET_KEY)
    if not isinstance(mark, dict):
        return None
    db = get_session()
    from ..models import PasswordReset

    row = db.get(PasswordReset, mark.get("id"))
    if row is None or row.token_hash[:32] != mark.get("check"):
        return None
    # find_reset checks use, expiry and the account once more.
    return passwords.find_reset_row(db, row)


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password():
    db = get_session()
    reset = _session_reset()
    if reset is None:
        session.pop(RESET_KEY, None)
        return render_template("auth/reset_not_valid.html"), 404
    from ..models import User

    user = db.get(User, reset.user_id)
    form = NewPasswordForm()
    if form.validate_on_submit():
        problem = passwords.password_problem(form.password.data, user.email)
        if problem:
            form.password.errors.append(password_message(problem))
        elif passwords.use_reset(db, reset):
            auth.set_password(user, form.password.data)
            audit.record("password_reset", user_id=user.id, target=f"user:{user.id}",
                         session=db, commit=False)
            db.commit()
            auth.end_session()
            flash(_("Your password was changed. Log in with the new password."), "success")
            return redirect(url_for("auth.login"))
        else:
            db.rollback()
            session.pop(RESET_KEY, None)
            return render_template("auth/reset_not_valid.html"), 404
    status = 400 if form.errors else 200
    return render_template("auth/reset.html", form=form), status
