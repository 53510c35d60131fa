"""The database: declarative Base, one engine per app, one Session per request."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Named constraints: Alembic's batch mode on SQLite needs them to alter tables.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class DatabaseConfigError(RuntimeError):
    """DATABASE_URL names a database this installation cannot reach."""


def _tune_sqlite(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling emits no BEGIN before a SAVEPOINT, which
    # breaks nested transactions; SQLAlchemy's documented fix is to take it over.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside one writer; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin(connection) -> None:
    # A transaction that will write takes the write lock up front (IMMEDIATE): concurrent
    # writers then wait (busy_timeout) instead of failing with "database is locked" when
    # a read turns into a write. Reads stay DEFERRED so they never block writers.
    if connection.get_execution_options().get("sqlite_immediate"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _tune_sqlite)
            event.listen(engine, "begin", _begin)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise DatabaseConfigError(
            f"DATABASE_URL needs the Python package '{exc.name}', which is not installed."
        ) from None
    except Exception as exc:  # NoSuchModuleError, ArgumentError: both mean a bad URL
        raise DatabaseConfigError(f"DATABASE_URL is not usable: {exc}") from None
    return engine


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["assess.engine"] = engine
    app.extensions["assess.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    return current_app.extensions["assess.engine"]


def get_session() -> Session:
    """The Session of this request or app context, opened on first use."""
    if "db_session" not in g:
        session = current_app.extensions["assess.sessionmaker"]()
        if has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS"):
            if session.get_bind().dialect.name == "sqlite":
                session.connection(execution_options={"sqlite_immediate": True})
        g.db_session = session
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
