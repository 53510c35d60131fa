"""At most a few PDFs render at once on one host, so the answering pages find free workers.

A PDF takes a sync gunicorn worker for about a second of CPU. When as many downloads
arrive as there are workers, every worker renders and the members' pages queue behind
them. A render therefore first takes one of `slots` render slots of the host: an
exclusive `flock` on one of the files `slot-0.lock` ... in `directory`. The kernel drops
the lock when the holder's file closes, also when the process is killed, so a slot is
never left taken. The files hold nothing; any worker of the host can take any slot, so
the app stays stateless across hosts (each host has its own slots, for its own CPU).
The directory is the instance folder's `render-slots` unless PDF_RENDER_SLOT_DIR says
otherwise, so the web workers and the daily run of one installation share it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

#: Seconds a render waits for a free slot. 0 (the default) in web requests: they answer
#: 503 at once instead of holding a worker. Commands wait (waiting_for_slots).
_slot_wait: ContextVar[float] = ContextVar("render_slot_wait", default=0.0)
#: How long the daily run and `assess report/national` wait for a slot.
COMMAND_SLOT_WAIT = 600.0


class NoFreeSlot(Exception):
    """Every render slot of this host is taken; try again in a few seconds."""


@contextmanager
def waiting_for_slots(seconds: float = COMMAND_SLOT_WAIT) -> Iterator[None]:
    """Renders within the block wait up to `seconds` for a slot instead of failing."""
    token = _slot_wait.set(seconds)
    try:
        yield
    finally:
        _slot_wait.reset(token)


def slot_wait() -> float:
    return _slot_wait.get()


@contextmanager
def render_slot(slots: int, directory: Path, wait: float = 0.0,
                poll: float = 0.2) -> Iterator[int]:
    """Hold one render slot for the `with` block; yields its number.

    Raises NoFreeSlot when none is free within `wait` seconds (0: try once). `slots`
    below 1 means no limit (nothing is locked).
    """
    if slots < 1:
        yield -1
        return
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_uid != os.getuid():  # another user could hold our slots
        raise PermissionError(f"{directory} belongs to another user")
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
