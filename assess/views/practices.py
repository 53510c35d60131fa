"""Good practices: leaders describe how their networks work; every logged-in user reads them.

Published practices are readable by everyone logged in; a draft only by the leaders of
its network. Leaders also choose here whether their network is named in national views.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..auth import roles_required
from ..db import get_session
from ..forms.rounds import choice
from ..models import Network, Region
from ..services import audit
from ..services import practices as service

bp = Blueprint("practices", __name__)

LANGUAGE_NAMES = {"sv": "Svenska", "fi": "Suomi", "en": "English"}
MAX_BODY = 10_000


@bp.app_template_filter("paragraphs")
def paragraphs_filter(text: str | None) -> list[list[str]]:
    """A practice's text as paragraphs of lines, for templates/practices/_text.html."""
    return service.paragraphs(text)


def _reader_language() -> str:
    """The reader's interface language, when a practice may be written in it."""
    lang = str(get_locale())
    return lang if lang in LANGUAGE_NAMES else next(iter(LANGUAGE_NAMES))


class PracticeForm(FlaskForm):
    network_id = SelectField(_l("Network"), coerce=int)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(min=3, max=200)])
    body = TextAreaField(
        _l("How your network works"),
        description=_l("For example: which practices work for you, how often and how you "
                       "meet, and in which order decisions are prepared and taken, so that "
                       "every organisation's own decision process is respected."),
        validators=[DataRequired(), Length(min=20, max=MAX_BODY)],
    )
    language = SelectField(_l("Language of the text"),
                           choices=[choice(code, name) for code, name in LANGUAGE_NAMES.items()])
    save = SubmitField(_l("Save as draft"))
    publish = SubmitField(_l("Publish"))


class DeleteForm(FlaskForm):
    submit = SubmitField(_l("Delete"))


class NamingForm(FlaskForm):
    network_id = HiddenField()
    is_named_nationally = BooleanField(
        _l("Show our network's name in national and regional comparisons"))
    submit = SubmitField(_l("Save"))


@bp.route("/practices")
@login_required
def list_practices():
    session = get_session()
    return render_template(
        "practices/list.html",
        published=service.published_practices(session),
        drafts=service.draft_practices(session, current_user),
        leads=bool(current_user.network_ids("leader")),
        language_names=LANGUAGE_NAMES,
    )


@bp.route("/practices/<int:practice_id>")
@login_required
def show_practice(practice_id: int):
    session = get_session()
    practice = service.readable_practice(session, current_user, practice_id)
    if practice is None:
        abort(404)
    network = session.get(Network, practice.network_id)
    region = session.get(Region, network.region_id)
    return render_template(
        "practices/show.html",
        practice=service.practice_dict(practice, network, region.name),
        own=practice.network_id in current_user.network_ids("leader"),
        own_network=network.name,
        delete_form=DeleteForm(),
        language_names=LANGUAGE_NAMES,
    )


@bp.route("/practices/new", methods=["GET", "POST"])
@bp.route("/practices/<int:practice_id>/edit", methods=["GET", "POST"])
@roles_required("leader")
def edit_practice(practice_id: int | None = None):
    session = get_session()
    practice = None
    if practice_id is not None:
        practice = service.editable_practice(session, current_user, practice_id)
        if practice is None:
            abort(404)
    networks = service.led_networks(session, current_user)
    # A new practice is most likely written in the language the leader reads the app in.
    form = PracticeForm(obj=practice,
                        language=practice.language if practice else _reader_language())
    form.network_id.choices = [choice(n.id, n.name) for n in networks]
    if practice is not None:
        form.network_id.choices = [c for c in form.network_id.choices
                                   if _value(c) == practice.network_id]
    if form.validate_on_submit():
        publish = bool(form.publish.data)
        was_published = practice is not None and practice.is_published
        try:
            saved = service.save_practice(
                session, current_user, practice, network_id=form.network_id.data,
                title=form.title.data, body=form.body.data, language=form.language.data,
                publish=publish,
            )
        except service.PracticeError:
            abort(404)
        action = ("practice_published" if publish and not was_published
                  else "practice_unpublished" if was_published and not publish
                  else "practice_edited")
        audit.record(action, target=f"practice:{saved.id}",
                     detail=f"network:{saved.network_id}", commit=False)
        session.commit()
        flash(gettext("The practice is published: every logged-in user can read it.")
              if publish else gettext("The practice is saved as a draft; only your network's "
                                      "leaders can see it."))
        return redirect(url_for("practices.show_practice", practice_id=saved.id))
    return render_template("practices/edit.html", form=form, practice=practice)


def _value(option):
    return option[0] if isinstance(option, tuple) else option.value


@bp.route("/practices/<int:practice_id>/delete", methods=["POST"])
@roles_required("leader")
def delete_practice(practice_id: int):
    session = get_session()
    practice = service.editable_practice(session, current_user, practice_id)
    if practice is None or not DeleteForm().validate_on_submit():
        abort(404)
    audit.record("practice_deleted", target=f"practice:{practice.id}",
                 detail=f"network:{practice.network_id}", commit=False)
    service.delete_practice(session, practice)
    session.commit()
    flash(gettext("The practice was deleted."))
    return redirect(url_for("practices.list_practices"))


@bp.route("/practices/settings", methods=["GET", "POST"])
@roles_required("leader")
def network_settings():
    session = get_session()
    networks = service.led_networks(session, current_user)
    form = NamingForm()
    if form.validate_on_submit():
        try:
            network = service.set_named_nationally(
                session, current_user, int(form.network_id.data or 0),
                bool(form.is_named_nationally.data))
        except (service.PracticeError, ValueError):
            abort(404)
        audit.record("network_naming_changed", target=f"network:{network.id}",
                     detail=f"named={network.is_named_nationally}", commit=False)
        session.commit()
        flash(gettext("%(network)s is now named in national views.", network=network.name)
              if network.is_named_nationally else
              gettext("%(network)s is now shown without its name in national views.",
                      network=network.name))
        return redirect(url_for("practices.network_settings"))
    return render_template("practices/settings.html", networks=networks, form=form)
