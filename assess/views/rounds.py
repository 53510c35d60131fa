"""Leaders run survey rounds; the national level creates the periods.

Leaders of a network and admins change its rounds; the region's coordinators may look.
Anyone else gets 404, the same as for a round that does not exist. Pages show counts
only: who answered, and what, is never shown.
"""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext, ngettext
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..auth import roles_required
from ..db import get_session
from ..forms.rounds import (
    MAX_LIST_CHARACTERS,
    CloseRoundForm,
    ExtendRoundForm,
    InviteListForm,
    InviteOneForm,
    MailWaitingForm,
    OpenRoundForm,
    PeriodForm,
    RemindForm,
    ReopenRoundForm,
    choice,
)
from ..i18n import format_date
from ..labels import period_label
from ..mail import sender_for
from ..models import Invitation, Network, Period, QuestionnaireVersion, Round
from ..models.survey import CLOSED, OPEN
from ..questionnaire import localized
from ..services import audit, schedule, scope, surveys
from ..services.questionnaires import definition_of

bp = Blueprint("rounds", __name__)

#: The round list shows at most this many rounds (admins see every network's).
LIST_LIMIT = 500
#: Each form of the manage page has its own prefix, so field ids stay unique on the page.
PREFIXES = {
    "invite_list": "list",
    "invite_one": "one",
    "mail_waiting": "waiting",
    "remind": "remind",
    "close": "close",
    "extend": "extend",
    "reopen": "reopen",
}
FORM_CLASSES = {
    "invite_list": InviteListForm,
    "invite_one": InviteOneForm,
    "mail_waiting": MailWaitingForm,
    "remind": RemindForm,
    "close": CloseRoundForm,
    "extend": ExtendRoundForm,
    "reopen": ReopenRoundForm,
}


# -- who may do what ---------------------------------------------------------------------------


def _managed_network_ids() -> set[int] | None:
    """Networks whose rounds the user may change; None means every network (admins)."""
    if "admin" in current_user.role_names:
        return None
    return current_user.network_ids("leader")


def _can_manage(network_id: int) -> bool:
    managed = _managed_network_ids()
    return managed is None or network_id in managed


def _viewable_round(round_id: int) -> Round:
    """The round if the reader may see it; 404 otherwise, whatever the cause."""
    session = get_session()
    round_ = session.get(Round, round_id)
    if round_ is None or not scope.can_read_report(session, current_user, round_.network_id):
        abort(404)
    return round_


def _manageable_round(round_id: int) -> Round:
    round_ = _viewable_round(round_id)
    if not _can_manage(round_.network_id):
        abort(404)
    return round_


def _managed_networks() -> list[Network]:
    managed = _managed_network_ids()
    query = select(Network).order_by(Network.name)
    if managed is not None:
        if not managed:
            return []
        query = query.where(Network.id.in_(managed))
    return list(get_session().scalars(query))


def _send():
    return sender_for(current_app)


def _today() -> date:
    return date.today()


# -- the list of rounds and opening a round ----------------------------------------------------


def _round_lines(network_ids: set[int] | None) -> list[dict]:
    session = get_session()
    query = surveys.round_listing().limit(LIST_LIMIT)
    if network_ids is not None:
        if not network_ids:
            return []
        query = query.where(Round.network_id.in_(network_ids))
    lang = request_language()
    lines = []
    rows = session.execute(query)
    for round_, network, period, questionnaire, invited, answered, submitted in rows:
        definition = definition_of(questionnaire)
        lines.append({
            "id": round_.id,
            "network": network,
            "period": period,
            "questionnaire": localized(definition.title, lang, definition.default_language),
            "version": questionnaire.version,
            "state": round_.state,
            "opens_on": round_.opens_on,
            "closes_on": round_.closes_on,
            "invited": invited,
            "answered": answered,
            "submitted": submitted,
        })
    return lines


def request_language() -> str:
    return str(get_locale())


def _fill_open_choices(form: OpenRoundForm, networks: list[Network]) -> None:
    session = get_session()
    today = _today()
    periods = session.scalars(
        select(Period)
        .where(or_(Period.ends_on.is_(None), Period.ends_on >= today))
        .order_by(Period.starts_on, Period.label)
    )
    lang = request_language()
    versions = []
    for row in session.scalars(
        select(QuestionnaireVersion).order_by(QuestionnaireVersion.slug,
                                              QuestionnaireVersion.version.desc())
    ):
        definition = definition_of(row)
        title = localized(definition.title, lang, definition.default_language)
        versions.append(choice(row.id, f"{title} ({row.slug} v{row.version})"))
    form.network_id.choices = [choice(n.id, n.name) for n in networks]
    form.period_id.choices = [choice(p.id, period_label(p.label)) for p in periods]
    form.questionnaire_id.choices = versions


def _render_list(form: OpenRoundForm | None = None, status: int = 200):
    session = get_session()
    viewable = scope.report_network_ids(session, current_user)
    only = request.args.get("network", type=int)
    if only is not None:
        if viewable is not None and only not in viewable:
            abort(404)
        viewable = {only}
    networks = _managed_networks()
    if form is None:
        form = OpenRoundForm(formdata=None)
    _fill_open_choices(form, networks)
    if only is not None and not form.network_id.data and any(n.id == only for n in networks):
        form.network_id.data = only
    lines = _round_lines(viewable)
    return render_template(
        "rounds/list.html",
        lines=lines,
        form=form,
        networks=networks,
        truncated=len(lines) >= LIST_LIMIT,
    ), status


@bp.route("/rounds")
@roles_required("leader", "coordinator", "admin")
def list_rounds():
    return _render_list()


@bp.route("/rounds", methods=["POST"])
@roles_required("leader", "coordinator", "admin")
def open_new_round():
    session = get_session()
    networks = _managed_networks()
    try:
        network_id = int(request.form.get("network_id", ""))
    except ValueError:
        abort(404)
    if not any(n.id == network_id for n in networks):
        abort(404)
    form = OpenRoundForm()
    _fill_open_choices(form, networks)
    if not form.validate_on_submit():
        return _render_list(form, 400)
    today = _today()
    network = session.get(Network, form.network_id.data)
    period = session.get(Period, form.period_id.data)
    questionnaire = session.get(QuestionnaireVersion, form.questionnaire_id.data)
    opens_on = form.opens_on.data or today
    if opens_on < today:
        form.opens_on.errors.append(gettext("The opening date cannot be in the past."))
        return _render_list(form, 400)
    if period.ends_on and opens_on > period.ends_on:
        form.opens_on.errors.append(gettext("The period %(period)s has ended by the opening date.",
                                            period=period_label(period.label)))
        return _render_list(form, 400)
    exists = session.scalar(select(Round.id).where(
        Round.network_id == network.id, Round.period_id == period.id,
        Round.questionnaire_id == questionnaire.id,
    ))
    if exists is not None:
        form.questionnaire_id.errors.append(gettext(
            "%(network)s already has a round of this questionnaire in %(period)s.",
            network=network.name, period=period.label,
        ))
        return _render_list(form, 400)
    try:
        round_ = surveys.open_round(session, network, period, questionnaire, form.closes_on.data,
                                    today, opens_on)
    except surveys.SurveyError as exc:
        session.rollback()
        form.closes_on.errors.append(exc.translated())
        return _render_list(form, 400)
    audit.record("round_opened", target=f"round:{round_.id}",
                 detail=f"{round_.state} closes_on={round_.closes_on}", commit=False)
    session.commit()
    if round_.state == OPEN:
        flash(gettext("The round is open until %(date)s. Now invite the members.",
                      date=format_date(round_.closes_on)))
    else:
        flash(gettext("The round opens on %(opens)s. Invitations you add now are mailed then.",
                      opens=format_date(round_.opens_on)))
    return redirect(url_for("rounds.manage_round", round_id=round_.id))


# -- one round ---------------------------------------------------------------------------------


def _render_manage(round_: Round, status: int = 200, problems: list[str] | None = None,
                   **bound):
    session = get_session()
    forms = {}
    for name, form_class in FORM_CLASSES.items():
        # formdata=None: a POST to one form must not fill in the others.
        form = bound.get(name)
        forms[name] = form if form is not None else form_class(formdata=None,
                                                               prefix=PREFIXES[name])
    progress = surveys.round_progress(session, round_)
    definition = definition_of(round_.questionnaire)
    can_manage = _can_manage(round_.network_id)
    today = _today()
    return render_template(
        "rounds/manage.html",
        round=round_,
        title=localized(definition.title, request_language(), definition.default_language),
        progress=progress,
        forms=forms,
        problems=problems or [],
        can_manage=can_manage,
        can_reopen=round_.state == CLOSED and surveys.is_current(round_.period, today),
        mails_per_request=int(current_app.config["MAILS_PER_REQUEST"]),
    ), status


@bp.route("/rounds/<int:round_id>/manage")
@roles_required("leader", "coordinator", "admin")
def manage_round(round_id: int):
    return _render_manage(_viewable_round(round_id))


def _back(round_: Round):
    return redirect(url_for("rounds.manage_round", round_id=round_.id))


def _refuse_if_closed(round_: Round) -> bool:
    if round_.state == CLOSED:
        flash(gettext("The round is closed; no more invitations can be sent."), "error")
        return True
    return False


def _mail_new_invitations(round_: Round, invitation_ids: list[int]) -> None:
    """Invitations of an open round go out at once; a draft's when it opens."""
    count = len(invitation_ids)
    if round_.state != OPEN:
        flash(ngettext(
            "%(num)d member invited. The invitation is mailed when the round opens on %(date)s.",
            "%(num)d members invited. The invitations are mailed when the round opens on "
            "%(date)s.",
            count, date=format_date(round_.opens_on),
        ))
        return
    report = _mail_waiting_invitations(round_, invitation_ids)
    flash(ngettext("%(num)d member invited.", "%(num)d members invited.", count))
    _flash_mailed(report)


def _mail_waiting_invitations(round_: Round, invitation_ids: list[int] | None = None):
    config = current_app.config
    return schedule.send_pending_invitations(
        get_session(), _send(), config["SECRET_KEY"], config["BASE_URL"],
        round_id=round_.id, invitation_ids=invitation_ids,
        limit=int(config["MAILS_PER_REQUEST"]),
    )


def _flash_mailed(report: schedule.TickReport) -> None:
    if report.invited:
        flash(ngettext("%(num)d invitation mailed.", "%(num)d invitations mailed.",
                       report.invited))
    if report.left:
        flash(ngettext(
            "%(num)d invitation is waiting to be mailed: the daily run mails it, or press "
            "\u201cMail the waiting invitations now\u201d.",
            "%(num)d invitations are waiting to be mailed: the daily run mails them, or press "
            "\u201cMail the waiting invitations now\u201d to mail the next ones.",
            report.left,
        ))
    _flash_failures(report)


def _flash_failures(report: schedule.TickReport) -> None:
    if report.failed:
        flash(ngettext(
            "%(num)d mail could not be sent; it is tried again in the next daily run.",
            "%(num)d mails could not be sent; they are tried again in the next daily run.",
            len(report.failed),
        ), "error")


def _read_upload(storage) -> str | None:
    """The uploaded file as text; None when it is not UTF-8 text or is too long."""
    data = storage.read(MAX_LIST_CHARACTERS * 4 + 1)
    if len(data) > MAX_LIST_CHARACTERS * 4:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


@bp.route("/rounds/<int:round_id>/invitations/list", methods=["POST"])
@roles_required("leader", "coordinator", "admin")
def invite_from_list(round_id: int):
    session = get_session()
    round_ = _manageable_round(round_id)
    form = InviteListForm(prefix=PREFIXES["invite_list"])
    if not form.validate_on_submit():
        return _render_manage(round_, 400, invite_list=form)
    if _refuse_if_closed(round_):
        return _back(round_)
    text = form.addresses.data or ""
    upload = form.upload.data
    if upload is not None and getattr(upload, "filename", ""):
        text = _read_upload(upload)
        if text is None:
            form.upload.errors.append(gettext(
                "The file is not a CSV file in UTF-8; save it as CSV UTF-8 and try again."))
            return _render_manage(round_, 400, invite_list=form)
    if not text.strip():
        form.addresses.errors.append(gettext("Paste the list or choose a file."))
        return _render_manage(round_, 400, invite_list=form)
    try:
        rows = surveys.parse_invitation_csv(text, list(current_app.config["LANGUAGES"]))
        created = surveys.create_invitations(session, current_app.config["SECRET_KEY"], round_,
                                             rows)
    except surveys.SurveyError as exc:
        session.rollback()
        return _render_manage(round_, 400, problems=exc.translated_problems(), invite_list=form)
    audit.record("invitations_created", target=f"round:{round_.id}",
                 detail=f"count={len(created)} from list", commit=False)
    session.commit()
    _mail_new_invitations(round_, [invitation.id for invitation, _token in created])
    return _back(round_)


@bp.route("/rounds/<int:round_id>/invitations", methods=["POST"])
@roles_required("leader", "coordinator", "admin")
def invite_one(round_id: int):
    session = get_session()
    round_ = _manageable_round(round_id)
    form = InviteOneForm(prefix=PREFIXES["invite_one"])
    if not form.validate_on_submit():
        return _render_manage(round_, 400, invite_one=form)
    if _refuse_if_closed(round_):
        return _back(round_)
    email = form.email.data.strip()
    already = session.scalar(select(Invitation.id).where(
        Invitation.round_id == round_.id, func.lower(Invitation.email) == email.lower()
    ))
    if already is not None:
        form.email.errors.append(gettext("%(email)s has been invited to this round already.",
                                         email=email))
        return _render_manage(round_, 400, invite_one=form)
    try:
        invitation, _token = surveys.create_invitation(
            session, current_app.config["SECRET_KEY"], round_, email,
            (form.organization.data or "").strip() or None, form.language.data or None,
        )
    except surveys.SurveyError as exc:
        session.rollback()
        form.email.errors.append(exc.translated())
        return _render_manage(round_, 400, invite_one=form)
    audit.record("invitations_created", target=f"round:{round_.id}", detail="count=1",
                 commit=False)
    session.commit()
    _mail_new_invitations(round_, [invitation.id])
    return _back(round_)


@bp.route("/rounds/<int:round_id>/invitations/mail", methods=["POST"])
@roles_required("leader", "coordinator", "admin")
def mail_waiting(round_id: int):
    round_ = _manageable_round(round_id)
    form = MailWaitingForm(prefix=PREFIXES["mail_waiting"])
    if not form.validate_on_submit():
        return _render_manage(round_, 400, mail_waiting=form)
    if round_.state != OPEN:
        flash(gettext("Invitations are mailed only while the round is open."), "error")
        return _back(round_)
    report = _mail_waiting_invitations(round_)
    audit.record("invitations_mailed", target=f"round:{round_.id}",
                 detail=f"mailed={report.invited} failed={len(report.failed)} "
                        f"left={report.left}")
    if not (report.invited or report.failed):
        flash(gettext("Every invitation has been mailed already."))
    _flash_mailed(report)
    return _back(round_)


@bp.route("/rounds/<int:round_id>/reminders", methods=["POST"])
@roles_required("leader", "coordinator", "admin")
def send_reminders(round_id: int):
    round_ = _manageable_round(round_id)
    form = RemindForm(prefix=PREFIXES["remind"])
    if not form.validate_on_submit():
        return _render_manage(round_, 400, remind=form)
    if round_.state != OPEN:
        flash(gettext("Reminders can be sent only while the round is open."), "error")
        return _back(round_)
    config = current_app.config
    report = schedule.remind_now(get_session(), round_, _send(), config["SECRET_KEY"],
                                 config["BASE_URL"], limit=int(config["MAILS_PER_REQUEST"]))
    audit.record("reminders_sent", target=f"round:{round_.id}",
                 detail=f"reminded={report.reminded} failed={len(report.failed)} "
                        f"left={report.left}")
    if report.reminded:
        flash(ngettext("%(num)d reminder sent.", "%(num)d reminders sent.", report.reminded))
    if report.left:
        flash(ngettext(
            "%(num)d reminder is still to be sent: press \u201cSend reminders now\u201d again.",
            "%(num)d reminders are still to be sent: press \u201cSend reminders now\u201d again "
            "to send the next ones.",
            report.left,
        ))
    if not (report.reminded or report.left or report.failed):
        flash(gettext("No reminders were needed: everyone invited has answered or was reminded "
                      "in the last 24 hours."))
    _flash_failures(report)
    return _back(round_)


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@roles_required("leader", "coordinator", "admin")
def close_round(round_id: int):
    session = get_session()
    round_ = _manageable_round(round_id)
    form = CloseRoundForm(prefix=PREFIXES["close"])
    if not form.validate_on_submit():
        return _render_manage(round_, 400, close=form)
    if round_.state == CLOSED:
        flash(gettext("The round is closed already."))
        return _back(round_)
    surveys.close_round(session, round_, current_app.config["MIN_RESPONDENTS"])
    audit.record("round_closed", target=f"round:{round_.id}", commit=False)
    session.commit()
    flash(gettext("The round is closed. Its results are in the report."))
    return _back(round_)


@bp.route("/rounds/<int:round_id>/extend", methods=["POST"])
@roles_required("leader", "coordinator", "admin")
def extend_round(round_id: int):
    session = get_session()
    round_ = _manageable_round(round_id)
    form = ExtendRoundForm(prefix=PREFIXES["extend"])
    if not form.validate_on_submit():
        return _render_manage(round_, 400, extend=form)
    if round_.state == CLOSED:
        flash(gettext("The round is closed; reopen it instead."), "error")
        return _back(round_)
    if round_.opens_on and form.closes_on.data < round_.opens_on:
        # surveys.extend_round does not check this for a draft that opens later.
        form.closes_on.errors.append(gettext(
            "The closing date must come after the opening date."))
        return _render_manage(round_, 400, extend=form)
    try:
        surveys.extend_round(session, round_, form.closes_on.data, _today())
    except surveys.SurveyError as exc:
        session.rollback()
        form.closes_on.errors.append(exc.translated())
        return _render_manage(round_, 400, extend=form)
    audit.record("round_extended", target=f"round:{round_.id}",
                 detail=f"closes_on={round_.closes_on}", commit=False)
    session.commit()
    flash(gettext("The round now closes on %(date)s.", date=format_date(round_.closes_on)))
    return _back(round_)


@bp.route("/rounds/<int:round_id>/reopen", methods=["POST"])
@roles_required("leader", "coordinator", "admin")
def reopen_round(round_id: int):
    session = get_session()
    round_ = _manageable_round(round_id)
    form = ReopenRoundForm(prefix=PREFIXES["reopen"])
    if not form.validate_on_submit():
        return _render_manage(round_, 400, reopen=form)
    if round_.state != CLOSED:
        flash(gettext("Only a closed round can be reopened."), "error")
        return _back(round_)
    if not surveys.is_current(round_.period, _today()):
        flash(gettext("The period %(period)s is over; its rounds stay closed.",
                      period=period_label(round_.period.label)), "error")
        return _back(round_)
    try:
        surveys.reopen_round(session, round_, form.closes_on.data, _today())
    except surveys.SurveyError as exc:
        session.rollback()
        form.closes_on.errors.append(exc.translated())
        return _render_manage(round_, 400, reopen=form)
    audit.record("round_reopened", target=f"round:{round_.id}",
                 detail=f"closes_on={round_.closes_on}", commit=False)
    session.commit()
    flash(gettext("The round is open again until %(date)s.", date=format_date(round_.closes_on)))
    return _back(round_)


# -- periods (national level) ------------------------------------------------------------------


def _render_periods(form: PeriodForm | None = None, status: int = 200):
    session = get_session()
    rounds = (
        select(Round.period_id, func.count(Round.id).label("rounds"))
        .group_by(Round.period_id)
        .subquery()
    )
    rows = session.execute(
        select(Period, rounds.c.rounds)
        .outerjoin(rounds, rounds.c.period_id == Period.id)
        .order_by(*Period.newest_first())
    ).all()
    today = _today()
    periods = [
        {"period": period, "rounds": count or 0, "current": surveys.is_current(period, today)}
        for period, count in rows
    ]
    return render_template("rounds/periods.html", periods=periods,
                           form=form or PeriodForm(formdata=None)), status


@bp.route("/periods")
@roles_required("analyst", "admin")
def list_periods():
    return _render_periods()


@bp.route("/periods", methods=["POST"])
@roles_required("analyst", "admin")
def create_period_view():
    session = get_session()
    form = PeriodForm()
    if not form.validate_on_submit():
        return _render_periods(form, 400)
    label = form.label.data.strip()
    if session.scalar(select(Period.id).where(Period.label == label)) is not None:
        form.label.errors.append(gettext("The period %(label)s exists already.", label=label))
        return _render_periods(form, 400)
    try:
        period = surveys.create_period(session, label, form.starts_on.data, form.ends_on.data)
    except surveys.SurveyError as exc:
        session.rollback()
        form.label.errors.append(exc.translated())
        return _render_periods(form, 400)
    audit.record("period_created", target=f"period:{period.id}", detail=period.label,
                 commit=False)
    session.commit()
    flash(gettext("The period %(label)s was created.", label=period.label))
    return redirect(url_for("rounds.list_periods"))
