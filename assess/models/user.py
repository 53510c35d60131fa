from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow

MEMBER = "member"
LEADER = "leader"
COORDINATOR = "coordinator"
ANALYST = "analyst"
ADMIN = "admin"
#: Role -> the scope it needs: a network, a region, or nothing.
ROLE_SCOPES = {
    MEMBER: "network",
    LEADER: "network",
    COORDINATOR: "region",
    ANALYST: None,
    ADMIN: None,
}


class User(UserMixin, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8), default="sv")
    is_enabled: Mapped[bool] = mapped_column(default=True)
    #: Raised to end every session of the user (logout everywhere, disabling).
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Base32 TOTP secret once the user has enrolled a second factor.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    password_changed_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_enabled

    def get_id(self) -> str:
        # The session version in the id makes old cookies invalid once it is raised.
        return f"{self.id}:{self.session_version}"

    def has_role(self, role: str, *, network_id: int | None = None, region_id: int | None = None):
        return any(
            r.role == role
            and (network_id is None or r.network_id == network_id)
            and (region_id is None or r.region_id == region_id)
            for r in self.roles
        )

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}

    def network_ids(self, role: str) -> set[int]:
        return {r.network_id for r in self.roles if r.role == role and r.network_id}

    def region_ids(self, role: str) -> set[int]:
        return {r.region_id for r in self.roles if r.role == role and r.region_id}


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "network_id", "region_id"),
        CheckConstraint(
            "role IN ('member', 'leader', 'coordinator', 'analyst', 'admin')", name="known_role"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    user: Mapped[User] = relationship(back_populates="roles")


class RecoveryCode(Base):
    """A single-use MFA recovery code, stored as a hash."""

    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None]


class PasswordReset(Base):
    """A single-use, expiring password-reset link; only the token's SHA-256 is stored."""

    __tablename__ = "password_resets"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class AuditEvent(Base):
    """Append-only log of logins, report views, exports and administrative changes."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: Who: a user id (kept as a number, no foreign key, so erasure leaves the trail intact).
    user_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(64), index=True)
    #: What it was done to, e.g. "round:12".
    target: Mapped[str | None] = mapped_column(String(120))
    detail: Mapped[str | None] = mapped_column(String(500))
