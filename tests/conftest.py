"""Fixtures: every database test runs on SQLite and, when reachable, on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket

import pytest
from sqlalchemy import create_engine, make_url, text

from assess import create_app, migrate
from assess.db import make_engine

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
    except OSError:
        return None
    try:
        engine = create_engine(PG_DEFAULT)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception:
        return None
    return PG_DEFAULT


POSTGRES_URL = _postgres_url()
if os.environ.get("ASSESS_REQUIRE_POSTGRES") and not POSTGRES_URL:
    raise RuntimeError("ASSESS_REQUIRE_POSTGRES is set but no PostgreSQL server answers")

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """An SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_migrated():
    """A database of this test run's own, so parallel runs never clobber each other."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL)")
    base = make_url(POSTGRES_URL)
    name = f"assess_test_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(engine) -> None:
    from assess.db import Base

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "assess.sqlite3"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    engine = request.getfixturevalue("postgres_migrated")
    _truncate_all(engine)
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "WTF_CSRF_ENABLED": False,
            "MAIL_BACKEND": "console",
            # Most tests log in with a password alone; tests/security turns MFA back on.
            "MFA_REQUIRED": False,
            # Render slots are per host: tests in parallel processes must not take each
            # other's. tests/integration/test_render_slots_web.py turns them on.
            "PDF_RENDER_SLOTS": 0,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    os.makedirs(app.instance_path, exist_ok=True)
    yield app
    app.extensions["assess.engine"].dispose()


@pytest.fixture
def db(app):
    """A session on the app's database, outside any app context.

    Keeping an app context pushed would make test requests share its `g`, and with it
    the logged-in user and the chosen language, which hides real bugs.
    """
    session = app.extensions["assess.sessionmaker"]()
    yield session
    session.close()


@pytest.fixture
def client(app):
    client = app.test_client()
    # Tests read English unless they choose a language; a visitor's browser would say which.
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def questionnaire_row(db):
    """The flagship questionnaire, loaded."""
    from assess.services import questionnaires

    rows = questionnaires.load_directory(db)
    db.commit()
    return next(r.row for r in rows if r.row.slug == "network-maturity")


@pytest.fixture
def make_region(db):
    from assess.models import Region

    counter = iter(range(1, 10_000))

    def _make(name=None, **kw):
        region = Region(name=name or f"Region {next(counter)}", **kw)
        db.add(region)
        db.flush()
        return region

    return _make


@pytest.fixture
def make_network(db, make_region):
    from assess.models import Network

    counter = iter(range(1, 10_000))

    def _make(name=None, region=None, **kw):
        network = Network(
            name=name or f"Network {next(counter)}", region=region or make_region(), **kw
        )
        db.add(network)
        db.flush()
        return network

    return _make


@pytest.fixture
def make_user(db):
    from assess.services.accounts import create_user

    counter = iter(range(1, 10_000))

    def _make(email=None, role=None, network=None, region=None, password="correct horse battery"):
        user = create_user(
            db,
            email or f"user{next(counter)}@example.org",
            password,
            role,
            network.name if network else None,
            region.name if region else None,
        )
        db.commit()
        return user

    return _make


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email, password="correct horse battery"):
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def render_calls(monkeypatch):
    """Counts real PDF renders: a cached PDF never reaches WeasyPrint."""
    from assess.reports import pdf as pdf_module

    calls = []
    real = pdf_module.render_pdf

    def counting(html, stylesheets=(), **kwargs):
        calls.append(html)
        return real(html, stylesheets, **kwargs)

    monkeypatch.setattr(pdf_module, "render_pdf", counting)
    return calls
