"""The national comparison: aggregates only, never one network's or one person's answers.

For national analysts and admins. Everything on the dashboard and in its downloads is
one ``services.national.national_dashboard`` dict, so page, CSV, XLSX, PDF and
`assess national --format json` show the same figures and withhold the same cells.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import get_locale
from markupsafe import Markup

from ..auth import roles_required
from ..db import get_session
from ..questionnaire import QuestionnaireError, localized
from ..reports.national_charts import data_uri
from ..services import audit
from ..services import national as service
from ..services.exports import dashboard_csv, instrument_csv, national_xlsx
from ..services.questionnaires import definition_of, find_version
from ..services.reports import ReportError

bp = Blueprint("national", __name__)

DEFAULT_QUESTIONNAIRE = "network-maturity"


@dataclass
class Selection:
    """What the filter form asks for; None where nothing could be chosen."""

    period: str | None
    slug: str | None
    version: int | None
    theme: str | None
    dimension: str | None
    periods: list[str]
    slugs: list[str]
    versions: list[int]

    def args(self, **extra) -> dict:
        """Query arguments that reproduce this selection (for links and downloads)."""
        values = {"period": self.period, "questionnaire": self.slug, "version": self.version,
                  "theme": self.theme, **extra}
        return {key: value for key, value in values.items() if value not in (None, "")}


def _selection() -> Selection:
    return selection_from_request()


def selection_from_request(filters: bool = True) -> Selection:
    """The period and questionnaire asked for, or the defaults; theme and dimension only
    where the page offers them (`filters`)."""
    session = get_session()
    versions = service.questionnaire_versions(session)
    slugs = sorted({slug for slug, _version in versions})
    slug = request.args.get("questionnaire") or (
        DEFAULT_QUESTIONNAIRE if DEFAULT_QUESTIONNAIRE in slugs else (slugs[0] if slugs else None)
    )
    version = request.args.get("version", type=int)
    period = request.args.get("period") or (
        service.default_period(session, slug, version) if slug else None
    )
    return Selection(
        period=period,
        slug=slug,
        version=version,
        theme=(request.args.get("theme") or "").strip() or None if filters else None,
        dimension=request.args.get("dimension") or None if filters else None,
        periods=[p.label for p in service.periods_newest_first(session)],
        slugs=slugs,
        versions=[v for s, v in versions if s == slug],
    )


def _dashboard(selection: Selection, dimension_ids=None) -> dict:
    """The dashboard's data, or 404 for an unknown period or questionnaire."""
    session = get_session()
    try:
        data = service.national_dashboard(
            session, selection.period or "", selection.slug or "", selection.version,
            selection.theme, dimension_ids,
        )
    except (ReportError, QuestionnaireError):
        abort(404)
    session.commit()  # keeps results recomputed on the way
    return data


def _titles(data: dict) -> dict[str, str]:
    session = get_session()
    definition = definition_of(
        find_version(session, data["questionnaire"]["id"], data["questionnaire"]["version"])
    )
    lang = str(get_locale())
    return {d.id: localized(d.title, lang, definition.default_language)
            for d in definition.dimensions}


def _file_name(data: dict, extension: str) -> str:
    """national-<period>[-<theme>].<ext>, ASCII only, safe in a Content-Disposition header."""
    parts = ["national", data["period"]]
    if data.get("theme"):
        parts.append(data["theme"])
    stem = re.sub(r"[^A-Za-z0-9.]+", "-", "-".join(parts)).strip("-")
    return f"{stem}.{extension}"


def _audit_target(data: dict) -> str:
    """What the audit log names for a national view or export: period, questionnaire, theme."""
    target = f"period:{data['period']} {data['questionnaire']['id']}"
    return f"{target} v{data['questionnaire']['version']}" + (
        f" theme:{data['theme']}" if data.get("theme") else "")


def _download(body, mimetype: str, name: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
    })


@bp.route("/national")
@roles_required("analyst", "admin")
def show_comparison():
    selection = _selection()
    if not (selection.period and selection.slug):
        return render_template("national/comparison.html", data=None, selection=selection)
    try:
        definition = definition_of(find_version(get_session(), selection.slug,
                                                selection.version))
    except QuestionnaireError:
        abort(404)
    dims = [d.id for d in definition.dimensions]
    if selection.dimension not in dims:
        selection.dimension = dims[0]
    data = _dashboard(selection, [selection.dimension])
    titles = _titles(data)
    session = get_session()
    lookup = service.region_lookup(session)
    lang = str(get_locale())

    def render_body() -> str:
        charts = {name: (data_uri(svg) if svg else None) for name, svg in
                  service.cached_chart_set(data, selection.dimension,
                                           titles[selection.dimension], lang,
                                           session=session).items()}
        return render_template(
            "national/_dashboard.html", data=data, selection=selection, titles=titles,
            dimension=selection.dimension,
            tiles=service.tile_map(data, selection.dimension, lookup), regions=lookup,
            charts=charts, min_networks=service.MIN_NETWORKS,
        )

    # The content depends on the figures, the selection and the language only: kept in
    # the database, a warm visit neither draws charts nor formats hundreds of numbers.
    body = service.cached_page(
        session, ["dashboard", selection.args(dimension=selection.dimension), lang],
        [data, asdict(selection), titles, lookup, lang, request.script_root], render_body)
    session.commit()  # keeps the drawn charts and page for every worker and host
    audit.record("national_viewed", target=_audit_target(data))
    return render_template(
        "national/comparison.html",
        body=Markup(body),  # noqa: S704 - our own template's output, kept as rendered
        data=data, selection=selection,
    )


@bp.route("/national.csv")
@roles_required("analyst", "admin")
def comparison_csv():
    selection = _selection()
    data = _dashboard(selection, dimension_ids=[])
    audit.record("national_exported", target=_audit_target(data), detail="csv")
    return _download(dashboard_csv(data), "text/csv", _file_name(data, "csv"))


@bp.route("/national.xlsx")
@roles_required("analyst", "admin")
def comparison_xlsx():
    data = _dashboard(_selection())
    audit.record("national_exported", target=_audit_target(data), detail="xlsx")
    return _download(national_xlsx(data),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     _file_name(data, "xlsx"))


@bp.route("/national.pdf")
@roles_required("analyst", "admin")
def comparison_pdf():
    data = _dashboard(_selection())
    session = get_session()
    lang = str(get_locale())
    body = service.national_pdf(session, data, lang,
                                lambda: service.render_national_pdf(session, data, lang))
    audit.record("national_exported", target=_audit_target(data), detail="pdf", commit=False)
    session.commit()
    return _download(body, "application/pdf", _file_name(data, "pdf"))


@bp.route("/national/instrument")
@roles_required("analyst", "admin")
def show_instrument():
    selection = _selection()
    report = None
    texts: dict[str, str] = {}
    titles: dict[str, str] = {}
    if selection.period and selection.slug:
        session = get_session()
        try:
            report = service.instrument_report(
                session, selection.period, selection.slug, selection.version,
                current_app.config["MIN_RESPONDENTS"])
            definition = definition_of(find_version(session, selection.slug,
                                                    report["questionnaire"]["version"]))
        except (ReportError, QuestionnaireError):
            abort(404)
        session.commit()  # keeps the computed report for the next visit
        audit.record("instrument_viewed", target=f"period:{selection.period}",
                     detail=f"{selection.slug} v{report['questionnaire']['version']}")
        lang = str(get_locale())
        titles = {d.id: localized(d.title, lang, definition.default_language)
                  for d in definition.dimensions}
        texts = {i.id: localized(i.text, lang, definition.default_language)
                 for i in definition.items}
    return render_template("national/instrument.html", report=report, selection=selection,
                           titles=titles, texts=texts)


@bp.route("/national/instrument.csv")
@roles_required("analyst", "admin")
def instrument_download():
    selection = _selection()
    session = get_session()
    try:
        report = service.instrument_report(session, selection.period or "", selection.slug or "",
                                           selection.version,
                                           current_app.config["MIN_RESPONDENTS"])
    except (ReportError, QuestionnaireError):
        abort(404)
    audit.record("instrument_exported", target=f"period:{report['period']}", detail="csv",
                 commit=False)
    session.commit()
    return _download(instrument_csv(report), "text/csv",
                     f"instrument-{re.sub(r'[^A-Za-z0-9.]+', '-', report['period'])}.csv")


@bp.app_template_global()
def national_url(endpoint: str, selection: Selection, **extra) -> str:
    """A URL of this blueprint keeping the dashboard's selection."""
    return url_for(endpoint, **selection.args(**extra))
