"""The security suite's world: two regions, two networks, one user per role, MFA on.

Region R holds network A, region S network B. Privileged users have an authenticator
(TOTP) enrolled, so `login` goes through both steps of the real login form. Password
hashes use cheap scrypt parameters to keep the suite fast; the app verifies whatever
parameters a hash names.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pyotp
import pytest
from werkzeug.security import generate_password_hash

PASSWORD = "correct horse battery"
CHEAP_HASH = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
ROLES = ("anonymous", "member", "leader_a", "leader_b", "coordinator_r", "coordinator_s",
         "analyst", "admin")


@pytest.fixture(autouse=True)
def _mfa_required(request):
    """The security suite runs with second factors required, whatever the shared config says."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["MFA_REQUIRED"] = True


@dataclass
class World:
    region_r: int
    region_s: int
    network_a: int
    network_b: int
    round_a: int
    round_b: int
    invitation_a: int
    token_a: str
    practice_a: int
    emails: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    #: The last TOTP step each user logged in with (a code works once).
    used_steps: dict[str, int] = field(default_factory=dict)

    def next_code(self, role: str) -> str:
        totp = pyotp.TOTP(self.secrets[role])
        now = totp.timecode(time.time())
        # The current step (or the next one, when it was used): still accepted if the
        # server's clock passes a step boundary before it checks the code.
        step = max(now, self.used_steps.get(role, -10) + 1)
        if step > now + 1:
            time.sleep(31)
            return self.next_code(role)
        self.used_steps[role] = step
        return totp.generate_otp(step)


def add_user(db, email: str, role: str | None = None, *, network_id=None, region_id=None,
             totp: bool = False):
    from assess.models import RoleAssignment, User

    user = User(email=email, password_hash=CHEAP_HASH, language="en",
                totp_secret=pyotp.random_base32() if totp else None)
    if role:
        user.roles.append(RoleAssignment(role=role, network_id=network_id, region_id=region_id))
    db.add(user)
    db.flush()
    return user


TINY = Path(__file__).parents[1] / "data" / "tiny.v1.yaml"


@pytest.fixture
def tiny(db):
    """The small test questionnaire (k = 3, one open-text item `note`), loaded."""
    from assess.questionnaire import load_questionnaire_file
    from assess.services.questionnaires import load_into_db

    row = load_into_db(db, load_questionnaire_file(TINY)).row
    db.commit()
    return row


@pytest.fixture
def world(app, db, tiny) -> World:
    from assess.models import Invitation, Network, Period, Practice, Region, Round
    from assess.services.surveys import create_invitation

    region_r, region_s = Region(name="Region R", code="RR"), Region(name="Region S", code="SS")
    db.add_all([region_r, region_s])
    db.flush()
    network_a = Network(name="Network A", region_id=region_r.id, description="Network A")
    network_b = Network(name="Network B", region_id=region_s.id, description="Network B")
    db.add_all([network_a, network_b])
    db.flush()
    today = date.today()
    period = Period(label=f"{today.year}-test", starts_on=today - timedelta(days=90),
                    ends_on=today + timedelta(days=90))
    db.add(period)
    db.flush()
    rounds = []
    for network in (network_a, network_b):
        round_ = Round(network_id=network.id, period_id=period.id,
                       questionnaire_id=tiny.id, opens_on=today - timedelta(days=30),
                       closes_on=today - timedelta(days=1), state="open")
        db.add(round_)
        rounds.append(round_)
    db.flush()
    invitation, token = create_invitation(db, app.config["SECRET_KEY"], rounds[0],
                                          "invitee@example.org", "Org A", "en")
    for round_ in rounds:
        round_.state = "closed"
    practice = Practice(network_id=network_a.id, title="How A works", body="We meet monthly.",
                        language="en", is_published=True)
    db.add(practice)
    db.flush()
    people = {
        "member": ("member", {"network_id": network_a.id}),
        "leader_a": ("leader", {"network_id": network_a.id}),
        "leader_b": ("leader", {"network_id": network_b.id}),
        "coordinator_r": ("coordinator", {"region_id": region_r.id}),
        "coordinator_s": ("coordinator", {"region_id": region_s.id}),
        "analyst": ("analyst", {}),
        "admin": ("admin", {}),
    }
    world = World(region_r.id, region_s.id, network_a.id, network_b.id, rounds[0].id,
                  rounds[1].id, invitation.id, token, practice.id)
    for name, (role, scope) in people.items():
        user = add_user(db, f"{name.replace('_', '-')}@example.org", role, **scope,
                        totp=role != "member")
        world.emails[name] = user.email
        world.user_ids[name] = user.id
        if user.totp_secret:
            world.secrets[name] = user.totp_secret
    db.commit()
    assert isinstance(invitation, Invitation)
    return world


def login(client, world: World, role: str, password: str = PASSWORD):
    """Log in through the real forms: password, then (for roles with TOTP) a fresh code."""
    if role == "anonymous":
        return None
    response = client.post("/login", data={"email": world.emails[role], "password": password})
    if role in world.secrets:
        assert response.status_code == 302, response.status_code
        assert response.headers["Location"].endswith("/login/code")
        response = client.post("/login/code", data={"code": world.next_code(role)})
    assert response.status_code == 302, (role, response.status_code)
    return response


@pytest.fixture
def login_as(client, world):
    def _login(role: str):
        return login(client, world, role)

    return _login


def count_rows(db) -> dict[str, int]:
    """Rows per table, for tests that check nothing was written."""
    from sqlalchemy import func, select

    from assess.db import Base

    db.rollback()
    return {table.name: db.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables}
