"""Render slots: at most N PDFs render at once on a host, and no slot is ever left taken."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack

import pytest

from assess.render_slots import NoFreeSlot, render_slot, slot_wait, waiting_for_slots


def test_a_third_render_finds_no_slot_while_two_are_held(tmp_path):
    with ExitStack() as held:
        numbers = {held.enter_context(render_slot(2, tmp_path)) for _ in range(2)}
        assert numbers == {0, 1}
        with pytest.raises(NoFreeSlot), render_slot(2, tmp_path):
            pass
    with render_slot(2, tmp_path) as number:  # both released
        assert number == 0


def test_a_waiting_render_takes_the_slot_as_soon_as_it_is_freed(tmp_path):
    release = threading.Event()

    def hold():
        with render_slot(1, tmp_path):
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.2)
    threading.Timer(0.3, release.set).start()
    with render_slot(1, tmp_path, wait=10, poll=0.05) as number:
        assert number == 0
    holder.join()


def test_a_killed_worker_leaves_its_slot_free(tmp_path):
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from assess.render_slots import render_slot\n"
        "with render_slot(1, Path(sys.argv[1])):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "held"
        with pytest.raises(NoFreeSlot), render_slot(1, tmp_path):
            pass
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        with render_slot(1, tmp_path, wait=5) as number:
            assert number == 0
    finally:
        worker.kill()
        worker.wait()
        worker.stdout.close()


def test_no_limit_takes_no_lock(tmp_path):
    with render_slot(0, tmp_path) as first, render_slot(0, tmp_path) as second:
        assert first == second == -1
    assert list(tmp_path.iterdir()) == []


def test_renders_do_not_wait_unless_a_command_asks_them_to():
    assert slot_wait() == 0  # a web request answers 503 at once
    with waiting_for_slots(42):
        assert slot_wait() == 42
    assert slot_wait() == 0


def test_a_slot_directory_of_another_user_is_refused(tmp_path):
    import os

    directory = tmp_path / "slots"
    directory.mkdir()
    try:
        os.chown(directory, 65534, 65534)
    except PermissionError:
        pytest.skip("changing a directory's owner needs root")
    # Another local user could otherwise hold every slot and make each download fail.
    with pytest.raises(PermissionError), render_slot(1, directory):
        pass
