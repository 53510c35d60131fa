"""Network reports: for the network's leaders, its regional coordinators and admins.

Everything a reader may not see answers 404, whatever the reason (unknown round,
another network, another region, a role without reports), so that a page out of
one's scope cannot be told apart from one that does not exist.
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import SelectField
from wtforms.validators import InputRequired

from ..auth import roles_required
from ..db import get_session
from ..forms.rounds import choice
from ..labels import LEVEL_LABELS, period_label
from ..models import Network, RenderedReport, Round
from ..services import audit, home, report_exports, report_render, scope, targets
from ..services.practices import suggest_practices
from ..services.reports import digest, keep_rendered, network_report, network_trends

bp = Blueprint("reports", __name__)

REPORT_ROLES = ("leader", "coordinator", "admin")


@bp.app_template_filter("mean2")
def format_mean2(value: float | None) -> str:
    """An item mean or spread on the answer scale, two decimals, in the reader's format."""
    if value is None:
        return "–"
    return format_decimal(value, format="0.00")


@bp.app_template_filter("percent")
def format_percent_value(value: float | None) -> str:
    """A percentage already on 0..100 with one decimal: 62,5 % (sv, fi) / 62.5% (en)."""
    if value is None:
        return "–"
    text = format_decimal(value, format="0.0")
    return f"{text}%" if str(get_locale()).startswith("en") else f"{text}\u00a0%"


def _lang() -> str:
    return str(get_locale())


def _min_respondents() -> int:
    return current_app.config["MIN_RESPONDENTS"]


def _readable_round(round_id: int) -> Round:
    """The round if the reader may see its network's report; 404 otherwise, whatever the cause."""
    session = get_session()
    round_ = session.get(Round, round_id)
    if round_ is None or not scope.can_read_report(session, current_user, round_.network_id):
        current_app.logger.info("report access denied: user=%s round=%s", current_user.id, round_id)
        abort(404)
    return round_


def _report_of(round_id: int) -> tuple[Round, dict]:
    session = get_session()
    round_ = _readable_round(round_id)
    report = network_report(session, round_, _lang(), _min_respondents())
    session.commit()  # keeps results recomputed on the way
    return round_, report


def _shows_scores(report: dict) -> bool:
    return report["state"] == "closed" and not report["suppressed"]


def _may_set_targets(round_: Round) -> bool:
    """Only the network's own leaders set targets; coordinators and admins read them."""
    return current_user.has_role("leader", network_id=round_.network_id)


def _download(body: str | bytes, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store",
    })


@bp.route("/networks")
@roles_required("leader", "coordinator", "admin", "analyst")
def list_networks():
    session = get_session()
    allowed = scope.report_network_ids(session, current_user)
    query = select(Network).order_by(Network.name)
    if allowed is not None:
        query = query.where(Network.id.in_(allowed))
    networks = list(session.scalars(query))
    rounds = home.latest_rounds(session, {n.id for n in networks}, limit=500) if networks else []
    return render_template("reports/networks.html", networks=networks, rounds=rounds)


@bp.route("/rounds/<int:round_id>/report")
@roles_required(*REPORT_ROLES)
def show_report(round_id: int):
    round_, report = _report_of(round_id)
    audit.record("report_viewed", target=f"round:{round_.id}")
    return render_template(
        "reports/network.html",
        report=report,
        round=round_,
        view=report_render.presentation(report),
        charts=_page_charts(round_, report),
        medium="screen",
        can_set_targets=_shows_scores(report) and _may_set_targets(round_),
        suggestions=_suggestions(round_, report),
    )


#: Raised when what a kept chart holds changes (its fields, the drawing code's output).
PAGE_CHARTS_FORMAT = "page-charts-1"


def _page_charts(round_: Round, report: dict) -> dict:
    """The page's SVG charts, kept in RenderedReport so matplotlib draws them once per change.

    Keyed by the view (round, "svg", reader's language): one row each. Valid while a digest
    of the whole report dict (every figure a chart may draw, the report's language), the
    renderer's files (charts.py, report_render.py) and the reader's translations is the
    same: the data a chart shows cannot change without its kept SVG giving way. Shared by
    every worker and host; nothing is kept in process memory (the view commits).
    """
    if not _shows_scores(report):
        return report_render.report_charts(report, "svg")
    session = get_session()
    lang = _lang()
    key = f"round:{round_.id}:charts:svg:{lang}"
    version = digest(PAGE_CHARTS_FORMAT + report_render.renderer_fingerprint(lang) + json.dumps(
        report, sort_keys=True, ensure_ascii=False, default=str))
    cached = session.get(RenderedReport, key)
    if cached is not None and cached.data_version == version:
        kept = json.loads(cached.body.decode("utf-8"))
    else:
        charts = report_render.report_charts(report, "svg")
        kept = {name: None if chart is None else {
            "id": chart["id"], "title": chart["title"], "description": chart["description"],
            "svg": str(chart["svg"])} for name, chart in charts.items()}
        keep_rendered(session, key, version, "application/json",
                      json.dumps(kept, ensure_ascii=False).encode("utf-8"))
        session.commit()
    # Our own SVG (report_render._chart marks it Markup when drawn), read back as drawn.
    return {name: None if chart is None else {
        **chart, "svg": Markup(chart["svg"]), "png": None, "image": None}  # noqa: S704
        for name, chart in kept.items()}


def _suggestions(round_: Round, report: dict) -> dict[str, list[dict]]:
    """Published practices of top-quartile networks for each recommended dimension (issue 6)."""
    if not (_shows_scores(report) and report["recommendations"]):
        return {}
    session = get_session()
    found = suggest_practices(session, round_,
                              [rec["dimension"] for rec in report["recommendations"]])
    session.commit()  # keeps results recomputed on the way
    return found


@bp.route("/rounds/<int:round_id>/report.json")
@roles_required(*REPORT_ROLES)
def report_json(round_id: int):
    round_, report = _report_of(round_id)
    audit.record("report_exported", target=f"round:{round_.id}", detail="json")
    response = jsonify(report)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/rounds/<int:round_id>/report.pdf")
@roles_required(*REPORT_ROLES)
def download_pdf(round_id: int):
    session = get_session()
    round_ = _readable_round(round_id)
    body = report_render.report_pdf(session, round_, _lang(), _min_respondents())
    report = {"network": round_.network.name, "period": round_.period.label}
    audit.record("report_exported", target=f"round:{round_.id}", detail="pdf", commit=False)
    session.commit()  # the cached PDF, and results recomputed on the way
    return _download(body, "application/pdf", report_exports.export_filename(report, "pdf"))


@bp.route("/rounds/<int:round_id>/report.csv")
@roles_required(*REPORT_ROLES)
def download_csv(round_id: int):
    table = request.args.get("table", "dimensions")
    if table not in report_exports.TABLES:
        abort(404)
    round_, report = _report_of(round_id)
    body = report_exports.report_csv(get_session(), round_, report, table)
    audit.record("report_exported", target=f"round:{round_.id}", detail=f"csv {table}")
    return _download(body, "text/csv",
                     report_exports.export_filename(report, "csv", table))


@bp.route("/rounds/<int:round_id>/report.xlsx")
@roles_required(*REPORT_ROLES)
def download_xlsx(round_id: int):
    round_, report = _report_of(round_id)
    body = report_exports.report_xlsx(get_session(), round_, report)
    audit.record("report_exported", target=f"round:{round_.id}", detail="xlsx")
    return _download(body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     report_exports.export_filename(report, "xlsx"))


# -- targets -----------------------------------------------------------------------------------

NO_TARGET = ""


def _target_form(dimensions: list[dict], periods, current: dict, data=None) -> FlaskForm:
    """One select per dimension (no target, 1..5) and the period to reach them by."""
    level_choices = [choice(NO_TARGET, _("No target"))] + [
        choice(str(level), f"{level} {LEVEL_LABELS[level]}") for level in targets.LEVELS
    ]

    class TargetForm(FlaskForm):
        period = SelectField(_l("To be reached by"), validators=[InputRequired()],
                             choices=[choice(str(p.id), period_label(p.label))
                                      for p in periods])

    for dim in dimensions:
        setattr(TargetForm, f"dim_{dim['id']}",
                SelectField(dim["title"], choices=level_choices, default=NO_TARGET))
    defaults = {f"dim_{dim_id}": str(row.level) for dim_id, row in current.items()}
    chosen = {row.period_id for row in current.values()}
    if len(chosen) == 1:
        defaults["period"] = str(chosen.pop())
    return TargetForm(formdata=data, data=defaults)


@bp.route("/rounds/<int:round_id>/targets", methods=["GET", "POST"])
@roles_required("leader")
def edit_targets(round_id: int):
    session = get_session()
    round_ = _readable_round(round_id)
    if not _may_set_targets(round_):
        abort(404)
    report = network_report(session, round_, _lang(), _min_respondents())
    session.commit()
    if not _shows_scores(report):
        flash(_("Targets are set from a closed round with results."), "error")
        return redirect(url_for("reports.show_report", round_id=round_.id))
    periods = targets.later_periods(session, round_)
    current = targets.current_targets(session, round_.network_id, round_.questionnaire.slug)
    form = _target_form(report["dimensions"], periods,
                        current, request.form if request.method == "POST" else None)
    if periods and form.validate_on_submit():
        levels = {}
        for dim in report["dimensions"]:
            value = form[f"dim_{dim['id']}"].data
            levels[dim["id"]] = int(value) if value else None
        try:
            changed = targets.set_targets(session, round_, levels, int(form.period.data),
                                          current_user.id)
        except targets.TargetError as exc:
            session.rollback()
            form.period.errors = [str(exc)]
        else:
            if changed:
                audit.record("targets_set", target=f"round:{round_.id}",
                             detail=f"changed={changed}", commit=False)
            session.commit()
            flash(_saved_message(changed), "success")
            return redirect(url_for("reports.show_report", round_id=round_.id) + "#sec-targets")
    return render_template("reports/targets.html", report=report, round=round_, form=form,
                           periods=periods,
                           dimension_fields=[form[f"dim_{d['id']}"] for d in report["dimensions"]],
                           current=current)


def _saved_message(count: int) -> str:
    if count == 0:
        return _("The targets were already as chosen; nothing changed.")
    return ngettext("%(num)d target was saved.", "%(num)d targets were saved.", count)


# -- trends ------------------------------------------------------------------------------------


@bp.route("/networks/<int:network_id>/trends")
@roles_required(*REPORT_ROLES)
def show_trends(network_id: int):
    session = get_session()
    network = session.get(Network, network_id)
    if network is None or not scope.can_read_report(session, current_user, network_id):
        current_app.logger.info("trends access denied: user=%s network=%s", current_user.id,
                                network_id)
        abort(404)
    slug = request.args.get("questionnaire") or None
    trends = network_trends(session, network, slug, _lang(), _min_respondents())
    session.commit()
    if slug and trends["questionnaire"] is None:
        abort(404)
    audit.record("trends_viewed", target=f"network:{network.id}")
    return render_template(
        "reports/trends.html", trends=trends, network=network,
        chart=report_render.trend_chart(trends, "svg"),
    )
