"""Answering a survey: by personal link or while logged in as a member.

A link (/s/<token>) is exchanged at once for the invitation's id in the session and
the browser is sent on to /survey, so the token stays out of the address bar, the
history and Referer headers. A member who is logged in picks a round on
/my-surveys instead. Either way the session then names one survey, and every page
reads and writes only the response that belongs to it.

Every page is a plain form (no JavaScript): each button saves the page first, the
language buttons too, so no choice is ever lost. GET requests never write.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import bindparam, select

from ..auth import roles_required
from ..db import get_session
from ..i18n import format_date
from ..limiter import limiter, survey_link_limit
from ..models import Invitation, Network, Period, QuestionnaireVersion, Response, Round
from ..models.survey import CLOSED, DRAFT, OPEN, SUBMITTED
from ..questionnaire import Questionnaire
from ..questionnaire.model import Dimension, localized
from ..services.questionnaires import questionnaire_by_checksum
from ..services.surveys import (
    DONT_KNOW,
    MAX_TEXT_LENGTH,
    LinkNotValid,
    answers_of,
    member_statuses,
    questionnaire_of,
    resolve_token,
    save_answers,
    start_or_resume,
    start_or_resume_for_user,
    submit,
    validate_answers,
)

bp = Blueprint("survey", __name__)

INVITATION_KEY = "survey_invitation_id"
#: Part of the link's hash, so that a stale session never opens another invitation
#: (SQLite may give a deleted invitation's id to a new one).
INVITATION_CHECK_KEY = "survey_invitation_check"
ROUND_KEY = "survey_round_id"
FIELD_PREFIX = "item_"

#: What the reader sees for the service's error codes.
ERROR_MESSAGES = {
    "out_of_scale": _l("Choose one of the options."),
    "unknown": _l("Choose one of the options."),
    "too_long": _l("The answer is too long (at most %(count)s characters).",
                   count=MAX_TEXT_LENGTH),
    "not_text": _l("The answer contains characters that are not text. Remove them and save again."),
}
#: For a field that is not a question of this page (an old or altered form).
NOT_ON_PAGE = _l("The form contained an answer to a question that is not on this page. "
                 "Check your answers and save again.")


class Unavailable(Exception):
    """The survey cannot be answered now; `kind` picks the page that says why."""

    def __init__(self, kind: str, round_: Round | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.round = round_


@dataclass
class Survey:
    """The survey the session names, with its response once one exists."""

    round: Round
    questionnaire: Questionnaire
    invitation: Invitation | None
    user_id: int | None
    response: Response | None

    @property
    def by_link(self) -> bool:
        return self.invitation is not None


@bp.after_request
def _no_store(response):
    # Answers and links are personal: no browser or proxy may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(Unavailable)
def _unavailable(error: Unavailable):
    get_session().rollback()
    if error.kind == CLOSED:
        return render_template("survey/closed.html", closes_on=_date(error.round.closes_on)), 410
    if error.kind == DRAFT:
        return render_template("survey/not_open.html", opens_on=_date(error.round.opens_on)), 403
    return _link_not_valid()


def _link_not_valid():
    return render_template("survey/link_not_valid.html"), 404


def _too_many_attempts(_limit):
    response = make_response(render_template("survey/too_many_requests.html"), 429)
    response.headers["Retry-After"] = "60"
    return response


# -- the survey in the session ---------------------------------------------------------------


def _check_open(round_: Round) -> None:
    if round_.state == CLOSED:
        raise Unavailable(CLOSED, round_)
    if round_.state != OPEN:
        raise Unavailable(DRAFT, round_)


def _is_member_of(network_id: int) -> bool:
    return current_user.is_authenticated and network_id in current_user.network_ids("member")


#: What every survey page reads first, in one query (built once; it runs on every page).
_SURVEY_OF_INVITATION = (
    select(Invitation, Round, QuestionnaireVersion.checksum, Response)
    .join(Round, Round.id == Invitation.round_id)
    .join(QuestionnaireVersion, QuestionnaireVersion.id == Round.questionnaire_id)
    .outerjoin(Response, Response.invitation_id == Invitation.id)
    .where(Invitation.id == bindparam("invitation_id"))
)
_SURVEY_OF_MEMBER = (
    select(Round, QuestionnaireVersion.checksum, Response)
    .join(QuestionnaireVersion, QuestionnaireVersion.id == Round.questionnaire_id)
    .outerjoin(Response, (Response.round_id == Round.id)
               & (Response.user_id == bindparam("user_id")))
    .where(Round.id == bindparam("round_id"))
)


def _current_survey() -> Survey:
    """The survey the session names; Unavailable when there is none or it cannot be answered.

    One query reads the invitation (or the member's round), the round, the checksum of its
    questionnaire and the response; the parsed questionnaire comes from the per-process
    cache, so its definition text is not read on every request.
    """
    db = get_session()
    invitation_id = session.get(INVITATION_KEY)
    round_id = session.get(ROUND_KEY)
    if isinstance(invitation_id, int):
        row = db.execute(_SURVEY_OF_INVITATION, {"invitation_id": invitation_id}).first()
        check = session.get(INVITATION_CHECK_KEY)
        if (row is None or not isinstance(check, str)
                or not hmac.compare_digest(check, _link_check(row[0]))):
            raise Unavailable("not_valid")
        invitation, round_, checksum, response = row
        _check_open(round_)
        if response is None and invitation.answered_at is not None:
            # Answered before the round was closed and reopened: the answers are no longer
            # linked to anyone (start_or_resume refuses the same way).
            raise Unavailable("not_valid")
        questionnaire = questionnaire_by_checksum(db, round_.questionnaire_id, checksum)
        return Survey(round_, questionnaire, invitation, None, response)
    if isinstance(round_id, int) and current_user.is_authenticated:
        row = db.execute(_SURVEY_OF_MEMBER,
                         {"round_id": round_id, "user_id": current_user.id}).first()
        if row is None or not _is_member_of(row[0].network_id):
            raise Unavailable("not_valid")
        round_, checksum, response = row
        _check_open(round_)
        questionnaire = questionnaire_by_checksum(db, round_.questionnaire_id, checksum)
        return Survey(round_, questionnaire, None, current_user.id, response)
    raise Unavailable("not_valid")


def _link_check(invitation: Invitation) -> str:
    return invitation.token_hash[:32]


def _response_for_writing(survey: Survey) -> Response:
    """The survey's response, created as a draft on the first save (never on a GET)."""
    if survey.response is not None:
        return survey.response  # _current_survey has checked the round and the link
    db = get_session()
    if survey.invitation is not None:
        return start_or_resume(db, survey.invitation)
    return start_or_resume_for_user(db, survey.round, survey.user_id)


def _answers(survey: Survey) -> dict[str, str]:
    return answers_of(get_session(), survey.response) if survey.response else {}


# -- presentation helpers --------------------------------------------------------------------


def _lang() -> str:
    return str(get_locale())


def _date(value) -> str:
    return format_date(value, format="long") if value else ""


def _text(survey: Survey, text) -> str:
    return localized(text, _lang(), survey.questionnaire.default_language)


def _scale(survey: Survey) -> list[tuple[str, str]]:
    """(value, label) of every scale point in the reader's language, then Don't know."""
    scale = survey.questionnaire.scale
    labels = (scale.labels.get(_lang())
              or scale.labels.get(survey.questionnaire.default_language)
              or next(iter(scale.labels.values())))
    choices = [(str(value), label)
               for value, label in zip(range(scale.min, scale.max + 1), labels, strict=True)]
    if scale.dont_know:
        choices.append((DONT_KNOW, _("Don't know")))
    return choices


def _answer_label(survey: Survey, item, value: str | None) -> str | None:
    """The answer as the reader chose it; None when not answered."""
    if not value:
        return None
    if not item.is_scored:
        return value
    return dict(_scale(survey)).get(value, value)


def _page_summaries(survey: Survey, values: dict[str, str]) -> list[dict]:
    return [
        {
            "number": number,
            "title": _text(survey, dimension.title),
            "answered": sum(1 for item in dimension.items if values.get(item.id)),
            "total": len(dimension.items),
        }
        for number, dimension in enumerate(survey.questionnaire.dimensions, start=1)
    ]


def _survey_facts(survey: Survey) -> dict:
    db = get_session()
    network = db.get(Network, survey.round.network_id)
    period = db.get(Period, survey.round.period_id)
    return {
        "title": _text(survey, survey.questionnaire.title),
        "network": network.name,
        "period": period.label,
        "closes_on": _date(survey.round.closes_on),
        "by_link": survey.by_link,
        "is_submitted": survey.response is not None and survey.response.status == SUBMITTED,
    }


def _dimension(survey: Survey, number: int) -> Dimension:
    dimensions = survey.questionnaire.dimensions
    if not 1 <= number <= len(dimensions):
        abort(404)
    return dimensions[number - 1]


def _field_id(item_id: str, value: str | None = None) -> str:
    return f"{FIELD_PREFIX}{item_id}" + (f"-{value}" if value is not None else "")


def _render_page(survey: Survey, number: int, values: dict[str, str],
                 errors: dict[str, str], status: int = 200):
    dimension = _dimension(survey, number)
    total = len(survey.questionnaire.dimensions)
    scale = _scale(survey)
    items = []
    for item in dimension.items:
        code = errors.get(item.id)
        items.append({
            "id": item.id,
            "field": _field_id(item.id),
            "text": _text(survey, item.text),
            "is_scored": item.is_scored,
            "value": values.get(item.id, ""),
            "error": ERROR_MESSAGES.get(code, ERROR_MESSAGES["unknown"]) if code else None,
            # The error summary links to the first control of the question.
            "anchor": _field_id(item.id, scale[0][0]) if item.is_scored else _field_id(item.id),
        })
    on_page = {item.id for item in dimension.items}
    stray = [item_id for item_id in errors if item_id not in on_page]
    html = render_template(
        "survey/page.html",
        survey=_survey_facts(survey),
        number=number,
        total=total,
        is_last=number == total,
        dimension_title=_text(survey, dimension.title),
        dimension_description=_text(survey, dimension.description),
        items=items,
        scale=scale,
        stray_error=NOT_ON_PAGE if stray else None,
        has_errors=bool(errors),
        max_text_length=MAX_TEXT_LENGTH,
    )
    return html, status


def _posted_answers() -> tuple[dict[str, str], dict[str, str]]:
    """The page's item_<id> fields as item id -> raw value, and items sent more than once."""
    posted, errors = {}, {}
    for name in request.form:
        if not name.startswith(FIELD_PREFIX):
            continue
        item_id = name[len(FIELD_PREFIX):]
        values = request.form.getlist(name)
        if len(values) > 1:
            errors[item_id] = "unknown"
        # Browsers send line breaks in a textarea as CRLF; store them as LF.
        posted[item_id] = values[0].replace("\r\n", "\n")
    return posted, errors


# -- routes ----------------------------------------------------------------------------------


@bp.route("/s/<path:token>")
@limiter.limit(survey_link_limit, on_breach=_too_many_attempts)
def open_link(token: str):
    db = get_session()
    invitation = resolve_token(db, token)
    if invitation is None:
        current_app.logger.info("survey link not valid")
        return _link_not_valid()
    session.pop(ROUND_KEY, None)
    session[INVITATION_KEY] = invitation.id
    session[INVITATION_CHECK_KEY] = _link_check(invitation)
    if invitation.language in current_app.config["LANGUAGES"] and "lang" not in session:
        session["lang"] = invitation.language
    return redirect(url_for(".show_survey"))


@bp.route("/my-surveys")
@roles_required("member")
def list_my_surveys():
    db = get_session()
    network_ids = current_user.network_ids("member")
    rounds = list(db.scalars(
        select(Round)
        .where(Round.state == OPEN, Round.network_id.in_(network_ids))
        .order_by(Round.closes_on, Round.id)
    )) if network_ids else []
    statuses = member_statuses(db, current_user.id, current_user.email,
                               [r.id for r in rounds])
    lang = _lang()
    entries = []
    for round_ in rounds:
        questionnaire = questionnaire_of(round_)
        entries.append({
            "round_id": round_.id,
            "network": db.get(Network, round_.network_id).name,
            "period": db.get(Period, round_.period_id).label,
            "title": localized(questionnaire.title, lang, questionnaire.default_language),
            "closes_on": _date(round_.closes_on),
            "status": statuses.get(round_.id),
        })
    return render_template("survey/my_surveys.html", entries=entries)


@bp.route("/rounds/<int:round_id>/answer", methods=["POST"])
@roles_required("member")
def answer_as_member(round_id: int):
    round_ = get_session().get(Round, round_id)
    if round_ is None or not _is_member_of(round_.network_id):
        abort(404)
    session.pop(INVITATION_KEY, None)
    session.pop(INVITATION_CHECK_KEY, None)
    session[ROUND_KEY] = round_.id
    return redirect(url_for(".show_survey"), 303)


@bp.route("/survey")
def show_survey():
    survey = _current_survey()
    values = _answers(survey)
    pages = _page_summaries(survey, values)
    if not values:
        next_url = url_for(".show_page", number=1)
    else:
        untouched = [page["number"] for page in pages if page["answered"] == 0]
        next_url = (url_for(".show_page", number=untouched[0]) if untouched
                    else url_for(".review"))
    return render_template(
        "survey/overview.html",
        survey=_survey_facts(survey),
        description=_text(survey, survey.questionnaire.description),
        pages=pages,
        has_answers=bool(values),
        question_count=len(survey.questionnaire.items),
        next_url=next_url,
    )


@bp.route("/survey/page/<int:number>", methods=["GET", "POST"])
def show_page(number: int):
    survey = _current_survey()
    dimension = _dimension(survey, number)
    if request.method == "GET":
        return _render_page(survey, number, _answers(survey), {})

    switch_to = request.form.get("switch_lang")
    if switch_to in current_app.config["LANGUAGES"]:
        session["lang"] = switch_to
        refresh()  # this very response is already in the new language
    item_ids = [item.id for item in dimension.items]
    posted, errors = _posted_answers()
    # Checked before anything is written, so that a page with errors creates no draft either.
    errors = {**validate_answers(survey.questionnaire, posted, item_ids), **errors}
    if not errors:
        db = get_session()
        try:
            response = _response_for_writing(survey)
            errors = save_answers(db, response, survey.questionnaire, posted, item_ids)
        except LinkNotValid:
            db.rollback()
            _check_open(survey.round)
            raise Unavailable("not_valid") from None
        if errors:
            db.rollback()
        else:
            db.commit()
    if errors:
        return _render_page(survey, number, posted, errors, status=400)

    action = request.form.get("action")
    total = len(survey.questionnaire.dimensions)
    if switch_to:
        target = url_for(".show_page", number=number)
    elif action == "previous":
        target = (url_for(".show_page", number=number - 1) if number > 1
                  else url_for(".show_survey"))
    elif action == "save":
        if survey.by_link:
            flash(_("Your answers are saved. Open the same link to continue, on any device."),
                  "success")
        else:
            flash(_("Your answers are saved. You can continue later from My surveys."),
                  "success")
        target = url_for(".show_survey")
    elif action == "review" or number == total:
        target = url_for(".review")
    else:
        target = url_for(".show_page", number=number + 1)
    return redirect(target, 303)


@bp.route("/survey/review")
def review():
    survey = _current_survey()
    values = _answers(survey)
    sections, unanswered = [], 0
    for number, dimension in enumerate(survey.questionnaire.dimensions, start=1):
        rows = []
        for item in dimension.items:
            label = _answer_label(survey, item, values.get(item.id))
            unanswered += label is None
            rows.append({"text": _text(survey, item.text), "answer": label,
                         "is_text": not item.is_scored})
        sections.append({"number": number, "title": _text(survey, dimension.title),
                         "rows": rows})
    return render_template(
        "survey/review.html",
        survey=_survey_facts(survey),
        sections=sections,
        unanswered=unanswered,
        total=len(survey.questionnaire.items),
    )


@bp.route("/survey/submit", methods=["POST"])
def submit_survey():
    survey = _current_survey()
    db = get_session()
    try:
        response = _response_for_writing(survey)
        submit(db, response, survey.questionnaire)
    except LinkNotValid:
        db.rollback()
        _check_open(survey.round)
        raise Unavailable("not_valid") from None
    db.commit()
    return redirect(url_for(".confirmation"), 303)


@bp.route("/survey/thank-you")
def confirmation():
    survey = _current_survey()
    if survey.response is None or survey.response.status != SUBMITTED:
        return redirect(url_for(".show_survey"))
    return render_template("survey/confirmation.html", survey=_survey_facts(survey))
