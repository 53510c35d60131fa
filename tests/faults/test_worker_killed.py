"""kill -9 of the gunicorn worker in the middle of a submit: nothing half-stored."""

from __future__ import annotations

import os
import signal
import threading
import time

from live import Gunicorn, count, member, prepare_round, server_env, submit

STORED = ("SELECT count(*) FROM responses r JOIN invitations i ON i.id = r.invitation_id "
          "WHERE i.token_hash = :hash AND r.status = 'submitted'")
SCORES = ("SELECT count(*) FROM response_scores s JOIN responses r ON r.id = s.response_id "
          "JOIN invitations i ON i.id = r.invitation_id WHERE i.token_hash = :hash")


def test_a_submit_whose_worker_is_killed_stores_nothing_and_the_retry_stores_one(
        pg_database, secret, hook_dir, tmp_path):
    from assess.services.surveys import hash_token

    url = pg_database.url
    (token,) = prepare_round(url, secret, 1)
    token_hash = hash_token(token)
    server = Gunicorn(server_env(url, secret, FAULT_HOOK_DIR=str(hook_dir)), tmp_path,
                      workers=2, hooks=True).start()
    try:
        browser, csrf = member(server.base, token)
        (hook_dir / "hold").write_text("")
        outcome = {}

        def first_try():
            try:
                outcome["status"] = submit(browser, csrf)[0]
            except Exception as exc:  # noqa: BLE001 - the connection dies with the worker
                outcome["error"] = exc

        thread = threading.Thread(target=first_try)
        thread.start()
        deadline = time.monotonic() + 30
        while not list(hook_dir.glob("in-commit-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        (marker,) = list(hook_dir.glob("in-commit-*"))
        # The submit's rows are flushed, not committed: kill its worker right there.
        os.kill(int(marker.read_text()), signal.SIGKILL)
        thread.join(30)
        assert "status" not in outcome, "the killed worker should not have answered"
        (hook_dir / "hold").unlink()

        assert count(url, STORED, hash=token_hash) == 0
        assert count(url, SCORES, hash=token_hash) == 0

        # The member presses the button again; gunicorn has started a new worker.
        status, _ = submit(browser, csrf)
        assert status == 303
        assert count(url, STORED, hash=token_hash) == 1
        assert count(url, SCORES, hash=token_hash) > 0
        assert count(url, "SELECT count(*) FROM responses") == 1
        status, _ = submit(browser, csrf)  # a double click after success changes nothing
        assert status == 303
        assert count(url, "SELECT count(*) FROM responses") == 1
        assert count(url, STORED, hash=token_hash) == 1
    finally:
        server.stop()
