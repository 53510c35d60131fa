"""Translated labels for stored codes (roles, states, actor types, levels)."""

import re

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

#: Seasons of a period label such as "2026-autumn"; the year is a parameter, so each
#: language orders and inflects the words its own way (sv "hösten 2026", fi "syksy 2026").
SEASON_LABELS = {
    "spring": _l("spring %(year)s"),
    "summer": _l("summer %(year)s"),
    "autumn": _l("autumn %(year)s"),
    "winter": _l("winter %(year)s"),
}
SEASONAL_PERIOD = re.compile(r"^(\d{4})-(spring|summer|autumn|winter)$")

#: Themes (sectors) of the networks: the stored value, in English, is the key. A theme
#: outside this list is shown as it was stored.
THEME_LABELS = {
    "elderly care": _l("elderly care"),
    "child and family services": _l("child and family services"),
    "mental health and substance abuse services": _l("mental health and substance abuse services"),
    "employment and integration services": _l("employment and integration services"),
    "home care": _l("home care"),
    "disability services": _l("disability services"),
    "health promotion": _l("health promotion"),
    "homelessness prevention": _l("homelessness prevention"),
}


def period_label(label: str | None) -> str:
    """A period label for people to read: "2026-autumn" is "hösten 2026" / "syksy 2026" /
    "autumn 2026" in the reader's language; any other label is shown as it is.

    For display only: forms, URLs, exports and the command line keep the identifier.
    """
    if not label:
        return label or ""
    match = SEASONAL_PERIOD.match(label)
    if match is None:
        return label
    year, season = match.groups()
    return str(SEASON_LABELS[season]) % {"year": year}


def theme_label(theme: str | None) -> str:
    """A network's theme in the reader's language when it is a known one, else as stored."""
    if not theme:
        return theme or ""
    known = THEME_LABELS.get(theme)
    return str(known) if known is not None else theme


def questionnaire_title(slug: str | None, version: int | None = None) -> str:
    """The localized title of a questionnaire (the given version, else the newest), for
    people to read where the id "network-maturity" would be shown; the id if it is not
    loaded. Ids stay in form values, URLs and exports."""
    if not slug:
        return slug or ""
    from flask_babel import get_locale

    from .db import get_session
    from .questionnaire import QuestionnaireError, localized
    from .services.questionnaires import definition_of, find_version

    try:
        definition = definition_of(find_version(get_session(), slug, version))
    except QuestionnaireError:
        return slug
    title = localized(definition.title, str(get_locale()), definition.default_language)
    return title or slug
