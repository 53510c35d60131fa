"""Second factor: required for privileged roles, enrolment before anything else, codes once."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from assess.models import AuditEvent, RecoveryCode, User

from .conftest import PASSWORD, add_user, login
from .test_access_matrix import ROUTES, build_url


def password_step(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def enrolment_secret(page: str) -> str:
    match = re.search(r'<code class="totp-key">([A-Z2-7 ]+)</code>', page)
    assert match, "the enrolment page shows the key in text"
    return match.group(1).replace(" ", "")


def recovery_codes(page: str) -> list[str]:
    return re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page)


@pytest.fixture
def new_leader(db, world):
    """A leader of network A who has never set up a second factor."""
    user = add_user(db, "new-leader@example.org", "leader", network_id=world.network_a)
    db.commit()
    return user


def enrol(client, totp_secret_holder: dict) -> list[str]:
    page = client.get("/account/mfa").get_data(as_text=True)
    assert "<svg" in page and 'class="segno"' in page  # the QR code, inline
    secret = enrolment_secret(page)
    totp_secret_holder["secret"] = secret
    response = client.post("/account/mfa", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = recovery_codes(response.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    return codes


def test_a_leader_without_a_second_factor_must_enrol_before_anything_else(app, client,
                                                                        new_leader, world):
    response = password_step(client, new_leader.email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/mfa")
    # Every page but the enrolment itself (and logging out, the language) sends them back.
    allowed = {"account.setup_mfa", "auth.logout", "main.set_language", "static"}
    for key, endpoint, rule in ROUTES:
        if not key.startswith("GET ") or endpoint in allowed:
            continue
        with client.get(build_url(app, world, rule)) as page:
            assert page.status_code == 302, key
            assert page.headers["Location"].endswith("/account/mfa"), key


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("action", ["logout", "language"])
def test_the_forms_on_the_recovery_codes_page_work_after_enrolment(app, client, new_leader,
                                                                   action):
    # Enrolment starts a fresh session; the page it answers with must carry tokens of that
    # session, or the user is stuck on an error page while saving their codes.
    app.config["WTF_CSRF_ENABLED"] = True
    token = csrf_of(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": new_leader.email, "password": PASSWORD,
                                "csrf_token": token})
    page = client.get("/account/mfa").get_data(as_text=True)
    code = pyotp.TOTP(enrolment_secret(page)).now()
    codes_page = client.post("/account/mfa", data={"code": code, "csrf_token": csrf_of(page)})
    assert codes_page.status_code == 200
    token = csrf_of(codes_page.get_data(as_text=True))
    if action == "logout":
        response = client.post("/logout", data={"csrf_token": token})
    else:
        response = client.post("/language", data={"lang": "fi", "csrf_token": token})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]


def test_enrolment_shows_the_qr_code_and_stores_hashed_single_use_recovery_codes(
        app, client, db, new_leader, world):
    password_step(client, new_leader.email)
    holder = {}
    codes = enrol(client, holder)
    assert client.get("/rounds").status_code == 200  # enrolled: the pages open
    db.expire_all()
    user = db.get(User, new_leader.id)
    assert user.totp_secret == holder["secret"]
    stored = db.scalars(select(RecoveryCode.code_hash).where(
        RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10
    assert all(h.startswith("scrypt:") for h in stored)
    assert not any(code.replace("-", "") in h or code in h for h in stored for code in codes)
    # Shown once: the account page never shows them again.
    page = client.get("/account").get_data(as_text=True)
    assert not any(code in page for code in codes)
    assert "Recovery codes left: 10" in page

    # A recovery code logs in once, and never again.
    client.post("/logout")
    password_step(client, new_leader.email)
    response = client.post("/login/code", data={"code": codes[0].upper()})
    assert response.status_code == 302
    assert client.get("/rounds").status_code == 200
    client.post("/logout")
    password_step(client, new_leader.email)
    response = client.post("/login/code", data={"code": codes[0]})
    assert response.status_code == 401
    assert client.get("/rounds").status_code == 302
    db.rollback()  # a new snapshot: the app wrote since this session last read
    actions = db.scalars(select(AuditEvent.action).where(
        AuditEvent.user_id == new_leader.id)).all()
    assert "mfa_enrolled" in actions and "mfa_recovery_code_used" in actions
    assert "mfa_failed" in actions


def test_a_user_with_totp_is_asked_for_a_code_and_a_wrong_one_is_refused(app, client, world,
                                                                        db):
    response = password_step(client, world.emails["admin"])
    assert response.headers["Location"].endswith("/login/code")
    assert client.post("/login/code", data={"code": "000000"}).status_code == 401
    assert client.get("/admin/questionnaires").status_code == 302
    response = client.post("/login/code", data={"code": world.next_code("admin")})
    assert response.status_code == 302
    assert client.get("/admin/questionnaires").status_code == 200


def test_a_totp_code_works_only_once(app, world):
    first, second = app.test_client(), app.test_client()
    code = pyotp.TOTP(world.secrets["admin"]).now()
    password_step(first, world.emails["admin"])
    assert first.post("/login/code", data={"code": code}).status_code == 302
    password_step(second, world.emails["admin"])
    second.post("/language", data={"lang": "en"})
    refused = second.post("/login/code", data={"code": code})
    assert refused.status_code == 401
    # Says why a code that was right a moment ago fails, not only "check your clock".
    assert "it has been used already" in refused.get_data(as_text=True)


def test_guessing_codes_is_rate_limited(app, client, world):
    password_step(client, world.emails["admin"])
    statuses = [client.post("/login/code", data={"code": f"{n:06d}"}).status_code
                for n in range(1, 8)]
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429, 429]
    # Even the right code waits: the limit is on the account's second step.
    assert client.post("/login/code",
                       data={"code": world.next_code("admin")}).status_code == 429


def test_members_need_no_second_factor(app, client, world):
    response = password_step(client, world.emails["member"])
    assert response.status_code == 302
    assert client.get("/my-surveys").status_code == 200


def test_without_mfa_required_a_leader_logs_in_with_the_password(app, client, new_leader):
    app.config["MFA_REQUIRED"] = False
    password_step(client, new_leader.email)
    assert client.get("/rounds").status_code == 200


def test_a_role_given_later_forces_enrolment_in_the_running_session(app, client, db, world):
    login(client, world, "member")
    assert client.get("/my-surveys").status_code == 200
    from assess.models import RoleAssignment

    db.add(RoleAssignment(user_id=world.user_ids["member"], role="leader",
                          network_id=world.network_a))
    db.commit()
    response = client.get("/rounds")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/mfa")


def test_replacing_the_authenticator_needs_the_password_and_ends_other_sessions(app, db, world):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, world, "leader_a")
    login(elsewhere, world, "leader_a")
    page = here.get("/account/mfa").get_data(as_text=True)
    secret = enrolment_secret(page)
    code = pyotp.TOTP(secret).now()
    refused = here.post("/account/mfa", data={"code": code, "password": "not my password"})
    assert refused.status_code == 400
    db.expire_all()
    assert db.get(User, world.user_ids["leader_a"]).totp_secret == world.secrets["leader_a"]
    accepted = here.post("/account/mfa", data={"code": code, "password": PASSWORD})
    assert accepted.status_code == 200
    assert len(recovery_codes(accepted.get_data(as_text=True))) == 10
    assert here.get("/rounds").status_code == 200
    assert elsewhere.get("/rounds").status_code == 302


def test_cli_reset_mfa_forces_a_new_enrolment(app, client, runner, world, db):
    login(client, world, "admin")
    result = runner.invoke(args=["users", "reset-mfa", "--email", world.emails["admin"]])
    assert result.exit_code == 0, result.output
    assert client.get("/admin/questionnaires").status_code == 302  # sessions ended
    db.expire_all()
    assert db.get(User, world.user_ids["admin"]).totp_secret is None
    response = password_step(client, world.emails["admin"])
    assert response.headers["Location"].endswith("/account/mfa")
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "mfa_reset")).all()
    assert [e.target for e in events] == [f"user:{world.user_ids['admin']}"]


def test_an_abandoned_second_step_expires(app, client, world, monkeypatch):
    from assess import auth

    password_step(client, world.emails["admin"])
    later = int(time.time()) + auth.PENDING_LOGIN_SECONDS + 1
    monkeypatch.setattr(auth, "_now", lambda: later)
    response = client.post("/login/code", data={"code": world.next_code("admin")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
