"""4 gunicorn workers on one SQLite file, 200 submits at once: none fails on a lock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from live import Gunicorn, count, member, prepare_round, server_env, submit

SUBMITS = 200


def test_200_parallel_submits_on_sqlite_with_4_workers_all_store(secret, tmp_path):
    url = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    # Four rounds, as four networks answering at once would be.
    tokens = [token for n in range(4)
              for token in prepare_round(url, secret, SUBMITS // 4, network=f"Network {n}")]
    server = Gunicorn(server_env(url, secret), tmp_path, workers=4).start()
    try:
        with ThreadPoolExecutor(16) as pool:
            members = list(pool.map(lambda token: member(server.base, token), tokens))
        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(lambda m: submit(*m), members))
        statuses = [status for status, _ in results]
        assert statuses.count(303) == SUBMITS, {s: statuses.count(s) for s in set(statuses)}
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    assert "database is locked" not in log
    assert "Traceback" not in log
    assert count(url, "SELECT count(*) FROM responses WHERE status = 'submitted'") == SUBMITS
    assert count(url, "SELECT count(DISTINCT response_id) FROM response_scores") == SUBMITS
