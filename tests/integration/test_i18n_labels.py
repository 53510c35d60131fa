"""Display labels in the reader's language: periods in words, known themes translated,
English dates the British way. Identifiers themselves are never changed."""

from __future__ import annotations

from datetime import date

import pytest
from flask import render_template_string
from flask_babel import force_locale, gettext

from assess.labels import period_label, theme_label

PERIODS = {
    "sv": {"2026-autumn": "hösten 2026", "2026-spring": "våren 2026"},
    "fi": {"2026-autumn": "syksy 2026", "2026-spring": "kevät 2026"},
    "en": {"2026-autumn": "autumn 2026", "2026-spring": "spring 2026"},
}


@pytest.mark.parametrize("lang", ["sv", "fi", "en"])
def test_known_period_labels_read_as_words_in_the_readers_language(app, lang):
    with app.test_request_context(), force_locale(lang):
        for label, words in PERIODS[lang].items():
            assert period_label(label) == words
            assert render_template_string("{{ p|period_label }}", p=label) == words


@pytest.mark.parametrize("label", ["2026-x", "2027-wave-2", "2026-Autumn", "autumn", "", None])
def test_other_period_labels_are_shown_as_they_are(app, label):
    with app.test_request_context(), force_locale("fi"):
        assert period_label(label) == (label or "")


def test_known_themes_are_translated_and_others_shown_as_stored(app):
    with app.test_request_context(), force_locale("sv"):
        assert theme_label("home care") == "hemvård"
        assert theme_label("youth work") == "youth work"
    with app.test_request_context(), force_locale("fi"):
        assert theme_label("mental health and substance abuse services") == \
            "mielenterveys- ja päihdepalvelut"


def test_english_dates_put_the_day_before_the_month(app):
    day = date(2026, 12, 15)
    with app.test_request_context():
        with force_locale("en"):
            assert render_template_string("{{ d|dateformat('long') }}", d=day) == \
                "15 December 2026"
            # the English catalog still loads: a translated label comes back unchanged
            assert gettext("Survey rounds") == "Survey rounds"
        with force_locale("sv"):
            assert render_template_string("{{ d|dateformat('long') }}", d=day) == \
                "15 december 2026"
        with force_locale("fi"):
            assert render_template_string("{{ d|dateformat('long') }}", d=day) == \
                "15. joulukuuta 2026"
