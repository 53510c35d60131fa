"""What leaders plan and share: targets per dimension and published good practices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow


class Target(Base):
    """A target maturity level for one dimension, to be reached by a future period."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("network_id", "questionnaire_slug", "dimension_id"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    questionnaire_slug: Mapped[str] = mapped_column(String(64))
    dimension_id: Mapped[str] = mapped_column(String(64))
    level: Mapped[int]
    #: The period by which the level should be reached.
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    #: The round progress is measured from (the latest closed round when the target was set).
    baseline_round_id: Mapped[int | None] = mapped_column(
        ForeignKey("rounds.id", ondelete="SET NULL")
    )
    set_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class Practice(Base):
    """A network's own description of how it works, published for others to learn from."""

    __tablename__ = "practices"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    #: Language the text is written in (sv, fi or en).
    language: Mapped[str] = mapped_column(String(8))
    is_published: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
