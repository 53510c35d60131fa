"""An import killed half-way (kill -9 while it writes) stores nothing; the rerun succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest
from live import ROOT, VENV_BIN, count

TABLES = ("regions", "networks", "organizations", "rounds", "responses", "answers",
          "response_scores", "round_summaries")


def make_csv(path: Path) -> int:
    from assess.questionnaire import load_questionnaire_file
    from assess.services.demo import build_response_frame, plan_demo
    from assess.services.questionnaires import QUESTIONNAIRE_DIR

    questionnaire = load_questionnaire_file(QUESTIONNAIRE_DIR / "network-maturity.v1.yaml")
    frame = build_response_frame(questionnaire, plan_demo(3, 80, 4, date(2026, 11, 27), 2.0))
    frame.to_csv(path, index=False)
    return len(frame)


def migrate(url: str) -> None:
    from assess import create_app, migrate
    from assess.services import questionnaires

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "TESTING": True})
    migrate.upgrade(app.extensions["assess.engine"])
    session = app.extensions["assess.sessionmaker"]()
    questionnaires.load_directory(session)
    session.commit()
    session.close()
    app.extensions["assess.engine"].dispose()


def writing(url: str, sqlite_path: Path | None) -> bool:
    """True once the import has begun to write its rows (not yet committed)."""
    if sqlite_path is not None:
        wal = Path(f"{sqlite_path}-wal")
        return wal.exists() and wal.stat().st_size > 1_000_000
    return count(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND (query LIKE 'COPY answers%' OR query LIKE 'COPY response_scores%') "
                      "AND state = 'active'") > 0


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_an_import_killed_half_way_stores_nothing_and_the_rerun_succeeds(backend, tmp_path,
                                                                       request):
    sqlite_path = None
    if backend == "sqlite":
        sqlite_path = tmp_path / "assess.sqlite3"
        url = f"sqlite:///{sqlite_path}"
    else:
        url = request.getfixturevalue("pg_database").url
    migrate(url)
    csv = tmp_path / "responses.csv"
    rows = make_csv(csv)
    env = {**os.environ, "DATABASE_URL": url, "ASSESS_SECRET_KEY": "x"}
    command = [str(VENV_BIN / "assess"), "import-responses", str(csv),
               "--questionnaire", "network-maturity"]

    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not writing(url, sqlite_path):
            assert process.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(30)
    assert process.returncode == -signal.SIGKILL

    for table in TABLES:
        assert count(url, f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608

    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"Imported {rows} responses" in rerun.stdout
    assert count(url, "SELECT count(*) FROM responses") == rows
