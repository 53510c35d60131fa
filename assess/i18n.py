"""Languages: Swedish, Finnish and English, chosen by the reader."""

from __future__ import annotations

from datetime import datetime

from babel import Locale
from babel.dates import format_date as babel_format_date
from flask import Flask, current_app, request, session
from flask_babel import Babel, format_decimal, get_locale, to_user_timezone
from flask_babel import format_date as babel_flask_format_date
from flask_login import current_user

from . import PROJECT_ROOT

LANGUAGE_NAMES = {"sv": "Svenska", "fi": "Suomi", "en": "English"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    return request.accept_languages.best_match(languages) or languages[0]


def init_app(app: Flask) -> None:
    translations = str(PROJECT_ROOT / "assess" / "translations")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", translations)
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def _languages():
        from . import labels

        return {
            "language_names": LANGUAGE_NAMES,
            "current_language": str(get_locale()),
            "role_labels": labels.ROLE_LABELS,
            "state_labels": labels.STATE_LABELS,
            "level_labels": labels.LEVEL_LABELS,
            "organization_type_labels": labels.ORGANIZATION_TYPE_LABELS,
        }

    app.add_template_filter(format_score, "score")
    app.add_template_filter(format_signed_score, "signed_score")
    # Replaces Flask-Babel's own `dateformat`: English dates in British style.
    app.add_template_filter(format_date, "dateformat")
    from . import labels

    app.add_template_filter(labels.period_label, "period_label")
    app.add_template_filter(labels.theme_label, "theme_label")
    app.add_template_global(labels.questionnaire_title, "questionnaire_title")


#: English dates are written the British way ("15 December 2026"), as in Finland.
ENGLISH_DATES = Locale("en", "GB")


def format_date(value=None, format: str | None = None) -> str:
    """A date in the reader's language, like Flask-Babel's `format_date`, but in English
    with the day before the month: 15 December 2026, not December 15, 2026."""
    locale = get_locale()
    if locale is None or locale.language != "en":
        return babel_flask_format_date(value, format)
    if isinstance(value, datetime):
        value = to_user_timezone(value)
    return babel_format_date(value, format or "medium", locale=ENGLISH_DATES)


def format_score(value: float | None) -> str:
    """A score already rounded by the method (round1), in the reader's number format."""
    if value is None:
        return "–"
    return format_decimal(value, format="0.0")


def format_signed_score(value: float | None) -> str:
    """A change of score with its sign: +3,2 / −1,5 / 0,0."""
    if value is None:
        return "–"
    text = format_decimal(abs(value), format="0.0")
    return ("+" if value > 0 else "−" if value < 0 else "") + text
