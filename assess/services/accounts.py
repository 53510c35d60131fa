"""User accounts and role assignments."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..auth import hash_password
from ..models import ROLE_SCOPES, Network, Region, RoleAssignment, User
from . import passwords

MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; the message says why."""


def check_password_policy(password: str, email: str | None = None) -> None:
    """The whole policy of `services.passwords` (length, common passwords, runs, the email
    address and the service's name); raises AccountError with the English message.

    The web forms call `passwords.password_problem` to show a translated message; every
    other place that sets a password (the CLI's `users create`) comes through here.
    """
    try:
        passwords.check_password(password, email)
    except passwords.PasswordProblem as exc:
        raise AccountError(str(exc)) from None


def find_network(session: Session, name: str) -> Network:
    network = session.scalar(select(Network).where(Network.name == name))
    if network is None:
        raise AccountError(f"There is no network named '{name}'.")
    return network


def find_region(session: Session, name: str) -> Region:
    region = session.scalar(select(Region).where(Region.name == name))
    if region is None:
        raise AccountError(f"There is no region named '{name}'.")
    return region


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def assign_role(
    session: Session,
    user: User,
    role: str,
    network: Network | None = None,
    region: Region | None = None,
) -> RoleAssignment:
    if role not in ROLE_SCOPES:
        known = ", ".join(ROLE_SCOPES)
        raise AccountError(f"Unknown role '{role}'; the roles are: {known}.")
    scope = ROLE_SCOPES[role]
    if scope == "network" and (network is None or region is not None):
        raise AccountError(f"The role '{role}' needs a network (--network) and no region.")
    if scope == "region" and (region is None or network is not None):
        raise AccountError(f"The role '{role}' needs a region (--region) and no network.")
    if scope is None and (network is not None or region is not None):
        raise AccountError(f"The role '{role}' is national; give neither a network nor a region.")
    for existing in user.roles:
        if (existing.role, existing.network_id, existing.region_id) == (
            role,
            network.id if network else None,
            region.id if region else None,
        ):
            return existing
    assignment = RoleAssignment(
        role=role,
        network_id=network.id if network else None,
        region_id=region.id if region else None,
    )
    user.roles.append(assignment)
    return assignment


def create_user(
    session: Session,
    email: str,
    password: str | None,
    role: str | None = None,
    network_name: str | None = None,
    region_name: str | None = None,
    language: str = "sv",
) -> User:
    """Create a user with a role (or none); the caller commits."""
    email = email.strip()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise AccountError(f"'{email}' is not an email address.")
    if find_user(session, email) is not None:
        raise AccountError(f"A user with the email {email} exists already.")
    network = find_network(session, network_name) if network_name else None
    region = find_region(session, region_name) if region_name else None
    if password is not None:
        check_password_policy(password, email)
    user = User(
        email=email.lower(),
        password_hash=hash_password(password) if password else None,
        language=language,
    )
    session.add(user)
    if role is not None:
        assign_role(session, user, role, network, region)
    session.flush()
    return user
