"""What the start page shows each role: the networks, regions and rounds in its scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Network, Period, Region, Round, RoundSummary, User
from ..models.survey import OPEN, SUBMITTED
from ..scoring import round1
from . import scope
from .surveys import member_statuses


@dataclass
class RoundLine:
    round_id: int
    network_id: int
    network: str
    period: str
    state: str
    respondents: int | None
    suppressed: bool | None
    overall: float | None
    stage_reached: int | None


@dataclass
class SurveyToAnswer:
    """An open round of one of the member's networks that they have not yet submitted."""

    round_id: int
    network: str
    period: str
    closes_on: date | None
    started: bool


@dataclass
class Overview:
    roles: set[str]
    led_networks: list[Network] = field(default_factory=list)
    member_networks: list[Network] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    rounds: list[RoundLine] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    surveys_to_answer: list[SurveyToAnswer] = field(default_factory=list)


def overview_for(session: Session, user: User) -> Overview:
    overview = Overview(roles=user.role_names)
    if member_ids := user.network_ids("member"):
        overview.member_networks = _networks(session, member_ids)
        overview.surveys_to_answer = surveys_to_answer(session, user, member_ids)
    if leader_ids := user.network_ids("leader"):
        overview.led_networks = _networks(session, leader_ids)
    if region_ids := user.region_ids("coordinator"):
        overview.regions = list(
            session.scalars(select(Region).where(Region.id.in_(region_ids)).order_by(Region.name))
        )
    visible = scope.report_network_ids(session, user)
    if visible is not None and visible:
        overview.rounds = latest_rounds(session, visible)
    overview.periods = list(session.scalars(select(Period.label).order_by(
        *Period.newest_first())))
    return overview


def surveys_to_answer(session: Session, user: User, network_ids: set[int]) -> list[SurveyToAnswer]:
    """The open rounds of ``network_ids`` that ``user`` has not submitted, closing soonest first.

    The same rounds as the member's "My surveys" page, less the ones already answered.
    """
    rows = session.execute(
        select(Round, Network.name, Period.label)
        .join(Network, Round.network_id == Network.id)
        .join(Period, Round.period_id == Period.id)
        .where(Round.state == OPEN, Round.network_id.in_(network_ids))
        .order_by(Round.closes_on, Round.id)
    ).all()
    statuses = member_statuses(session, user.id, user.email, [row[0].id for row in rows])
    return [
        SurveyToAnswer(round_id=round_.id, network=network, period=period,
                       closes_on=round_.closes_on, started=round_.id in statuses)
        for round_, network, period in rows
        if statuses.get(round_.id) != SUBMITTED
    ]


def _networks(session: Session, ids: set[int]) -> list[Network]:
    return list(session.scalars(select(Network).where(Network.id.in_(ids)).order_by(Network.name)))


def latest_rounds(session: Session, network_ids: set[int], limit: int = 50) -> list[RoundLine]:
    rows = session.execute(
        select(Round, Network.name, Period.label, RoundSummary)
        .join(Network, Round.network_id == Network.id)
        .join(Period, Round.period_id == Period.id)
        .outerjoin(RoundSummary, RoundSummary.round_id == Round.id)
        .where(Round.network_id.in_(network_ids))
        .order_by(*Period.newest_first(), Network.name)
        .limit(limit)
    ).all()
    lines = []
    for round_, network_name, period_label, summary in rows:
        show = summary is not None and round_.state == "closed" and not summary.suppressed
        lines.append(
            RoundLine(
                round_id=round_.id,
                network_id=round_.network_id,
                network=network_name,
                period=period_label,
                state=round_.state,
                respondents=summary.respondents if summary else None,
                suppressed=summary.suppressed if summary else None,
                overall=round1(summary.overall) if show else None,
                stage_reached=summary.stage_reached if show else None,
            )
        )
    return lines


def names(session: Session, model, ids: set[int]) -> dict[int, str]:
    """id -> name for a few regions or networks."""
    if not ids:
        return {}
    return dict(session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())
