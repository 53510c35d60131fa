"""gunicorn settings for fault tests: the product's gunicorn.conf.py plus a test-only hook.

With FAULT_HOOK_DIR set, a submit (POST /survey/submit) that reaches its commit writes
"<pid>" to FAULT_HOOK_DIR/in-commit-<pid> and then waits (at most 60 s):

- while FAULT_HOOK_DIR/hold exists: every submit waits;
- FAULT_HOOK_DIR/hold-one: the first submit renames it to held-<pid> and waits while that
  file exists; later submits pass.

Its rows are flushed but not committed, so a test can kill the worker, restart the
database or stop the server at exactly that moment. No product code sleeps.
"""

import os
import time
import types
from pathlib import Path

_settings = {}
# gunicorn reads its config file by executing it; this does the same with the
# repository's own gunicorn.conf.py, so the settings under test are the shipped ones.
exec((Path(__file__).resolve().parents[2] / "gunicorn.conf.py").read_text(), _settings)  # noqa: S102
for _name, _value in _settings.items():
    if not _name.startswith("_") and not isinstance(_value, types.ModuleType):
        globals()[_name] = _value

_product_post_fork = _settings["post_fork"]


def post_fork(server, worker):
    _product_post_fork(server, worker)
    hook_dir = os.environ.get("FAULT_HOOK_DIR")
    if not hook_dir:
        return
    from flask import has_request_context, request
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def hold_submit(_session):
        if not (has_request_context() and request.path == "/survey/submit"):
            return
        hold = Path(hook_dir) / "hold"
        if not hold.exists():
            held = Path(hook_dir) / f"held-{os.getpid()}"
            try:
                os.rename(Path(hook_dir) / "hold-one", held)  # only one request wins
            except OSError:
                return
            hold = held
        (Path(hook_dir) / f"in-commit-{os.getpid()}").write_text(str(os.getpid()))
        deadline = time.monotonic() + 60
        while hold.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    event.listen(Session, "before_commit", hold_submit)
