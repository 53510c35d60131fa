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
    from .views import admin, main, national, reports, rounds, survey
    from .views import auth as auth_views

    for blueprint in (main.bp, auth_views.bp, reports.bp, national.bp, admin.bp, rounds.bp,
                      survey.bp):
        app.register_blueprint(blueprint)


def register_error_handlers(app: Flask) -> None:
    from .views import errors

    errors.register(app)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
