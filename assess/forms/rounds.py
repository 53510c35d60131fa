"""Forms of the round pages: open a round, invite members, close, extend, reopen; periods."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from ..services.surveys import PERIOD_LABEL

try:  # WTForms 3.3 deprecates choices given as tuples
    from wtforms import SelectChoice as _SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    _SelectChoice = None


def choice(value, label):
    """One option of a SelectField, in the form the installed WTForms wants."""
    return _SelectChoice(value, label) if _SelectChoice is not None else (value, label)


#: Sent as the language of an invitation; "" means the questionnaire's default language.
LANGUAGE_CHOICES = [
    choice("", _l("The survey's default language")),
    choice("sv", "Svenska"),
    choice("fi", "Suomi"),
    choice("en", "English"),
]
#: A pasted list or an uploaded file: 1 MB is some ten thousand lines.
MAX_LIST_CHARACTERS = 1_000_000


def _in_the_future(form, field) -> None:
    if field.data is not None and field.data <= date.today():
        raise ValidationError(_l("The closing date must be in the future."))


class OpenRoundForm(FlaskForm):
    network_id = SelectField(_l("Network"), coerce=int, validators=[DataRequired()])
    period_id = SelectField(_l("Period"), coerce=int, validators=[DataRequired()])
    questionnaire_id = SelectField(_l("Questionnaire"), coerce=int, validators=[DataRequired()])
    opens_on = DateField(_l("Opening date (empty: today)"), validators=[Optional()])
    closes_on = DateField(_l("Closing date"), validators=[DataRequired(), _in_the_future])
    submit = SubmitField(_l("Open the round"))

    def validate_closes_on(self, field) -> None:
        if self.opens_on.data and field.data and field.data < self.opens_on.data:
            raise ValidationError(_l("The closing date must come after the opening date."))


class InviteListForm(FlaskForm):
    addresses = TextAreaField(
        _l("Paste one member per line: email,organisation,language"),
        validators=[Optional(), Length(max=MAX_LIST_CHARACTERS)],
        render_kw={"rows": 8},
    )
    upload = FileField(_l("Or choose a CSV file with the same columns"))
    submit = SubmitField(_l("Invite the members on the list"))


class InviteOneForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    organization = StringField(_l("Organisation"), validators=[Optional(), Length(max=200)])
    language = SelectField(_l("Language of the mail"), choices=LANGUAGE_CHOICES, default="")
    submit = SubmitField(_l("Invite"))


class MailWaitingForm(FlaskForm):
    submit = SubmitField(_l("Mail the waiting invitations now"))


class RemindForm(FlaskForm):
    submit = SubmitField(_l("Send reminders now"))


class CloseRoundForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that members can no longer answer once the round is closed."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Close the round"))


class ExtendRoundForm(FlaskForm):
    closes_on = DateField(_l("New closing date"), validators=[DataRequired(), _in_the_future])
    submit = SubmitField(_l("Extend"))


class ReopenRoundForm(FlaskForm):
    closes_on = DateField(_l("New closing date"), validators=[DataRequired(), _in_the_future])
    submit = SubmitField(_l("Reopen the round"))


class PeriodForm(FlaskForm):
    label = StringField(
        _l("Label"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(),
            Length(max=32),
            Regexp(PERIOD_LABEL, message=_l("Use the year and a name in lower case, "
                                            "e.g. 2026-spring.")),
        ],
        description=_l("The year and a name, e.g. 2026-spring."),
    )
    starts_on = DateField(_l("First day"), validators=[DataRequired()])
    ends_on = DateField(_l("Last day"), validators=[DataRequired()])
    submit = SubmitField(_l("Create the period"))

    def validate_ends_on(self, field) -> None:
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("A period cannot end before it starts."))
