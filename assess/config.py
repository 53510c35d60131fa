"""Settings: defaults, then the environment (DATABASE_URL, ASSESS_*), then test overrides."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULTS = {
    "MIN_RESPONDENTS": 5,
    "MAIL_BACKEND": "console",  # console | smtp
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_SENDER": "assess@localhost",
    "BASE_URL": "http://127.0.0.1:5000",
    "LANGUAGES": ["sv", "fi", "en"],
    "BABEL_DEFAULT_LOCALE": "sv",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    # The longest text field of a multipart form (Flask's default, made explicit): a pasted
    # invitation list over this answers 413 with a page that says to choose the list as a
    # file instead. Files are not counted here, only against MAX_CONTENT_LENGTH.
    "MAX_FORM_MEMORY_SIZE": 500_000,
    # Mails sent within one request ("invite", "mail waiting invitations", "send reminders
    # now"): about 0.1-0.3 s each over SMTP, so a batch stays well inside the worker timeout.
    "MAILS_PER_REQUEST": 100,
    # PDFs rendering at once on this host (assess.render_slots); a download beyond them
    # answers 503 "try again in a few seconds" rather than taking a worker the answering
    # pages need. gunicorn.conf.py sets half the workers; 0 means no limit.
    "PDF_RENDER_SLOTS": 2,
    "WTF_CSRF_TIME_LIMIT": None,  # the session lifetime bounds the token instead
}


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the platform gives."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def default_database_url(instance_path: str) -> str:
    return f"sqlite:///{Path(instance_path) / 'assess.sqlite3'}"


def load_secret_key(instance_path: str) -> str:
    """A random key made once and kept in the instance folder, so no secret is in code."""
    key_file = Path(instance_path) / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    # O_EXCL: when two workers start at once, the second reads the first one's key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def configure(app, test_config: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("ASSESS")
    if os.environ.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if test_config:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.setdefault("DATABASE_URL", default_database_url(app.instance_path))
    app.config["DATABASE_URL"] = normalize_database_url(app.config["DATABASE_URL"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(app.instance_path)
    app.config["MIN_RESPONDENTS"] = int(app.config["MIN_RESPONDENTS"])
