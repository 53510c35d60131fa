from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow
from .org import Network, Organization

DRAFT = "draft"
OPEN = "open"
CLOSED = "closed"
SUBMITTED = "submitted"


class QuestionnaireVersion(Base):
    """A loaded questionnaire file; an id + version is immutable once loaded."""

    __tablename__ = "questionnaires"
    __table_args__ = (UniqueConstraint("slug", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The questionnaire's own `id` from its file.
    slug: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    #: The validated definition as canonical JSON.
    definition: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Period(Base):
    """A national survey wave such as 2026-spring, shared by all networks."""

    __tablename__ = "periods"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(32), unique=True)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    #: For periods made by an import without dates: the earliest submitted_at.
    first_submitted_at: Mapped[datetime | None]

    @classmethod
    def newest_first(cls):
        """ORDER BY terms: by start, newest first, as reports.period_start orders periods
        (a label sorts 2026-spring before 2026-autumn, so it is only the tie-break)."""
        start = func.coalesce(cls.starts_on, cls.first_submitted_at)
        return (start.desc().nulls_first(), cls.label.desc())


class Round(Base):
    """One network answering one questionnaire version in one period."""

    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("network_id", "period_id", "questionnaire_id"),
        CheckConstraint("state IN ('draft', 'open', 'closed')", name="known_state"),
        Index("ix_rounds_period_questionnaire", "period_id", "questionnaire_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"))
    opens_on: Mapped[date | None]
    closes_on: Mapped[date | None]
    state: Mapped[str] = mapped_column(String(8), default=DRAFT)
    #: Raised whenever the round's responses change; caches key on it.
    data_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    network: Mapped[Network] = relationship()
    period: Mapped[Period] = relationship()
    questionnaire: Mapped[QuestionnaireVersion] = relationship()


class Invitation(Base):
    __tablename__ = "invitations"
    # Emails are stored in lower case, so this also stops two imports inviting one person twice.
    __table_args__ = (UniqueConstraint("round_id", "email"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str | None] = mapped_column(String(8))
    #: SHA-256 of the link's token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Random salt; with the app's secret key it re-derives the token when a mail is sent.
    token_salt: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    round: Mapped[Round] = relationship()
    organization: Mapped[Organization | None] = relationship()


class Response(Base):
    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("round_id", "respondent_key"),
        UniqueConstraint("invitation_id"),
        UniqueConstraint("round_id", "user_id"),
        CheckConstraint("status IN ('draft', 'submitted')", name="known_status"),
        Index("ix_responses_round_status", "round_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    #: The respondent's id within the round (from an import, or derived from the link).
    respondent_key: Mapped[str] = mapped_column(String(128))
    #: Only while the member may still resume or change the answers.
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default=DRAFT)
    submitted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    round: Mapped[Round] = relationship()
    organization: Mapped[Organization | None] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("response_id", "item_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(64))
    #: The scale value as given (before reverse-coding); null = no answer.
    value: Mapped[int | None] = mapped_column(Integer)
    dont_know: Mapped[bool] = mapped_column(default=False)
    #: Free text, for items of type text only.
    text: Mapped[str | None] = mapped_column(Text)
    response: Mapped[Response] = relationship(back_populates="answers")


class ResponseScore(Base):
    """A submitted response's dimension score, stored so reports never rescan answers."""

    __tablename__ = "response_scores"
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    dimension_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
