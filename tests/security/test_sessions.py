"""Sessions: new at login, ended on the server by logout, password change and disabling,
idle and absolute timeouts, cookie attributes, and no "remember me"."""

from __future__ import annotations

import time

import pytest
from flask_login.utils import encode_cookie

from assess import auth

from .conftest import login

PROTECTED = "/rounds"  # leaders, coordinators and admins


def session_cookie(client, app):
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def test_login_starts_a_new_session_and_drops_what_was_planted_before(app, client, world):
    client.get("/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
        sess["survey_invitation_id"] = 999
    before = session_cookie(client, app)
    assert before
    login(client, world, "leader_a")
    after = session_cookie(client, app)
    assert after and after != before
    with client.session_transaction() as sess:
        assert "planted" not in sess and "survey_invitation_id" not in sess
        assert isinstance(sess[auth.AUTH_AT], int) and sess[auth.MFA_OK] is True
    # The cookie from before the login does not log anyone in.
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], before)
    assert other.get(PROTECTED).status_code == 302


def test_the_pending_second_step_is_not_a_login(app, client, world):
    response = client.post("/login", data={"email": world.emails["admin"],
                                           "password": "correct horse battery"})
    assert response.headers["Location"].endswith("/login/code")
    assert client.get(PROTECTED).status_code == 302
    assert client.get("/admin/questionnaires").status_code == 302


def test_a_cookie_replayed_after_logout_is_refused(app, client, world):
    login(client, world, "leader_a")
    stolen = session_cookie(client, app)
    assert client.get(PROTECTED).status_code == 200
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert thief.get(PROTECTED).status_code == 302


def test_logout_ends_the_users_other_sessions_too(app, world):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, world, "leader_a")
    login(phone, world, "leader_a")
    assert phone.get(PROTECTED).status_code == 200
    laptop.post("/logout")
    assert phone.get(PROTECTED).status_code == 302


def test_a_cookie_replayed_after_the_account_is_disabled_is_refused(app, client, world, runner):
    login(client, world, "leader_a")
    stolen = session_cookie(client, app)
    result = runner.invoke(args=["users", "disable", "--email", world.emails["leader_a"]])
    assert result.exit_code == 0, result.output
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert thief.get(PROTECTED).status_code == 302
    assert client.get(PROTECTED).status_code == 302
    # And the password no longer works.
    response = client.post("/login", data={"email": world.emails["leader_a"],
                                           "password": "correct horse battery"})
    assert response.status_code == 401


def test_a_password_change_ends_the_other_sessions_but_keeps_this_one(app, world):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, world, "leader_a")
    login(elsewhere, world, "leader_a")
    response = here.post("/account/password", data={
        "current": "correct horse battery", "password": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    assert response.status_code == 303
    assert here.get(PROTECTED).status_code == 200
    assert elsewhere.get(PROTECTED).status_code == 302


def test_an_idle_session_ends(app, client, db, world, monkeypatch):
    app.config["SESSION_IDLE_MINUTES"] = 30
    login(client, world, "leader_a")
    assert client.get(PROTECTED).status_code == 200
    start = int(time.time())
    monkeypatch.setattr(auth, "_now", lambda: start + 29 * 60)
    assert client.get(PROTECTED).status_code == 200  # activity moves the idle clock on
    monkeypatch.setattr(auth, "_now", lambda: start + 29 * 60 + 31 * 60)
    response = client.get(PROTECTED)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    from sqlalchemy import select

    from assess.models import AuditEvent

    db.rollback()
    assert db.scalar(select(AuditEvent.user_id).where(
        AuditEvent.action == "session_expired")) == world.user_ids["leader_a"]


def test_a_session_ends_after_its_absolute_lifetime_however_active(app, client, world,
                                                                   monkeypatch):
    app.config["SESSION_MAX_HOURS"] = 12
    login(client, world, "leader_a")
    start = int(time.time())
    for minutes in range(20, 12 * 60, 20):  # a request every 20 minutes for 12 hours
        monkeypatch.setattr(auth, "_now", lambda m=minutes: start + m * 60)
        assert client.get("/account").status_code == 200, minutes
    monkeypatch.setattr(auth, "_now", lambda: start + 12 * 3600 + 60)
    assert client.get(PROTECTED).status_code == 302


def test_a_session_without_timestamps_is_not_trusted(app, client, world):
    login(client, world, "leader_a")
    with client.session_transaction() as sess:
        del sess[auth.SEEN_AT]
    assert client.get(PROTECTED).status_code == 302


def test_cookies_are_httponly_and_samesite_lax(app, client, world):
    response = client.get("/login")
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # the test app runs over plain HTTP


def test_production_cookies_are_secure_with_a_host_prefix_and_hsts(database_url, tmp_path):
    from assess import create_app

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "k",
                      "BASE_URL": "https://assess.example.fi"})
    try:
        assert app.config["SECURE_COOKIES"] is True
        client = app.test_client()
        response = client.get("/login", base_url="https://assess.example.fi")
        header = response.headers["Set-Cookie"]
        assert header.startswith("__Host-session=")
        assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
        assert "Domain=" not in header and "Path=/" in header
        assert response.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains")
        # Plain-HTTP development keeps ordinary cookies and no HSTS.
        dev = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "k",
                          "BASE_URL": "http://127.0.0.1:5000"})
        assert dev.config["SECURE_COOKIES"] is False
        assert "Strict-Transport-Security" not in dev.test_client().get("/login").headers
        dev.extensions["assess.engine"].dispose()
    finally:
        app.extensions["assess.engine"].dispose()


def test_a_remember_me_cookie_logs_nobody_in(app, client, world, db):
    from assess.models import User

    user = db.get(User, world.user_ids["admin"])
    # A correctly signed Flask-Login remember cookie, as if the key had been used for one.
    with app.test_request_context():
        value = encode_cookie(user.get_id())
    client.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), value)
    assert client.get("/admin/questionnaires").status_code == 302
    login(client, world, "leader_a")
    assert "remember_token" not in client.get("/").headers.get("Set-Cookie", "")


@pytest.mark.parametrize("role", ["member", "leader_a", "analyst", "admin"])
def test_every_logged_in_user_finds_the_account_page_in_the_navigation(app, client, world, role):
    """The account page is where a user changes the password and ends their other sessions."""
    login(client, world, role)
    page = client.get("/").get_data(as_text=True)
    nav = page[page.index("<nav"):page.index("</nav>")]
    assert 'href="/account"' in nav
    client.post("/logout")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/account"' not in page
