"""Per-round results, recomputed whenever a round's responses change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow


class RoundSummary(Base):
    __tablename__ = "round_summaries"
    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    respondents: Mapped[int]
    organizations: Mapped[int]
    suppressed: Mapped[bool]
    overall: Mapped[float | None] = mapped_column(Float)
    stage_reached: Mapped[int | None]
    #: The round's data_version these results were computed from.
    data_version: Mapped[int]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoundDimensionResult(Base):
    __tablename__ = "round_dimension_results"
    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    dimension_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float | None] = mapped_column(Float)
    level: Mapped[int | None]
    respondents: Mapped[int]
    organizations: Mapped[int]
    sd: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)


class OrganizationScore(Base):
    """Organisation means per dimension: trends (Welch) and agreement by actor type."""

    __tablename__ = "organization_scores"
    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    dimension_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: "org:<id>" for an organisation, "response:<id>" for a respondent without one.
    organization_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    respondents: Mapped[int]


class RoundItemStat(Base):
    """Reverse-coded item means per round: focus items and aggregated exports."""

    __tablename__ = "round_item_stats"
    round_id: Mapped[int] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dimension_id: Mapped[str] = mapped_column(String(64))
    mean: Mapped[float] = mapped_column(Float)
    n: Mapped[int]
    dont_know: Mapped[int] = mapped_column(default=0)
    #: Standard deviation of the organisations' item means: where actors disagree.
    organization_sd: Mapped[float | None] = mapped_column(Float)
    organizations: Mapped[int] = mapped_column(default=0)


class RenderedReport(Base):
    """A rendered report (PDF) kept in the database, so every worker and host shares it.

    Keyed by what it shows (e.g. "round:12:pdf:sv"); valid while `data_version` matches.
    """

    __tablename__ = "rendered_reports"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    data_version: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(80))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
