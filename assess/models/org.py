from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base

#: Actor types of a network, as stored; labels are translated in the UI.
ORGANIZATION_TYPES = (
    "municipality",
    "wellbeing_county",
    "ngo",
    "company",
    "parish",
    "state_agency",
    "other",
)


class Region(Base):
    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: Short code for tiles and files, e.g. "HEL".
    code: Mapped[str | None] = mapped_column(String(16))
    networks: Mapped[list[Network]] = relationship(back_populates="region")


class Network(Base):
    __tablename__ = "networks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    #: Theme or sector, e.g. "elderly care"; used to filter national views.
    theme: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    #: The leader may keep the network's name out of national views.
    is_named_nationally: Mapped[bool] = mapped_column(default=True)
    region: Mapped[Region] = relationship(back_populates="networks")
    organizations: Mapped[list[Organization]] = relationship(back_populates="network")


class Organization(Base):
    """An actor of one network: a municipality, an NGO, a company, a parish..."""

    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("network_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32), default="other")
    network: Mapped[Network] = relationship(back_populates="organizations")
