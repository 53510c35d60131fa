"""Per-round results, recomputed whenever a round's responses change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, LargeBinary, String, false
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


class ComparisonVersion(Base):
    """Which data the stored comparison of one period and questionnaire version is of.

    ``version`` fingerprints the period's closed rounds (ids, data_version) and the
    networks' regions (services.comparisons.comparison_version); rows of NetworkBenchmark
    count only while it matches, so every worker and host sees a change at once.
    """

    __tablename__ = "comparison_versions"
    period_id: Mapped[int] = mapped_column(
        ForeignKey("periods.id", ondelete="CASCADE"), primary_key=True
    )
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[str] = mapped_column(String(120))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class NetworkBenchmark(Base):
    """Rule 11 and the region median per network and dimension, computed once per change.

    One row per comparable network of the period and questionnaire version and per
    dimension its region has scores in; unrounded (the report rounds).
    """

    __tablename__ = "network_benchmarks"
    period_id: Mapped[int] = mapped_column(
        ForeignKey("periods.id", ondelete="CASCADE"), primary_key=True
    )
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="CASCADE"), primary_key=True
    )
    network_id: Mapped[int] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True
    )
    dimension_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Null when the network has no score in the dimension (its region has).
    national_percentile: Mapped[float | None] = mapped_column(Float)
    region_percentile: Mapped[float | None] = mapped_column(Float)
    national_median: Mapped[float | None] = mapped_column(Float)
    #: Comparable networks with a score in the dimension, nationally.
    networks: Mapped[int | None]
    #: Median of the region's networks; null below MIN_REGION_NETWORKS of them.
    region_median: Mapped[float | None] = mapped_column(Float)
    region_networks: Mapped[int] = mapped_column(default=0)
    #: In the dimension's national top quartile: settled score >= p75 (linear) of the
    #: comparable networks, and at least 3 of them (services.practices' suggestions).
    top_quartile: Mapped[bool] = mapped_column(default=False, server_default=false())
