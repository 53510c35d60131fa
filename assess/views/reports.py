"""Network reports: for the network's leaders, its regional coordinators and admins."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select

from ..auth import roles_required
from ..db import get_session
from ..models import Network, Round
from ..services import home, scope
from ..services.reports import network_report

bp = Blueprint("reports", __name__)


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
    lang = str(get_locale())
    report = network_report(session, round_, lang, current_app.config["MIN_RESPONDENTS"])
    session.commit()  # keeps results recomputed on the way
    return round_, report


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
@roles_required("leader", "coordinator", "admin")
def show_report(round_id: int):
    round_, report = _report_of(round_id)
    return render_template("reports/network.html", report=report, round=round_)


@bp.route("/rounds/<int:round_id>/report.json")
@roles_required("leader", "coordinator", "admin")
def report_json(round_id: int):
    _round, report = _report_of(round_id)
    response = jsonify(report)
    response.headers["Cache-Control"] = "no-store"
    return response
