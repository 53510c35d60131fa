"""Typed ORM models; importing this package registers every table on Base.metadata."""

from .org import ORGANIZATION_TYPES, Network, Organization, Region
from .planning import Practice, Target
from .score import (
    ComparisonVersion,
    NetworkBenchmark,
    OrganizationScore,
    RenderedReport,
    RoundDimensionResult,
    RoundItemStat,
    RoundSummary,
)
from .survey import (
    Answer,
    Invitation,
    Period,
    QuestionnaireVersion,
    Response,
    ResponseScore,
    Round,
)
from .user import ROLE_SCOPES, AuditEvent, PasswordReset, RecoveryCode, RoleAssignment, User

__all__ = [
    "ORGANIZATION_TYPES",
    "ROLE_SCOPES",
    "Answer",
    "AuditEvent",
    "ComparisonVersion",
    "Invitation",
    "Network",
    "NetworkBenchmark",
    "Organization",
    "OrganizationScore",
    "PasswordReset",
    "Period",
    "Practice",
    "QuestionnaireVersion",
    "RecoveryCode",
    "Region",
    "RenderedReport",
    "Response",
    "ResponseScore",
    "RoleAssignment",
    "Round",
    "RoundDimensionResult",
    "RoundItemStat",
    "RoundSummary",
    "Target",
    "User",
]
