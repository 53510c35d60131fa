"""Targets: the maturity level a network's leaders aim at per dimension, and the way there.

A leader sets, per dimension, the level (1..5) the network wants to reach by a
future period. The round being viewed when the target is set is its baseline.
The report then shows, per dimension with a target:

* gap = max(0, target level − current level): levels still to climb;
* progress = score now − score at the baseline round (unrounded, then round1);

and, over the dimensions with a target and a current level, the
percent-to-target of OWASP SAMM: 100 × (1 − Σ gap / Σ target). A dimension
without a current level (too few respondents) has no gap and counts in neither
sum, so a missing score neither helps nor hurts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import Period, Round, RoundDimensionResult, Target
from ..models.survey import CLOSED
from ..scoring import round1
from .results import ensure_current

LEVELS = (1, 2, 3, 4, 5)


class TargetError(ValueError):
    """Targets cannot be set as asked; the message says why."""


@dataclass(frozen=True)
class TargetLine:
    """One dimension's target next to where the network stands (unrounded scores)."""

    dimension: str
    target: int
    current_level: int | None
    score: float | None = None
    baseline_score: float | None = None


def gap(target: int, current_level: int | None) -> int | None:
    """Levels still to climb; None when the dimension has no current level."""
    if current_level is None:
        return None
    return max(0, target - current_level)


def progress(score: float | None, baseline_score: float | None) -> float | None:
    """Score now minus score at the baseline, rounded for output; None if either is missing."""
    if score is None or baseline_score is None:
        return None
    return round1(score - baseline_score)


def percent_to_target(lines: Iterable[TargetLine]) -> float | None:
    """OWASP SAMM's percent-to-target: 100 × (1 − Σ gap / Σ target), rounded for output.

    Only dimensions with a target and a current level count; None when there is none.
    """
    counted = [line for line in lines if line.current_level is not None]
    total_target = sum(line.target for line in counted)
    if not counted or total_target == 0:
        return None
    total_gap = sum(gap(line.target, line.current_level) or 0 for line in counted)
    return round1(100 * (1 - total_gap / total_target))


def _baseline_scores(session: Session, round_: Round, baseline_id: int | None,
                     default_k: int) -> tuple[Round | None, dict[str, float]]:
    """The baseline round and its unrounded scores, when progress can be measured from it.

    Progress is measured only from a closed, unsuppressed round of the same network and
    questionnaire that is not later than the round being viewed.
    """
    from .reports import period_start

    if baseline_id is None:
        return None, {}
    baseline = session.get(Round, baseline_id)
    if (baseline is None or baseline.network_id != round_.network_id
            or baseline.state != CLOSED
            or baseline.questionnaire.slug != round_.questionnaire.slug
            or period_start(baseline.period) > period_start(round_.period)):
        return baseline, {}
    summary = ensure_current(session, baseline, default_k)
    if summary.suppressed:
        return baseline, {}
    rows = session.execute(
        select(RoundDimensionResult.dimension_id, RoundDimensionResult.score)
        .where(RoundDimensionResult.round_id == baseline.id,
               RoundDimensionResult.score.is_not(None))
    ).all()
    return baseline, {dim: float(score) for dim, score in rows}


def report_targets(session: Session, round_: Round, dimension_ids: list[str],
                   results: Mapping[str, RoundDimensionResult], default_k: int = 5) -> dict:
    """The "targets" block of the report: per dimension and the percent-to-target."""
    rows = session.scalars(
        select(Target).where(Target.network_id == round_.network_id,
                             Target.questionnaire_slug == round_.questionnaire.slug,
                             Target.dimension_id.in_(dimension_ids))
    ).all()
    by_dimension = {row.dimension_id: row for row in rows}
    periods = {p.id: p.label for p in session.scalars(
        select(Period).where(Period.id.in_({row.period_id for row in rows})))} if rows else {}
    baselines: dict[int | None, tuple[Round | None, dict[str, float]]] = {}
    lines: list[TargetLine] = []
    entries = []
    for dim_id in dimension_ids:
        row = by_dimension.get(dim_id)
        if row is None:
            continue
        if row.baseline_round_id not in baselines:
            baselines[row.baseline_round_id] = _baseline_scores(
                session, round_, row.baseline_round_id, default_k)
        baseline, baseline_scores = baselines[row.baseline_round_id]
        result = results.get(dim_id)
        score = float(result.score) if result is not None and result.score is not None else None
        current_level = result.level if result is not None and result.score is not None else None
        line = TargetLine(dim_id, row.level, current_level, score, baseline_scores.get(dim_id))
        lines.append(line)
        entries.append({
            "dimension": dim_id,
            "level": row.level,
            "period": periods.get(row.period_id),
            "current_level": current_level,
            "gap": gap(row.level, current_level),
            "baseline_period": baseline.period.label if baseline is not None else None,
            "progress": progress(line.score, line.baseline_score),
        })
    counted = [line for line in lines if line.current_level is not None]
    return {
        "dimensions": entries,
        "percent_to_target": percent_to_target(lines),
        "gap_total": sum(gap(line.target, line.current_level) or 0 for line in counted),
        "target_total": sum(line.target for line in counted),
    }


def later_periods(session: Session, round_: Round) -> list[Period]:
    """Periods a target may be set for: those starting after the round's period."""
    from .reports import period_start

    start = period_start(round_.period)
    periods = [p for p in session.scalars(select(Period)) if period_start(p) > start]
    return sorted(periods, key=period_start)


def current_targets(session: Session, network_id: int, slug: str) -> dict[str, Target]:
    return {
        row.dimension_id: row
        for row in session.scalars(
            select(Target).where(Target.network_id == network_id,
                                 Target.questionnaire_slug == slug)
        )
    }


def set_targets(session: Session, round_: Round, levels: Mapping[str, int | None],
                period_id: int, user_id: int | None, now: datetime | None = None) -> int:
    """Set (or, with None, remove) the target level of each dimension; the caller commits.

    The round being viewed becomes the baseline of every target set or changed; a target
    submitted unchanged keeps its baseline, so progress is still measured from there. Returns
    the number of targets set, changed or removed.
    """
    allowed = {p.id for p in later_periods(session, round_)}
    if period_id not in allowed:
        raise TargetError("the target period must start after the round's period")
    slug = round_.questionnaire.slug
    existing = current_targets(session, round_.network_id, slug)
    now = now or utcnow()
    changed = 0
    for dim_id, level in levels.items():
        row = existing.get(dim_id)
        if level is None:
            if row is not None:
                session.execute(delete(Target).where(Target.id == row.id))
                changed += 1
            continue
        if level not in LEVELS:
            raise TargetError(f"a target level is 1 to 5, not {level}")
        if row is None:
            session.add(Target(network_id=round_.network_id, questionnaire_slug=slug,
                               dimension_id=dim_id, level=level, period_id=period_id,
                               baseline_round_id=round_.id, set_by_user_id=user_id, set_at=now))
            changed += 1
        elif (row.level, row.period_id) != (level, period_id):  # unchanged: keep its baseline
            row.level, row.period_id, row.baseline_round_id = level, period_id, round_.id
            row.set_by_user_id, row.set_at = user_id, now
            changed += 1
    session.flush()
    return changed
