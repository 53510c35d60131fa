"""The regional view: one region's networks side by side, against the whole country.

For the region's coordinators, national analysts and admins; anyone else gets 404.
Coordinators and admins see the networks' names; national analysts see a name only
when the network's leader allows it (``Network.is_named_nationally``), otherwise
"Network A", "Network B", ...
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import get_locale, gettext
from flask_login import current_user
from sqlalchemy import select

from ..auth import roles_required
from ..db import get_session
from ..models import Region
from ..questionnaire import QuestionnaireError, localized
from ..reports.national_charts import data_uri, profile_chart
from ..services import audit, scope
from ..services import national as service
from ..services.questionnaires import definition_of, find_version
from ..services.reports import ReportError
from .national import Selection, selection_from_request

bp = Blueprint("regions", __name__)


def _national_reader() -> bool:
    return bool(current_user.role_names & {"analyst", "admin"})


def _readable_region(region_id: int) -> Region:
    """The region if the user may look at it; 404 otherwise, whatever the cause."""
    region = get_session().get(Region, region_id)
    if region is None:
        abort(404)
    if not (_national_reader() or region_id in current_user.region_ids("coordinator")):
        abort(404)
    return region


def _shows_name(region: Region):
    """Names for admins and the region's coordinators; for analysts, as the leader chose."""
    if "admin" in current_user.role_names or region.id in current_user.region_ids("coordinator"):
        return lambda network: True
    return lambda network: bool(network.is_named_nationally)


def _selection() -> Selection:
    return selection_from_request(filters=False)


@bp.route("/regions")
@roles_required("coordinator", "analyst", "admin")
def list_regions():
    session = get_session()
    query = select(Region).order_by(Region.name)
    if not _national_reader():
        query = query.where(Region.id.in_(current_user.region_ids("coordinator")))
    return render_template("regions/list.html", regions=list(session.scalars(query)))


@bp.route("/regions/<int:region_id>")
@roles_required("coordinator", "analyst", "admin")
def show_region(region_id: int):
    region = _readable_region(region_id)
    selection = _selection()
    if not (selection.period and selection.slug):
        return render_template("regions/region.html", region=region, overview=None,
                               selection=selection)
    session = get_session()
    try:
        overview = service.regional_overview(
            session, region, selection.period, selection.slug, selection.version,
            shows_name=_shows_name(region),
            readable=scope.report_network_ids(session, current_user),
        )
        definition = definition_of(find_version(session, selection.slug,
                                                overview["questionnaire"]["version"]))
    except (ReportError, QuestionnaireError):
        abort(404)
    session.commit()  # keeps results recomputed on the way
    audit.record("region_viewed", target=f"region:{region.id}",
                 detail=f"period:{selection.period} {selection.slug}")
    lang = str(get_locale())
    titles = {d.id: localized(d.title, lang, definition.default_language)
              for d in definition.dimensions}
    chart = None
    if overview["networks"]:
        rows = [
            {"label": titles[dim], "national": overview["national"]["dimensions"].get(dim),
             "scores": [n["scores"][dim] for n in overview["networks"]
                        if n["scores"].get(dim) is not None]}
            for dim in overview["dimensions"]
        ]
        chart = data_uri(profile_chart(
            rows, score_label=gettext("Score 0–100"),
            national_label=gettext("Whole country: p25–p75 and median"),
            region_label=gettext("A network of the region"),
            threshold=overview["stage_threshold"]))
    return render_template("regions/region.html", region=region, overview=overview,
                           selection=selection, titles=titles, chart=chart,
                           min_networks=service.MIN_NETWORKS)
