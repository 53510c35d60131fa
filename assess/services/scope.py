"""Which networks a user may see reports of: the one rule every page and export uses."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Network, User


def report_network_ids(session: Session, user: User) -> set[int] | None:
    """Network ids whose reports `user` may read; None means every network (admins).

    Leaders see their own networks, coordinators the networks of their regions.
    National analysts see aggregates only, never one network's report.
    """
    if not user.is_authenticated:
        return set()
    if "admin" in user.role_names:
        return None
    ids = set(user.network_ids("leader"))
    regions = user.region_ids("coordinator")
    if regions:
        ids |= set(session.scalars(select(Network.id).where(Network.region_id.in_(regions))))
    return ids


def can_read_report(session: Session, user: User, network_id: int) -> bool:
    allowed = report_network_ids(session, user)
    return allowed is None or network_id in allowed
