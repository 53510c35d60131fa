"""At most a few PDFs render at once on one host, so the answering pages find free workers.

A PDF takes a sync gunicorn worker for about a second of CPU. When as many downloads
arrive as there are workers, every worker renders and the members' pages queue behind
them. A render therefore first takes one of `slots` render slots of the host: an
exclusive `flock` on one of the files `slot-0.lock` ... in `directory`. The kernel drops
the lock when the holder's file closes, also when the process is killed, so a slot is
never left taken. The files hold nothing; any worker of the host can take any slot, so
the app stays stateless across hosts (each host has its own slots, for its own CPU).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class NoFreeSlot(Exception):
    """Every render slot of this host is taken; try again in a few seconds."""


def default_directory() -> Path:
    return Path(tempfile.gettempdir()) / f"assess-render-slots-{os.getuid()}"


@contextmanager
def render_slot(slots: int, directory: Path | None = None, wait: float = 0.0,
                poll: float = 0.2) -> Iterator[int]:
    """Hold one render slot for the `with` block; yields its number.

    Raises NoFreeSlot when none is free within `wait` seconds (0: try once). `slots`
    below 1 means no limit (nothing is locked).
    """
    if slots < 1:
        yield -1
        return
    directory = directory or default_directory()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        for number in range(slots):
            handle = open(directory / f"slot-{number}.lock", "a+b")  # noqa: SIM115 - held below
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield number
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        if time.monotonic() >= deadline:
            raise NoFreeSlot(f"all {slots} render slots of this host are taken")
        time.sleep(poll)
