"""The reader's own account: password, second factor, recovery codes, other sessions.

Every form here names its fields explicitly and only those are read, so posting
`role`, `network_id`, `email` or `is_enabled` changes nothing (no mass assignment).
Changing how one logs in asks for the password again, unless it was given in the
last few minutes.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from .. import auth
from ..db import get_session
from ..models import Network, Region
from ..services import audit, passwords
from .auth import password_message

bp = Blueprint("account", __name__, url_prefix="/account")

#: The enrolment's random nonce; the secret itself is derived from it, never stored in a cookie.
SETUP_KEY = "mfa_setup_nonce"


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"),
                            validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)])
    password = PasswordField(_l("New password"),
                             validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)])
    confirm = PasswordField(_l("The new password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords are not the same."))])
    submit = SubmitField(_l("Change the password"))


class SetupMfaForm(FlaskForm):
    code = StringField(_l("The 6-digit code the app shows"),
                       validators=[DataRequired(), Length(max=16)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})
    password = PasswordField(_l("Your password"),
                             validators=[Optional(), Length(max=passwords.MAX_LENGTH)])
    submit = SubmitField(_l("Confirm"))


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(_l("Your password"),
                             validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)])
    submit = SubmitField(_l("Confirm"))


def _user():
    return current_user._get_current_object()


def _password_confirmed(form_field) -> bool:
    """The password field matches, or the password was given in the last ten minutes."""
    if form_field.data:
        if auth.verify_password(_user(), form_field.data):
            return True
        form_field.errors.append(_("The password is not correct."))
        return False
    if auth.recently_authenticated():
        return True
    form_field.errors.append(_("Enter your password to confirm."))
    return False


@bp.route("")
@auth.login_required
def show_account():
    db = get_session()
    user = _user()
    networks = {n.id: n.name for n in db.scalars(select(Network).where(
        Network.id.in_({r.network_id for r in user.roles if r.network_id})))}
    regions = {r.id: r.name for r in db.scalars(select(Region).where(
        Region.id.in_({r.region_id for r in user.roles if r.region_id})))}
    roles = [
        {"role": r.role, "network": networks.get(r.network_id), "region": regions.get(r.region_id)}
        for r in sorted(user.roles, key=lambda r: (r.role, r.network_id or 0, r.region_id or 0))
    ]
    return render_template(
        "account/index.html",
        user=user,
        roles=roles,
        has_mfa=bool(user.totp_secret),
        mfa_required=auth.mfa_required_for(user),
        codes_left=auth.recovery_codes_left(db, user) if user.totp_secret else 0,
        codes_form=ConfirmPasswordForm(prefix="codes"),
        sessions_form=ConfirmPasswordForm(prefix="sessions"),
    )


@bp.route("/password", methods=["GET", "POST"])
@auth.login_required
def change_password():
    db = get_session()
    user = _user()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not auth.verify_password(user, form.current.data):
            form.current.errors.append(_("The current password is not correct."))
        elif form.password.data == form.current.data:
            form.password.errors.append(_("The new password must differ from the current one."))
        elif problem := passwords.password_problem(form.password.data, user.email):
            form.password.errors.append(password_message(problem))
        else:
            auth.set_password(user, form.password.data)
            audit.record("password_changed", user_id=user.id, target=f"user:{user.id}",
                         session=db, commit=False)
            db.commit()
            auth.keep_session(user)
            flash(_("Your password was changed. You were logged out everywhere else."),
                  "success")
            return redirect(url_for("account.show_account"), 303)
    return render_template("account/password.html", form=form), 400 if form.errors else 200


@bp.route("/mfa", methods=["GET", "POST"])
@auth.login_required
def setup_mfa():
    """Set up an authenticator app (or replace one): scan, then confirm with a code."""
    db = get_session()
    user = _user()
    nonce = session.get(SETUP_KEY)
    form = SetupMfaForm()
    if request.method == "GET" or not isinstance(nonce, str):
        nonce = session[SETUP_KEY] = secrets.token_urlsafe(16)
    secret = auth.setup_secret(user, nonce)
    if form.validate_on_submit():
        needs_password = bool(user.totp_secret) or not auth.recently_authenticated()
        password_ok = (_password_confirmed(form.password) if needs_password or form.password.data
                       else True)
        if password_ok and auth.verify_totp(db, user, form.code.data, secret=secret):
            codes = auth.enrol_totp(db, user, secret)
            audit.record("mfa_enrolled", user_id=user.id, target=f"user:{user.id}",
                         session=db, commit=False)
            db.commit()
            session.pop(SETUP_KEY, None)
            auth.keep_session(user, mfa=True)
            return _show_codes(codes, first=True)
        if password_ok:
            form.code.errors.append(_("The code is not correct. Check that the time on your "
                                      "phone is right and enter the code the app shows now."))
    return render_template(
        "account/mfa.html",
        form=form,
        secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        qr=auth.qr_svg(auth.totp_uri(secret, user.email)),
        replacing=bool(user.totp_secret),
        forced=auth.mfa_required_for(user) and not user.totp_secret,
        needs_password=bool(user.totp_secret) or not auth.recently_authenticated(),
    ), 400 if form.errors else 200


def _show_codes(codes: list[str], first: bool):
    return render_template("account/recovery_codes.html", codes=codes, first=first)


@bp.route("/recovery-codes", methods=["POST"])
@auth.login_required
def regenerate_recovery_codes():
    db = get_session()
    user = _user()
    form = ConfirmPasswordForm(prefix="codes")
    if not user.totp_secret:
        flash(_("Set up an authenticator app first."), "error")
        return redirect(url_for("account.show_account"), 303)
    if form.validate_on_submit() and _password_confirmed(form.password):
        codes = auth.new_recovery_codes(db, user)
        audit.record("mfa_recovery_codes_regenerated", user_id=user.id,
                     target=f"user:{user.id}", session=db, commit=False)
        db.commit()
        return _show_codes(codes, first=False)
    flash(_("The recovery codes were not changed: the password is not correct."), "error")
    return redirect(url_for("account.show_account"), 303)


@bp.route("/sessions", methods=["POST"])
@auth.login_required
def end_other_sessions():
    db = get_session()
    user = _user()
    form = ConfirmPasswordForm(prefix="sessions")
    if form.validate_on_submit() and _password_confirmed(form.password):
        auth.end_all_sessions(user)
        audit.record("sessions_ended", user_id=user.id, target=f"user:{user.id}", session=db,
                     commit=False)
        db.commit()
        auth.keep_session(user)
        flash(_("You were logged out everywhere else."), "success")
    else:
        flash(_("Nothing was changed: the password is not correct."), "error")
    return redirect(url_for("account.show_account"), 303)
