"""The login rate limits hold with 4 gunicorn workers sharing one Redis.

Flask-Limiter counts per process with `memory://`; production sets
`RATELIMIT_STORAGE_URI=redis://...` (deploy.md) so that every worker and host counts
together. This starts the product's gunicorn.conf.py with 4 sync workers on PostgreSQL
and the local Redis and checks both login limits: the account limit (sequential failed
logins on one account) and the address limit (a burst of concurrent logins, which the 4
workers must serve in parallel).

Skipped when PostgreSQL or Redis is not reachable, except in CI (CI set).
"""

from __future__ import annotations

import importlib.util
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "faults_live", Path(__file__).resolve().parents[1] / "faults" / "live.py")
live = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(live)

REDIS_DB = 13
WORKERS = 4
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 8
BURST = 16
EMAIL = "leader@example.org"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    admin_url = live.postgres_admin_url()
    live.redis_ping(REDIS_DB)
    try:
        import redis  # noqa: F401 - Flask-Limiter's redis:// storage needs it
    except ImportError:
        live.unavailable("the Python package 'redis' is not installed")
    tmp_path = tmp_path_factory.mktemp("workers")
    database = live.PostgresDatabase(admin_url, f"assess_workers_{secrets.token_hex(4)}")
    secret = secrets.token_hex(32)
    prefix = live.redis_key_prefix("four-workers")
    gunicorn = None
    try:
        _prepare(database.url, secret)
        # "per day": a fixed window that cannot roll over in the middle of the test.
        env = live.server_env(
            database.url, secret,
            ASSESS_RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:6379/{REDIS_DB}",
            ASSESS_RATELIMIT_KEY_PREFIX=prefix,
            ASSESS_LOGIN_RATE_LIMIT_ACCOUNT=f"{ACCOUNT_LIMIT} per day",
            ASSESS_LOGIN_RATE_LIMIT_ADDRESS=f"{ADDRESS_LIMIT} per day",
        )
        gunicorn = live.Gunicorn(env, tmp_path, workers=WORKERS, name="four-workers").start()
        assert len(gunicorn.worker_pids()) == WORKERS
        gunicorn.key_prefix = prefix
        yield gunicorn
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        live.redis_forget(REDIS_DB, prefix)
        database.drop()


def _prepare(url: str, secret: str) -> None:
    from assess import create_app, migrate
    from assess.services.accounts import create_user

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret, "TESTING": True})
    migrate.upgrade(app.extensions["assess.engine"])
    session = app.extensions["assess.sessionmaker"]()
    create_user(session, EMAIL, PASSWORD, "analyst")
    session.commit()
    session.close()
    app.extensions["assess.engine"].dispose()


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _login(server, email: str) -> int:
    browser = live.Browser(server.base)
    csrf = browser.csrf("/login")  # a GET: not counted by the login limits
    status, _ = browser.request("POST", "/login", {
        "email": email, "password": "not the password at all", "csrf_token": csrf})
    return status


def test_the_account_limit_counts_failed_logins_across_all_workers(server):
    live.redis_forget(REDIS_DB, server.key_prefix)
    # A fresh connection per request: the 4 workers take them in turn as they are free.
    statuses = [_login(server, EMAIL) for _ in range(ACCOUNT_LIMIT + 3)]
    assert statuses == [401] * ACCOUNT_LIMIT + [429] * 3


def test_the_address_limit_holds_for_a_burst_served_by_all_four_workers(server):
    live.redis_forget(REDIS_DB, server.key_prefix)
    browsers = []
    for n in range(BURST):
        browser = live.Browser(server.base)
        browsers.append((browser, browser.csrf("/login"), f"guess{n}@example.org"))
    before = {pid: _cpu_ticks(pid) for pid in server.worker_pids()}

    def attempt(entry) -> int:
        browser, csrf, email = entry
        status, _ = browser.request("POST", "/login", {
            "email": email, "password": "not the password at all", "csrf_token": csrf})
        return status

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        statuses = list(pool.map(attempt, browsers))
    busy = [pid for pid, ticks in before.items() if _cpu_ticks(pid) > ticks]
    # Each unknown address is checked against a dummy scrypt hash, so a login takes CPU:
    # with BURST requests at once, more than one worker served them.
    assert len(busy) >= 2, busy
    # Counted per worker (memory://), up to WORKERS x ADDRESS_LIMIT would get through.
    assert sorted(statuses) == [401] * ADDRESS_LIMIT + [429] * (BURST - ADDRESS_LIMIT)


def test_a_concurrent_burst_on_one_account_gets_exactly_the_account_limit_of_guesses(server):
    # Every guess is counted before its password is checked: were it counted after the
    # answer (as Flask-Limiter's deduct_when does), all guesses in flight at once would
    # pass the check while the first were still being verified.
    live.redis_forget(REDIS_DB, server.key_prefix)
    browsers = []
    for _ in range(ADDRESS_LIMIT):
        browser = live.Browser(server.base)
        browsers.append((browser, browser.csrf("/login")))

    def guess(entry) -> int:
        browser, csrf = entry
        status, _ = browser.request("POST", "/login", {
            "email": EMAIL, "password": "not the password at all", "csrf_token": csrf})
        return status

    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        statuses = list(pool.map(guess, browsers))
    assert sorted(statuses) == [401] * ACCOUNT_LIMIT + [429] * (ADDRESS_LIMIT - ACCOUNT_LIMIT)
