"""SIGTERM to the gunicorn master under load: the requests in flight finish and are stored."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

from live import Gunicorn, count, member, prepare_round, server_env, submit

WORKERS = 3


def test_sigterm_lets_the_submits_in_flight_finish(pg_database, secret, hook_dir, tmp_path):
    url = pg_database.url
    # One round per member: submits to one round take turns on its row lock.
    tokens = [prepare_round(url, secret, 1, network=f"Network {n}")[0] for n in range(WORKERS)]
    server = Gunicorn(server_env(url, secret, FAULT_HOOK_DIR=str(hook_dir),
                                 GUNICORN_GRACEFUL_TIMEOUT="30"),
                      tmp_path, workers=WORKERS, hooks=True).start()
    try:
        members = [member(server.base, token) for token in tokens]
        (hook_dir / "hold").write_text("")
        with ThreadPoolExecutor(WORKERS) as pool:
            futures = [pool.submit(submit, browser, csrf) for browser, csrf in members]
            deadline = time.monotonic() + 30
            while len(list(hook_dir.glob("in-commit-*"))) < WORKERS \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(list(hook_dir.glob("in-commit-*"))) == WORKERS
            # Every worker holds a submit between its flush and its commit: stop the server.
            server.process.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert server.process.poll() is None, "the master must wait for its workers"
            (hook_dir / "hold").unlink()
            statuses = [future.result(timeout=60)[0] for future in futures]
        assert statuses == [303] * WORKERS
        assert server.process.wait(30) == 0
        assert count(url, "SELECT count(*) FROM responses WHERE status = 'submitted'") == WORKERS
    finally:
        server.stop()
