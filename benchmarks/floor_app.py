"""The stack's floor: a tiny WSGI app (Flask + SQLAlchemy Core), not part of the product.

`gunicorn -c benchmarks/floor_gunicorn.py benchmarks.floor_app:app` with DATABASE_URL set,
on the same database and with the same worker count as the product, gives the
figures the product is measured against:

- GET  /bare            a bare Flask endpoint (no database)
- POST /insert-core     one response and 35 answers inserted with SQLAlchemy Core in one
                        transaction: the least a stored submit can cost
- POST /insert-orm      the same through 36 ORM objects

Rows go into the real `responses` and `answers` tables of round FLOOR_ROUND_ID, so the
indexes, constraints and table sizes are those the product writes to.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

ITEMS = [f"floor-{n}" for n in range(35)]

metadata = MetaData()
responses = Table(
    "responses", metadata,
    Column("id", Integer, primary_key=True),
    Column("round_id", Integer),
    Column("respondent_key", String(128)),
    Column("status", String(10)),
    Column("submitted_at", DateTime),
    Column("updated_at", DateTime),
)
answers = Table(
    "answers", metadata,
    Column("id", Integer, primary_key=True),
    Column("response_id", Integer),
    Column("item_id", String(64)),
    Column("value", Integer),
    Column("dont_know", Boolean),
    Column("text", Text),
)


class Base(DeclarativeBase):
    pass


class FloorResponse(Base):
    __tablename__ = "responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int]
    respondent_key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(10))
    submitted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class FloorAnswer(Base):
    __tablename__ = "answers"
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int]
    item_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[int | None]
    dont_know: Mapped[bool]
    text: Mapped[str | None]


def _engine():
    url = os.environ["DATABASE_URL"]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _tune(dbapi_connection, _record):
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://"),
                         pool_pre_ping=True)


app = Flask(__name__)
engine = _engine()
ROUND_ID = int(os.environ.get("FLOOR_ROUND_ID", "1"))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@app.get("/bare")
def bare():
    return "ok"


@app.post("/insert-core")
def insert_core():
    now = _now()
    with engine.begin() as conn:
        response_id = conn.execute(
            responses.insert().returning(responses.c.id),
            {"round_id": ROUND_ID, "respondent_key": secrets.token_hex(12), "status": "submitted",
             "submitted_at": now, "updated_at": now},
        ).scalar_one()
        conn.execute(answers.insert(), [
            {"response_id": response_id, "item_id": item, "value": 1 + n % 5,
             "dont_know": False, "text": None}
            for n, item in enumerate(ITEMS)
        ])
    return "stored", 201


@app.post("/insert-orm")
def insert_orm():
    now = _now()
    with Session(engine) as session, session.begin():
        response = FloorResponse(round_id=ROUND_ID, respondent_key=secrets.token_hex(12),
                                 status="submitted", submitted_at=now, updated_at=now)
        session.add(response)
        session.flush()
        session.add_all([
            FloorAnswer(response_id=response.id, item_id=item, value=1 + n % 5, dont_know=False)
            for n, item in enumerate(ITEMS)
        ])
    return "stored", 201


def post_fork(_server, _worker):
    engine.dispose(close=False)
