"""The national comparison: aggregates only, never one network's or one person's answers."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy import select

from ..auth import roles_required
from ..db import get_session
from ..models import Period, QuestionnaireVersion
from ..questionnaire import QuestionnaireError, localized
from ..services.exports import national_csv
from ..services.questionnaires import definition_of, find_version
from ..services.reports import ReportError, national_report

bp = Blueprint("national", __name__)


@bp.route("/national")
@roles_required("analyst", "admin")
def show_comparison():
    session = get_session()
    periods = list(session.scalars(select(Period.label).order_by(Period.label.desc())))
    slugs = list(session.scalars(select(QuestionnaireVersion.slug).distinct()))
    period = request.args.get("period") or (periods[0] if periods else None)
    slug = request.args.get("questionnaire") or ("network-maturity" if "network-maturity" in slugs
                                                 else (slugs[0] if slugs else None))
    data = titles = None
    if period and slug:
        try:
            data = national_report(session, period, slug)
        except (ReportError, QuestionnaireError):
            abort(404)
        session.commit()
        from flask_babel import get_locale

        definition = definition_of(find_version(session, slug, data["questionnaire"]["version"]))
        titles = {
            d.id: localized(d.title, str(get_locale()), definition.default_language)
            for d in definition.dimensions
        }
    return render_template(
        "national/comparison.html", data=data, periods=periods, period=period,
        slugs=slugs, slug=slug, titles=titles,
    )


@bp.route("/national.csv")
@roles_required("analyst", "admin")
def comparison_csv():
    session = get_session()
    try:
        data = national_report(
            session, request.args.get("period", ""), request.args.get("questionnaire", "")
        )
    except (ReportError, QuestionnaireError):
        abort(404)
    session.commit()
    return Response(
        national_csv(data),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="national-{data["period"]}.csv"',
            "Cache-Control": "no-store",
        },
    )
