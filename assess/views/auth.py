from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from ..auth import verify_password
from ..db import get_session
from ..forms import LoginForm
from ..models import User

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a local path; anything with a scheme or host would be an open redirect."""
    if not target:
        return url_for("main.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("main.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = get_session().scalar(select(User).where(func.lower(User.email) == email))
        if verify_password(user, form.password.data) and user.is_enabled:
            lang = session.get("lang")
            session.clear()  # a new session at login: no fixation
            if lang:
                session["lang"] = lang
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        error = _("The email address or password is not correct.")
    return render_template("auth/login.html", form=form, error=error), 200 if not error else 401


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("main.home"))
