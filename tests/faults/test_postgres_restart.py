"""PostgreSQL restarted during a submit loop: clear 503 pages, then no 500, nothing lost.

Restarting the server cuts every connection to it, other people's test runs included,
so this runs only in CI (CI set) or when ASSESS_FAULTS_RESTART_POSTGRES=1 says so. It
restarts the cluster `main` of the newest installed version, or the one named by
ASSESS_FAULTS_PG_CLUSTER (e.g. "faults" for a private cluster made with
`pg_createcluster 15 faults -p 5433`, with TEST_DATABASE_URL pointing at its port).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from live import Gunicorn, count, member, prepare_round, server_env, submit
from sqlalchemy import make_url

MEMBERS = 30


def _cluster_version() -> str | None:
    root = Path("/etc/postgresql")
    if not root.is_dir() or not shutil.which("pg_ctlcluster"):
        return None
    versions = sorted((p.name for p in root.iterdir()), key=lambda v: [int(x) for x in
                                                                       v.split(".")])
    return versions[-1] if versions else None


def _restart_postgres(version: str, port: int) -> None:
    cluster = os.environ.get("ASSESS_FAULTS_PG_CLUSTER", "main")
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart"],
                   check=True, capture_output=True, timeout=120)
    for _ in range(60):
        ready = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)],
                               check=False)
        if ready.returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError("PostgreSQL did not come back after the restart")


def submit_until_stored(browser, csrf, statuses: list, deadline: float) -> None:
    """Press submit until it is acknowledged (303), as a member facing a 503 page would."""
    while time.monotonic() < deadline:
        try:
            status, body = submit(browser, csrf)
        except OSError:
            status, body = "connection error", b""
        statuses.append(status)
        if status == 503:
            assert b"Service unavailable" in body
        if status == 303:
            return
        time.sleep(0.2)
    raise AssertionError("a submit was never acknowledged")


@pytest.mark.skipif(not (os.environ.get("CI") or os.environ.get("ASSESS_FAULTS_RESTART_POSTGRES")),
                    reason="restarts the shared PostgreSQL server: runs in CI, or with "
                           "ASSESS_FAULTS_RESTART_POSTGRES=1")
def test_a_postgres_restart_gives_503_pages_and_loses_no_acknowledged_submit(
        pg_database, secret, hook_dir, tmp_path):
    version = _cluster_version()
    if version is None:
        pytest.fail("pg_ctlcluster and /etc/postgresql are needed to restart PostgreSQL")
    url = pg_database.url
    tokens = [token for n in range(3)
              for token in prepare_round(url, secret, MEMBERS // 3, network=f"Network {n}")]
    server = Gunicorn(server_env(url, secret, FAULT_HOOK_DIR=str(hook_dir)), tmp_path,
                      workers=3, hooks=True).start()
    try:
        members = [member(server.base, token) for token in tokens]
        # One submit is held between its flush and its commit while the server restarts.
        (hook_dir / "hold-one").write_text("")
        held_statuses: list = []
        held = threading.Thread(target=lambda: held_statuses.append(submit(*members[0])[0]))
        held.start()
        deadline = time.monotonic() + 30
        while not list(hook_dir.glob("held-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        (held_file,) = list(hook_dir.glob("held-*"))

        loop_statuses: list = []
        loop_deadline = time.monotonic() + 90

        def loop():
            for browser, csrf in members[1:]:
                submit_until_stored(browser, csrf, loop_statuses, loop_deadline)

        submitter = threading.Thread(target=loop)
        submitter.start()
        time.sleep(0.5)
        _restart_postgres(version, make_url(url).port or 5432)
        held_file.unlink()  # the held transaction's connection is gone: its commit fails
        held.join(60)
        submitter.join(100)
        assert held_statuses == [503], held_statuses
        retried: list = []
        submit_until_stored(*members[0], retried, time.monotonic() + 30)
        assert retried == [303]  # no 500 afterwards: the pool dropped the dead connections

        assert set(loop_statuses) <= {303, 503, "connection error"}, loop_statuses
        for browser, csrf in members:  # every member's page works again; resubmits add nothing
            assert submit(browser, csrf)[0] == 303
    finally:
        server.stop()
    assert count(url, "SELECT count(*) FROM responses WHERE status = 'submitted'") == MEMBERS
    assert count(url, "SELECT count(*) FROM responses") == MEMBERS
    assert count(url, "SELECT count(DISTINCT response_id) FROM response_scores") == MEMBERS
