"""gunicorn settings of the floor app: the product's own (gunicorn.conf.py), another app.

Same workers, worker class, keep-alive and logging as the product, so that the only
difference between a product figure and its floor is the application code.
"""

import types
from pathlib import Path

_settings = {}
# gunicorn reads its config file by executing it; this does the same with the
# repository's own gunicorn.conf.py, so the settings under test are the shipped ones.
exec((Path(__file__).resolve().parent.parent / "gunicorn.conf.py").read_text(), _settings)  # noqa: S102
for _name, _value in _settings.items():
    if not _name.startswith("_") and not callable(_value) \
            and not isinstance(_value, types.ModuleType):
        globals()[_name] = _value


def post_fork(server, worker):
    # The floor app's engine was made before the fork: each worker opens its own connections.
    from benchmarks.floor_app import engine

    engine.dispose(close=False)
