"""Passwords, login throttling, password reset and redirects after login."""

from __future__ import annotations

import email
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from assess.db import utcnow
from assess.models import AuditEvent, PasswordReset, User
from assess.services.passwords import common_passwords, password_problem

from .conftest import PASSWORD, login

WRONG = "not the right password"


def outbox(app) -> list[email.message.EmailMessage]:
    folder = Path(app.instance_path) / "outbox"
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


def reset_link_from(message) -> str:
    body = message.get_content()
    match = re.search(r"(\S+/password/reset/\S+)", body)
    assert match, body
    return match.group(1)


# -- the policy --------------------------------------------------------------------------------


def test_the_common_password_list_is_bounded_and_documented():
    from assess.services.passwords import COMMON_PASSWORDS_FILE

    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").split("\n")
    assert len(lines) <= 10_001  # 10,000 lines and the final newline
    assert lines[0].startswith("# ") and "Origin:" in "\n".join(lines[:10])
    assert len(common_passwords()) > 9_000


@pytest.mark.parametrize(("password", "problem"), [
    ("short pass", "too_short"),
    ("q1w2e3r4t5y6", "common"),           # on the list itself
    ("Password1234!", "common"),          # a listed password with digits and symbols
    ("Sunshine2024!!", "common"),
    ("passwordpassword", "sequence"),
    ("123456789012", "sequence"),
    ("qwertyuiopas", "sequence"),
    ("assess2024!!", "context"),
    ("anna.virtanen1", "context"),
    ("correct horse battery", None),
    ("Kolme kissaa ja kuusi", None),
])
def test_password_policy(password, problem):
    assert password_problem(password, "anna.virtanen@example.org") == problem


def test_a_common_password_is_refused_when_changing_it(app, client, world, db):
    login(client, world, "leader_a")
    response = client.post("/account/password", data={
        "current": PASSWORD, "password": "Password1234!", "confirm": "Password1234!"})
    assert response.status_code == 400
    assert "too common" in response.get_data(as_text=True)
    db.expire_all()
    user = db.get(User, world.user_ids["leader_a"])
    assert user.password_changed_at is None


def test_changing_the_password_needs_the_current_one(app, client, world):
    login(client, world, "leader_a")
    response = client.post("/account/password", data={
        "current": WRONG, "password": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    assert response.status_code == 400
    assert "current password is not correct" in response.get_data(as_text=True)


def test_the_same_answer_for_an_unknown_user_and_a_wrong_password(app, client, world):
    wrong = client.post("/login", data={"email": world.emails["admin"], "password": WRONG})
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": WRONG})
    assert wrong.status_code == unknown.status_code == 401

    def message(response):
        return re.search(r'<p class="error-summary"[^>]*>(.*?)</p>',
                         response.get_data(as_text=True)).group(1)

    assert message(wrong) == message(unknown)


def test_failed_and_successful_logins_are_audited_without_the_password(app, client, world, db):
    client.post("/login", data={"email": world.emails["admin"], "password": WRONG})
    client.post("/login", data={"email": "nobody@example.org", "password": WRONG})
    login(client, world, "admin")
    client.post("/logout")
    db.rollback()
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    summary = [(e.action, e.user_id, e.detail) for e in events if e.action != "mfa_totp_used"]
    admin = world.user_ids["admin"]
    assert summary == [
        ("login_failed", admin, "wrong password"),
        ("login_failed", None, "unknown account"),
        ("login", admin, "password+totp"),
        ("logout", admin, None),
    ]
    text = " ".join(f"{e.target} {e.detail}" for e in events)
    assert WRONG not in text and PASSWORD not in text and "nobody@example.org" not in text


# -- throttling --------------------------------------------------------------------------------


def attempt(client, email_address, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/login", data={"email": email_address, "password": WRONG},
                       headers=headers).status_code


def test_brute_force_with_rotating_x_forwarded_for_is_still_limited(app, client, world):
    assert app.config["TRUST_PROXY"] == 0
    statuses = [attempt(client, world.emails["admin"], f"203.0.113.{n}") for n in range(1, 9)]
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429] * 3
    # The right password does not get through while the account is throttled.
    response = client.post("/login", data={"email": world.emails["admin"],
                                           "password": PASSWORD})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"


def test_the_account_limit_holds_behind_a_trusted_proxy_too(app, client, world):
    app.config["TRUST_PROXY"] = 1
    statuses = [attempt(client, world.emails["admin"], f"198.51.100.{n}") for n in range(1, 8)]
    assert statuses == [401] * 5 + [429] * 2


def test_a_successful_login_clears_the_failures_counted_on_the_account(app, client, world):
    # Users who mistype a few times on several days are never throttled for it.
    for _ in range(2):
        assert [attempt(client, world.emails["leader_a"]) for _ in range(4)] == [401] * 4
        login(client, world, "leader_a")
        client.post("/logout")
    assert [attempt(client, world.emails["leader_a"]) for _ in range(6)] == [401] * 5 + [429]


def test_refused_attempts_do_not_use_up_the_accounts_hourly_allowance(app, client, world):
    from limits import parse

    from assess.limiter import _counter_names, limiter

    assert app.config["LOGIN_RATE_LIMIT_ACCOUNT"] == "5 per minute;20 per hour"
    email = world.emails["admin"]
    statuses = [attempt(client, email, f"198.51.100.{n}") for n in range(1, 13)]
    assert statuses == [401] * 5 + [429] * 7
    # Only the 5 checked passwords count against the hour: a burst of refused posts does
    # not shut the real user out for the rest of it.
    with app.test_request_context():
        hour = limiter.limiter.get_window_stats(
            parse("20 per hour"), *_counter_names("login", "account:" + email.lower()))
    assert hour.remaining == 15


def test_one_address_trying_many_accounts_is_limited(app, client, world):
    app.config["LOGIN_RATE_LIMIT_ADDRESS"] = "10 per minute"
    statuses = [attempt(client, f"guess{n}@example.org", f"192.0.2.{n}") for n in range(12)]
    assert statuses == [401] * 10 + [429] * 2


def _redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


SUBPROCESS_LOGINS = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("ignore")
    from assess import create_app
    database_url, prefix, email, attempts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    # "per day": the two processes start one after the other, and a minute's window counted
    # from the first attempt could run out before the second process makes its attempts.
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "k",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
                      "RATELIMIT_KEY_PREFIX": prefix,
                      "LOGIN_RATE_LIMIT_ACCOUNT": "5 per day"})
    client = app.test_client()
    statuses = [client.post("/login", data={"email": email, "password": "wrong password here"}
                            ).status_code for _ in range(attempts)]
    app.extensions["assess.engine"].dispose()
    print(json.dumps(statuses))
""")


# Both backends' runs share Redis database 15, each under a key prefix of its own.
@pytest.mark.skipif(not _redis_available(), reason="Redis is not running on 127.0.0.1:6379")
def test_two_processes_share_the_login_limit_through_redis(app, world, database_url):
    """Flask-Limiter keeps one limiter per process, so the two app instances are two processes."""
    import redis

    prefix = f"assess-test-{uuid.uuid4().hex}"

    def run(attempts: int) -> list[int]:
        result = subprocess.run(
            [sys.executable, "-c", SUBPROCESS_LOGINS, database_url, prefix,
             world.emails["admin"], str(attempts)],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    try:
        assert run(3) == [401, 401, 401]
        assert run(3) == [401, 401, 429]  # the second process sees the first one's attempts
    finally:
        store = redis.Redis.from_url("redis://127.0.0.1:6379/15")
        for key in store.scan_iter(f"*{prefix}*"):
            store.delete(key)
        store.close()


# -- password reset ----------------------------------------------------------------------------


def test_the_reset_link_uses_base_url_even_with_a_forged_host(app, client, world, db):
    app.config["BASE_URL"] = "https://assess.example.fi"
    response = client.post("/password/forgot", data={"email": world.emails["leader_a"]},
                           base_url="http://attacker.example",
                           headers={"Host": "attacker.example",
                                    "X-Forwarded-Host": "attacker.example"})
    assert response.status_code == 200
    [message] = outbox(app)
    link = reset_link_from(message)
    assert link.startswith("https://assess.example.fi/password/reset/")
    assert "attacker" not in message.get_content()
    token = link.rsplit("/", 1)[1]
    db.rollback()
    stored = db.scalars(select(PasswordReset.token_hash)).all()
    assert len(stored) == 1 and token not in stored[0]  # only a hash is kept


def test_asking_for_a_reset_answers_the_same_for_unknown_addresses(app, client, world):
    known = client.post("/password/forgot", data={"email": world.emails["leader_a"]})
    unknown = client.post("/password/forgot", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200

    def main(response):
        html = response.get_data(as_text=True)
        return html[html.index("<main"):html.index("</main>")]

    assert main(known) == main(unknown)
    assert len(outbox(app)) == 1


def test_a_reset_link_works_once_and_ends_every_session(app, client, world, db):
    other = app.test_client()
    login(other, world, "leader_a")
    client.post("/password/forgot", data={"email": world.emails["leader_a"]})
    link = reset_link_from(outbox(app)[0])
    path = "/" + link.split("/", 3)[3]
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/password/reset")
    new = "a brand new passphrase"
    response = client.post("/password/reset", data={"password": new, "confirm": new})
    assert response.status_code == 302
    assert other.get("/rounds").status_code == 302  # the other session ended
    # The second factor is still asked for.
    response = client.post("/login", data={"email": world.emails["leader_a"], "password": new})
    assert response.headers["Location"].endswith("/login/code")
    # The same link again: refused, whether opened or posted to.
    replay = app.test_client()
    assert replay.get(path).status_code == 404
    assert replay.post("/password/reset", data={"password": "another new passphrase",
                                                "confirm": "another new passphrase"}
                       ).status_code == 404
    db.rollback()
    assert db.get(User, world.user_ids["leader_a"]).password_changed_at is not None


def test_a_reset_link_submitted_twice_from_one_session_sets_the_password_once(app, client,
                                                                             world):
    client.post("/password/forgot", data={"email": world.emails["leader_a"]})
    path = "/" + reset_link_from(outbox(app)[0]).split("/", 3)[3]
    client.get(path)
    with client.session_transaction() as sess:
        mark = dict(sess["password_reset"])
    assert client.post("/password/reset", data={"password": "first new passphrase",
                                                "confirm": "first new passphrase"}
                       ).status_code == 302
    with client.session_transaction() as sess:
        sess["password_reset"] = mark  # a copy of the session from before
    assert client.post("/password/reset", data={"password": "second new passphrase",
                                                "confirm": "second new passphrase"}
                       ).status_code == 404


def test_an_expired_reset_link_is_refused(app, client, world, db):
    client.post("/password/forgot", data={"email": world.emails["leader_a"]})
    path = "/" + reset_link_from(outbox(app)[0]).split("/", 3)[3]
    db.rollback()
    reset = db.scalars(select(PasswordReset)).one()
    reset.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(("password", "message"), [
    ("password1234", "too common"),
    ("Sunshine2024!", "too common"),
    ("someone.else2026", "email address"),
    ("123456789012", "consecutive run"),
    ("short", "at least 12 characters"),
])
def test_users_create_on_the_command_line_applies_the_whole_policy(app, db, runner, password,
                                                                   message):
    result = runner.invoke(args=["users", "create", "--email", "someone.else@example.org",
                                 "--role", "admin", "--password-stdin"], input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output
    db.rollback()
    assert db.scalar(select(User).where(User.email == "someone.else@example.org")) is None


def test_a_reset_refuses_a_common_password(app, client, world):
    client.post("/language", data={"lang": "en"})
    client.post("/password/forgot", data={"email": world.emails["leader_a"]})
    client.get("/" + reset_link_from(outbox(app)[0]).split("/", 3)[3])
    response = client.post("/password/reset", data={"password": "password1234",
                                                     "confirm": "password1234"})
    assert response.status_code == 400
    assert "too common" in response.get_data(as_text=True)


# -- redirects ---------------------------------------------------------------------------------


OFF_SITE = [
    "https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example",
    "javascript:alert(1)", "http:/evil.example", "/\t/evil.example", "/\n/evil.example",
    "/\r/evil.example", " //evil.example", "/%09/evil.example\t",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_open_redirect_through_next_is_refused(app, client, world, target):
    response = client.post("/login", query_string={"next": target},
                           data={"email": world.emails["member"], "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/" or location.endswith("://localhost/"), location


@pytest.mark.parametrize("target", OFF_SITE)
def test_open_redirect_through_the_language_switch_is_refused(app, client, target):
    """The language switch's `next` goes through the same check as the login's."""
    response = client.post("/language", data={"lang": "en", "next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/" or location.endswith("://localhost/"), location


def test_the_language_switch_returns_to_the_page_it_was_used_on(app, client):
    response = client.post("/language", data={"lang": "fi", "next": "/password/forgot?a=1"})
    assert response.headers["Location"].endswith("/password/forgot?a=1")
    assert 'lang="fi"' in client.get("/login").get_data(as_text=True)


def test_a_local_next_is_followed(app, client, world):
    response = client.post("/login", query_string={"next": "/my-surveys"},
                           data={"email": world.emails["member"], "password": PASSWORD})
    assert response.headers["Location"].endswith("/my-surveys")
