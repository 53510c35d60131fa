"""Two app instances (two gunicorn processes on two ports, standing for two hosts) on one
PostgreSQL database and one Redis: whatever one host does, the other sees at once.

Skipped when PostgreSQL or Redis is not reachable, except in CI (CI set), where that
is a failure.
"""

from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "faults_live", Path(__file__).resolve().parents[1] / "faults" / "live.py")
live = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(live)

REDIS_DB = 14
# The module's tests share one pair of hosts and one Redis database: one xdist worker.
LINK_LIMIT = 5
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """Hosts A and B: same DATABASE_URL, ASSESS_SECRET_KEY and rate-limit storage."""
    admin_url = live.postgres_admin_url()
    live.redis_ping(REDIS_DB)
    try:
        import redis  # noqa: F401 - Flask-Limiter's redis:// storage needs it
    except ImportError:
        live.unavailable("the Python package 'redis' is not installed")
    tmp_path = tmp_path_factory.mktemp("hosts")
    database = live.PostgresDatabase(admin_url, f"assess_two_hosts_{secrets.token_hex(4)}")
    secret = secrets.token_hex(32)
    prefix = live.redis_key_prefix("two-hosts")
    servers = []
    try:
        tokens = live.prepare_round(database.url, secret, 3)
        _make_admin(database.url, secret)
        # "per day": the window starts at the first counted request, and a minute of it
        # could run out between the requests of a test on a loaded machine.
        env = live.server_env(
            database.url, secret,
            ASSESS_RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:6379/{REDIS_DB}",
            ASSESS_RATELIMIT_KEY_PREFIX=prefix,
            ASSESS_SURVEY_LINK_RATE_LIMIT=f"{LINK_LIMIT} per day",
        )
        for name in ("host-a", "host-b"):
            servers.append(live.Gunicorn(env, tmp_path, workers=2, name=name).start())
        yield {"a": servers[0].base, "b": servers[1].base, "tokens": tokens,
               "url": database.url, "prefix": prefix}
    finally:
        for server in servers:
            server.stop()
        live.redis_forget(REDIS_DB, prefix)
        database.drop()


def _make_admin(url: str, secret: str) -> None:
    from assess import create_app
    from assess.services.accounts import create_user

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret, "TESTING": True})
    session = app.extensions["assess.sessionmaker"]()
    create_user(session, "admin@example.org", PASSWORD, "admin")
    session.commit()
    session.close()
    app.extensions["assess.engine"].dispose()


def test_a_response_submitted_through_one_host_is_seen_through_the_other(hosts):
    browser, csrf = live.member(hosts["a"], hosts["tokens"][0])
    status, _ = live.submit(browser, csrf)
    assert status == 303
    # The same browser, now served by host B: its session cookie is valid there and the
    # confirmation page reads the submitted response from the shared database.
    status, body = browser.request("GET", "/survey/thank-you", base=hosts["b"])
    assert status == 200, body[:300]
    status, _ = browser.request("GET", "/survey/thank-you", base=hosts["a"])
    assert status == 200


def test_a_login_made_on_one_host_is_valid_on_the_other(hosts):
    browser = live.Browser(hosts["a"])
    status, _ = browser.request("GET", "/national", base=hosts["b"])
    assert status in (302, 303, 401, 403)  # not logged in yet
    csrf = browser.csrf("/login")
    status, _ = browser.request("POST", "/login", {
        "email": "admin@example.org", "password": PASSWORD, "csrf_token": csrf})
    assert status in (302, 303)
    status, body = browser.request("GET", "/national", base=hosts["b"])
    assert status == 200, body[:300]
    # Logging out on B ends the session for A as well (the cookie is cleared).
    csrf = browser.csrf("/national", base=hosts["b"])
    status, _ = browser.request("POST", "/logout", {"csrf_token": csrf}, base=hosts["b"])
    assert status in (302, 303)
    status, _ = browser.request("GET", "/national", base=hosts["a"])
    assert status in (302, 303, 401, 403)


def test_the_link_guessing_limit_counts_requests_to_both_hosts(hosts):
    live.redis_forget(REDIS_DB, hosts["prefix"])
    browser = live.Browser(hosts["a"])
    statuses = []
    for attempt in range(LINK_LIMIT + 1):
        base = hosts["a"] if attempt % 2 == 0 else hosts["b"]
        status, _ = browser.request("GET", f"/s/guess-{attempt}", base=base)
        statuses.append(status)
    # Each host alone has seen at most 3 guesses, but together they have seen 6 > 5.
    assert statuses == [404] * LINK_LIMIT + [429]
    status, _ = browser.request("GET", "/s/guess-again", base=hosts["a"])
    assert status == 429
    # A real link is refused too for now: the limit is per address, not per link.
    status, _ = browser.request("GET", f"/s/{hosts['tokens'][1]}", base=hosts["b"])
    assert status == 429
