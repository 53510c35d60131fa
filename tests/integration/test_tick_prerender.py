"""The daily run pre-renders the report PDFs the cache lacks, also of rounds closed by
hand, and on PostgreSQL only one run works at a time."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.pool import NullPool
from tiny_import import TINY, import_rows

from assess.models import Network, RenderedReport, Round
from assess.questionnaire import load_questionnaire_file
from assess.services import schedule
from assess.services.questionnaires import load_into_db

TODAY = date.today()


def rows(network: str, count: int) -> list[str]:
    """`count` answers of the tiny questionnaire, each from an organisation of its own."""
    return [f"R1,{network},2026-spring,{network}-{i},{network} org {i},2026-03-15T10:00:00,"
            + ",".join(["3"] * 11) + "," for i in range(count)]


@pytest.fixture
def closed_by_hand(db, runner, tmp_path):
    """North (4 respondents) and South (2, fewer than the questionnaire's 3: suppressed),
    both open until ten days from now and closed early with `assess rounds close`."""
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    import_rows(runner, tmp_path, rows("North", 4) + rows("South", 2))
    ids = {name: db.scalar(select(Round.id).join(Round.network).where(Network.name == name))
           for name in ("North", "South")}
    db.execute(update(Round).values(state="open", closes_on=TODAY + timedelta(days=10)))
    db.commit()
    for name in ids:
        result = runner.invoke(args=["rounds", "close", "--network", name,
                                     "--period", "2026-spring"])
        assert result.exit_code == 0, result.output
    db.rollback()
    return ids


def run_tick(runner) -> str:
    result = runner.invoke(args=["rounds", "tick", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def cached_keys(db) -> set[str]:
    db.rollback()  # a new snapshot: the command committed on its own connection
    return set(db.scalars(select(RenderedReport.key)))


def pdf_keys(round_id: int, languages=("sv", "fi", "en")) -> set[str]:
    return {f"round:{round_id}:pdf:{lang}" for lang in languages}


def test_tick_prerenders_the_pdfs_of_a_round_closed_with_rounds_close(closed_by_hand, db,
                                                                       runner, render_calls):
    output = run_tick(runner)
    assert "Rounds closed: 0" in output and "Report PDFs rendered: 3" in output
    assert len(render_calls) == 3
    assert cached_keys(db) == pdf_keys(closed_by_hand["North"])


def test_a_second_tick_renders_nothing_when_every_pdf_is_cached(closed_by_hand, runner,
                                                                render_calls):
    run_tick(runner)
    again = run_tick(runner)
    assert "Report PDFs rendered: 0" in again
    assert len(render_calls) == 3


def test_tick_does_not_prerender_a_suppressed_round(closed_by_hand, app, db, runner,
                                                    render_calls):
    app.config["LANGUAGES"] = ["en"]
    run_tick(runner)
    assert cached_keys(db) == pdf_keys(closed_by_hand["North"], ["en"])
    assert not any(key.startswith(f"round:{closed_by_hand['South']}:") for key in cached_keys(db))


def test_tick_renders_again_the_pdfs_of_a_round_whose_data_changed(closed_by_hand, app, db,
                                                                   runner, render_calls):
    app.config["LANGUAGES"] = ["en"]
    run_tick(runner)
    db.execute(update(Round).where(Round.id == closed_by_hand["North"])
               .values(data_version=Round.data_version + 1))
    db.commit()
    assert "Report PDFs rendered: 1" in run_tick(runner)
    assert "Report PDFs rendered: 0" in run_tick(runner)
    assert len(render_calls) == 2


def test_tick_leaves_a_round_closed_weeks_ago_to_its_first_download(closed_by_hand, db,
                                                                    runner, render_calls):
    db.execute(update(Round).values(closes_on=TODAY - schedule.PRERENDER_WINDOW
                                    - timedelta(days=1)))
    db.commit()
    assert "Report PDFs rendered: 0" in run_tick(runner)
    assert render_calls == [] and cached_keys(db) == set()


def test_tick_renders_at_most_its_limit_and_the_next_tick_goes_on(closed_by_hand, app, db,
                                                                   render_calls):
    def tick():
        with app.app_context():
            return schedule.tick(db, TODAY, lambda mail: None, "secret", "https://x",
                                 min_respondents=app.config["MIN_RESPONDENTS"],
                                 prerender_limit=2).prerendered

    assert [tick(), tick(), tick()] == [2, 1, 0]
    assert len(render_calls) == 3
    assert cached_keys(db) == pdf_keys(closed_by_hand["North"])


# -- one tick at a time (PostgreSQL) ------------------------------------------------------------


@pytest.fixture
def other_session(db):
    """A connection of another process, as another host's tick would have (PostgreSQL)."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; SQLite is one host's database")
    engine = create_engine(db.get_bind().url, poolclass=NullPool)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def try_lock(conn) -> bool:
    got = conn.scalar(select(func.pg_try_advisory_lock(schedule.TICK_LOCK_KEY)))
    if got:
        conn.scalar(select(func.pg_advisory_unlock(schedule.TICK_LOCK_KEY)))
    conn.commit()
    return got


def test_a_tick_while_another_holds_the_lock_does_nothing_and_says_so(closed_by_hand, app, db,
                                                                      runner, render_calls,
                                                                      other_session):
    app.config["LANGUAGES"] = ["en"]
    db.execute(update(Round).where(Round.id == closed_by_hand["South"])
               .values(state="open", closes_on=TODAY - timedelta(days=1)))
    db.commit()
    other_session.scalar(select(func.pg_advisory_lock(schedule.TICK_LOCK_KEY)))
    other_session.commit()
    output = run_tick(runner)
    assert "Another `assess rounds tick` is running" in output
    assert "Rounds closed" not in output
    assert render_calls == [] and cached_keys(db) == set()
    assert db.get(Round, closed_by_hand["South"]).state == "open"

    other_session.scalar(select(func.pg_advisory_unlock(schedule.TICK_LOCK_KEY)))
    other_session.commit()
    output = run_tick(runner)
    assert "Rounds closed: 1" in output and "Report PDFs rendered: 1" in output


def test_the_tick_lets_go_of_its_lock_when_it_ends_even_by_an_error(db, runner, other_session,
                                                                    monkeypatch):
    run_tick(runner)
    assert try_lock(other_session)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(schedule, "tick", broken)
    result = runner.invoke(args=["rounds", "tick", "--today", TODAY.isoformat()])
    assert isinstance(result.exception, RuntimeError)
    assert try_lock(other_session)
