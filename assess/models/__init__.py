"""Typed ORM models; importing this package registers every table on Base.metadata."""

from .org import ORGANIZATION_TYPES, Network, Organization, Region
from .score import OrganizationScore, RoundDimensionResult, RoundItemStat, RoundSummary
from .survey import (
    Answer,
    Invitation,
    Period,
    QuestionnaireVersion,
    Response,
    ResponseScore,
    Round,
)
from .user import ROLE_SCOPES, RoleAssignment, User

__all__ = [
    "ORGANIZATION_TYPES",
    "ROLE_SCOPES",
    "Answer",
    "Invitation",
    "Network",
    "Organization",
    "OrganizationScore",
    "Period",
    "QuestionnaireVersion",
    "Region",
    "Response",
    "ResponseScore",
    "RoleAssignment",
    "Round",
    "RoundDimensionResult",
    "RoundItemStat",
    "RoundSummary",
    "User",
]
