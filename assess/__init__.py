"""assess: survey and maturity assessment for collaboration networks."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then the environment, then `test_config`."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    from . import config

    config.configure(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_commands(app)
    return app


def register_commands(app: Flask) -> None:
    """The project's commands also under `flask --app assess` and the test CLI runner."""
    from .cli import PROJECT_COMMANDS

    for command in PROJECT_COMMANDS:
        app.cli.add_command(command)


def register_extensions(app: Flask) -> None:
    from . import auth, db, i18n, limiter

    db.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    limiter.init_app(app)
    from flask_wtf.csrf import CSRFProtect

    CSRFProtect(app)


def register_blueprints(app: Flask) -> None:
    from .views import admin, main, national, practices, regions, reports, rounds, survey
    from .views import auth as auth_views

    for blueprint in (main.bp, auth_views.bp, reports.bp, national.bp, admin.bp, rounds.bp,
                      survey.bp, regions.bp, practices.bp):
        app.register_blueprint(blueprint)
    from .views import account

    app.register_blueprint(account.bp)


def register_error_handlers(app: Flask) -> None:
    from .views import errors

    errors.register(app)


#: The Content-Security-Policy of every response: no inline script or style anywhere.
#: Inline SVG charts carry presentation attributes instead of style= (reports/charts.py);
#: `data:` images are the PNG/SVG charts some pages embed as data URIs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def register_security_headers(app: Flask) -> None:
    """Response headers, request-input checks and token masking in the logs."""
    from flask import render_template, request

    from . import logging as token_logging

    token_logging.install(app)
    app.config.setdefault("FORM_VALUE_MAX_LENGTH", 10_000)
    # The invitation list (forms/rounds.py, prefix "list") may be far longer.
    app.config.setdefault("FORM_FIELD_MAX_LENGTHS", {"list-addresses": 1_000_000})

    @app.before_request
    def _check_input():
        """Refuse NUL bytes and overlong values in the query string and form fields.

        Survey answers (`item_*`) are checked by the survey itself, which names the
        question; they are only held to the general length limit here.
        """
        from flask import flash
        from flask_babel import gettext

        limit = int(app.config["FORM_VALUE_MAX_LENGTH"])
        longer = app.config["FORM_FIELD_MAX_LENGTHS"]
        sources = [request.args]
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sources.append(request.form)  # parsing enforces MAX_CONTENT_LENGTH (413)
        problem = None
        for source in sources:
            for name, values in source.lists():
                for value in values:
                    if len(value) > longer.get(name, limit) or len(name) > 200:
                        problem = gettext("A field of the form is too long (at most "
                                          "%(count)s characters).", count=longer.get(name, limit))
                    elif ("\x00" in name or "\x00" in value) and not name.startswith("item_"):
                        problem = gettext("The form contained characters that are not text "
                                          "(NUL). Remove them and try again.")
        if problem is None:
            return None
        flash(problem, "error")
        return render_template("errors/400.html"), 400

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        headers.setdefault("Permissions-Policy",
                           "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
        # Pages, reports and exports hold personal or network data: no browser or proxy
        # may keep a copy. Static files (CSS) may be cached.
        if request.endpoint != "static":
            headers.setdefault("Cache-Control", "no-store")
        if app.config.get("SECURE_COOKIES"):
            headers.setdefault("Strict-Transport-Security",
                               "max-age=31536000; includeSubDomains")
        return response
