"""Translated labels for stored codes (roles, states, actor types, levels)."""

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "member": _l("Member"),
    "leader": _l("Network leader"),
    "coordinator": _l("Regional coordinator"),
    "analyst": _l("National analyst"),
    "admin": _l("Administrator"),
}
STATE_LABELS = {"draft": _l("Draft"), "open": _l("Open"), "closed": _l("Closed")}
ORGANIZATION_TYPE_LABELS = {
    "municipality": _l("Municipality"),
    "wellbeing_county": _l("Wellbeing services county"),
    "ngo": _l("NGO"),
    "company": _l("Company"),
    "parish": _l("Parish"),
    "state_agency": _l("State agency"),
    "other": _l("Other"),
}
LEVEL_LABELS = {
    1: _l("Initial"),
    2: _l("Developing"),
    3: _l("Established"),
    4: _l("Advanced"),
    5: _l("Embedded"),
}
