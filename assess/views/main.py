from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..db import get_session
from ..models import Network, Region
from ..services import home as home_service
from .auth import safe_next

bp = Blueprint("main", __name__)

#: Navigation entries: (endpoint, label, roles that see it; None = everyone logged in).
NAVIGATION = [
    ("main.home", _l("Start"), None),
    ("survey.list_my_surveys", _l("My surveys"), {"member"}),
    ("rounds.list_rounds", _l("Rounds"), {"leader", "coordinator", "admin"}),
    # Analysts may open /networks, but it lists no network for them (national roles read
    # aggregates only, scope.report_network_ids): a link to an empty page is a dead end.
    ("reports.list_networks", _l("Networks"), {"leader", "coordinator", "admin"}),
    ("regions.list_regions", _l("Regions"), {"coordinator", "analyst", "admin"}),
    ("national.show_comparison", _l("National comparison"), {"analyst", "admin"}),
    ("rounds.list_periods", _l("Periods"), {"analyst", "admin"}),
    ("practices.list_practices", _l("Good practice"), None),
    ("admin.list_questionnaires", _l("Questionnaires"), {"admin"}),
    ("account.show_account", _l("Your account"), None),
]


@bp.app_context_processor
def _navigation():
    if not current_user.is_authenticated:
        return {"navigation": []}
    roles = current_user.role_names
    entries = []
    for endpoint, label, allowed in NAVIGATION:
        if allowed is not None and not (roles & allowed):
            continue
        entries.append(
            {"url": url_for(endpoint), "label": label, "current": request.endpoint == endpoint}
        )
    return {"navigation": entries}


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    session = get_session()
    overview = home_service.overview_for(session, current_user)
    network_ids = {r.network_id for r in current_user.roles if r.network_id}
    region_ids = {r.region_id for r in current_user.roles if r.region_id}
    return render_template(
        "main/home.html",
        overview=overview,
        network_names=home_service.names(session, Network, network_ids),
        region_names=home_service.names(session, Region, region_ids),
    )


@bp.route("/language", methods=["POST"])
def set_language():
    lang = request.form.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    # The same check as after login: `/\t/evil.example` is `//evil.example` to a browser.
    return redirect(safe_next(request.form.get("next")))

