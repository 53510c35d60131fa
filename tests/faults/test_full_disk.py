"""A full disk under the SQLite database: a clear 503, earlier answers intact, then recovery.

The disk is a tiny tmpfs mounted for the test (needs root, as CI has); the database
file lives on it and a filler file takes the last free byte.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import pytest
from live import Gunicorn, member, prepare_round, server_env, submit, unavailable


@pytest.fixture
def tiny_disk(tmp_path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        unavailable(f"cannot mount a tmpfs to fill (root needed): {result.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk) -> None:
    chunk = b"\0" * 65536
    with open(disk / "filler", "wb", buffering=0) as handle:
        while True:
            try:
                handle.write(chunk)
            except OSError:
                break
        for size in (4096, 512, 1):  # the last pages too
            while True:
                try:
                    handle.write(b"\0" * size)
                except OSError:
                    break


def submitted(path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM responses WHERE status = 'submitted'"
                            ).fetchone()[0]


def test_a_full_disk_answers_503_keeps_earlier_data_and_recovers(secret, tmp_path, tiny_disk):
    prepared = tmp_path / "prepared.sqlite3"
    tokens = prepare_round(f"sqlite:///{prepared}", secret, 2)
    database = tiny_disk / "assess.sqlite3"
    shutil.copy(prepared, database)
    server = Gunicorn(server_env(f"sqlite:///{database}", secret), tmp_path, workers=2).start()
    try:
        first, second = (member(server.base, token) for token in tokens)
        assert submit(*first)[0] == 303
        with sqlite3.connect(database) as conn:  # the WAL back to 0 bytes: growing it needs space
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        fill(tiny_disk)

        status, body = submit(*second)
        assert status == 503
        assert b"Service unavailable" in body
        assert b"Traceback" not in body

        (tiny_disk / "filler").unlink()
        with sqlite3.connect(database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert submitted(database) == 1  # the earlier answer is intact, nothing half-written

        assert submit(*second)[0] == 303  # space is back: the same click now works
        assert submitted(database) == 2
    finally:
        server.stop()
    assert "Traceback" not in server.log_path.read_text(errors="replace")
