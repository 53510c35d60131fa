"""Logins and role checks that every page uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, abort
from flask_login import LoginManager, current_user
from werkzeug.security import check_password_hash, generate_password_hash

from .db import get_session
from .models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None
login_manager.session_protection = "strong"

# A valid hash to compare against when the user is unknown, so timing does not tell.
_DUMMY_HASH = generate_password_hash("not a password of anyone", method="scrypt")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)


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


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(user: User | None, password: str) -> bool:
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


def roles_required(*roles: str) -> Callable:
    """Let a view through only for logged-in users holding one of `roles`.

    Anonymous users are sent to the login page; others get 404, so that a page
    outside one's scope cannot be told apart from one that does not exist.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not (current_user.role_names & set(roles)):
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator
