"""Browser tests: the real app on a live server, driven by Debian's Chromium through Playwright.

One server and one browser serve all the browser tests; each test gets its own browser
context (its own cookies), so tests never share a survey session. The server runs the
app as in production: CSRF on, real forms, real redirects. It uses one SQLite file, which
the tests also read through an engine of their own to check what was stored.

Playwright never downloads a browser here: it drives /usr/bin/chromium (CI installs the
`chromium` package). Without it the tests are skipped locally and fail on CI.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import WSGIRequestHandler, make_server

from assess import create_app, migrate
from assess.db import make_engine

from .support import CHROMIUM, CHROMIUM_ARGS, LEADER_EMAIL, LEADER_PASSWORD

TODAY = date.today()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives the real app in Chromium (select with -m browser)"
    )


def _unavailable(reason: str):
    """Skip here, but fail on CI: CI must run the browser tests."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
    pytest.skip(reason)


# -- the live server ---------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # hundreds of requests; failures still show
        pass


@dataclass
class LiveServer:
    url: str
    app: Flask
    sessions: sessionmaker
    round_id: int
    network_name: str

    def session(self) -> Session:
        return self.sessions()


@pytest.fixture(scope="package")
def live_server(tmp_path_factory):
    """The app on 127.0.0.1 and a free port, with a network, an open round and a leader.

    Package-scoped: it stops when the browser tests are done, before the rest of the suite
    builds apps of its own (they re-initialise the process's one rate Limiter).
    """
    from assess.models import Network, Region
    from assess.services import questionnaires, surveys
    from assess.services.accounts import create_user

    folder = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{folder / 'assess.sqlite3'}"
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as db:
        [flagship] = [r.row for r in questionnaires.load_directory(db)
                      if r.row.slug == "network-maturity"]
        network = Network(name="Äldreomsorgsnätverket i Österbotten",
                          region=Region(name="Österbotten"))
        db.add(network)
        db.flush()
        period = surveys.create_period(db, f"{TODAY.year}-spring", TODAY - timedelta(days=10),
                                       TODAY + timedelta(days=90))
        round_ = surveys.open_round(db, network, period, flagship,
                                    closes_on=TODAY + timedelta(days=14), today=TODAY)
        create_user(db, LEADER_EMAIL, LEADER_PASSWORD, "leader", network.name)
        db.commit()
        round_id, network_name = round_.id, network.name

    app = create_app({
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "WTF_CSRF_ENABLED": True,
        "MFA_REQUIRED": False,
        "MAIL_BACKEND": "console",
        # The link limit has its own tests; here one address opens many links in a minute.
        "SURVEY_LINK_RATE_LIMIT": "1000 per minute",
    })
    app.instance_path = str(folder / "instance")
    os.makedirs(app.instance_path, exist_ok=True)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, sessions, round_id,
                         network_name)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["assess.engine"].dispose()
        engine.dispose()


@pytest.fixture
def db(live_server):
    """A session of the test's own on the server's SQLite file."""
    session = live_server.session()
    yield session
    session.close()


@dataclass
class Invite:
    invitation_id: int
    link: str


@pytest.fixture
def invite(live_server, db):
    """Invites a member to the open round: the invitation's id and its personal link."""
    from assess.models import Round
    from assess.services import surveys

    def _invite(lang: str = "en", organization: str = "City of Vaasa") -> Invite:
        round_ = db.get(Round, live_server.round_id)
        invitation, token = surveys.create_invitation(
            db, live_server.app.config["SECRET_KEY"], round_,
            f"member-{secrets.token_hex(6)}@example.org", organization, lang,
        )
        db.commit()
        return Invite(invitation.id, f"{live_server.url}/s/{token}")

    return _invite


# -- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[test]')")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def new_context(browser, live_server):
    """Browser contexts ("devices") for one test, closed at its end.

    The app's CSP stays on (no bypass_csp): a page that needs an inline script or style
    breaks here as it would for a member.
    """
    contexts = []

    def _new(width: int = 320, height: int = 800, **options):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            **options,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield _new
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    """A page at 320 CSS px wide, the narrowest WCAG 1.4.10 (Reflow) asks for."""
    return new_context().new_page()


# -- a country of results: closed rounds for the reports and the national views -----------------


@dataclass
class Results:
    """Closed rounds of three periods from the demo's generator, in the live server's database.

    The live server's network (the leader's) takes the place of one demo network in the
    region of Ostrobothnia, whose region it joins, so that its reports have a region median
    (three networks) and an earlier round to show a trend against.
    """

    periods: list[str]
    round_id: int
    network_id: int
    region_id: int
    #: A practice published by a network in the national top quartile, suggested on the report.
    practice_title: str


#: The demo region the live server's "Österbotten" stands for (Pohjanmaan hyvinvointialue).
RESULTS_REGION_CODE = "POH"


@pytest.fixture(scope="package")
def results(live_server):
    """Forty networks' answers over three past half-years, imported as a survey export is.

    The periods end a year before today, so they never meet the live server's open round.
    Adds a national analyst and the region's coordinator (support.ANALYST_EMAIL, ...).
    """
    from sqlalchemy import select

    from assess.models import Network, Practice, Region, Round
    from assess.services import demo, practices, surveys, targets
    from assess.services.accounts import create_user
    from assess.services.imports import import_frame
    from assess.services.questionnaires import definition_of, find_version
    from assess.services.reports import network_report

    from .support import ANALYST_EMAIL, COORDINATOR_EMAIL, LEADER_PASSWORD

    plan = demo.plan_demo(seed=1, networks=40, periods=3, today=TODAY - timedelta(days=365))
    [region_spec] = [r for r in demo.REGIONS if r.code == RESULTS_REGION_CODE]
    full = [n for n in plan.networks if len(n.rounds) == len(plan.periods)
            and min(n.rounds.values()) >= 5]
    stand_in = next((n for n in full if n.region is region_spec), full[0])
    # Three networks with results in the stand-in's region, so that its cells are shown.
    latest = len(plan.periods) - 1
    for mover in sorted(plan.networks, key=lambda n: -n.rounds.get(latest, 0)):
        neighbours = [n for n in plan.networks
                      if n.region is stand_in.region and n.rounds.get(latest, 0) >= 5]
        if len(neighbours) >= 3:
            break
        if mover.region is not stand_in.region:
            mover.region = stand_in.region
    with live_server.session() as db:
        qrow = find_version(db, demo.QUESTIONNAIRE)
        frame = demo.build_response_frame(definition_of(qrow), plan)
        network = db.scalar(select(Network).where(Network.name == live_server.network_name))
        frame.loc[frame["network"] == stand_in.name, "network"] = network.name
        frame.loc[frame["region"] == stand_in.region.name, "region"] = network.region.name
        network.region.code = stand_in.region.code
        for spec in plan.periods:
            surveys.create_period(db, spec.label, spec.starts_on, spec.ends_on)
        import_frame(db, frame, demo.QUESTIONNAIRE)
        # Codes as `assess demo-data` gives them: the national tile map places regions by code.
        codes = {spec.name: spec.code for spec in demo.REGIONS}
        for region in db.scalars(select(Region)):
            region.code = region.code or codes.get(region.name)
        db.flush()
        last = db.scalar(select(Round).where(
            Round.network_id == network.id, Round.period.has(label=plan.periods[-1].label)))
        create_user(db, ANALYST_EMAIL, LEADER_PASSWORD, "analyst")
        create_user(db, COORDINATOR_EMAIL, LEADER_PASSWORD, "coordinator",
                    region_name=network.region.name)
        # A practice of a network in the national top quartile of a dimension the leader's
        # network is recommended to work on, so that its report suggests it.
        report = network_report(db, last, "en", live_server.app.config["MIN_RESPONDENTS"])
        top = practices.top_quartile_networks(db, last.period_id, last.questionnaire_id)
        dimension = next(rec["dimension"] for rec in report["recommendations"]
                         if top.get(rec["dimension"], set()) - {network.id})
        other = min(top[dimension] - {network.id})
        title = "Beslut bereds skriftligt och fattas i tur och ordning"
        db.add(Practice(network_id=other, title=title, language="sv",
                        body="Vi träffas första tisdagen i månaden.", is_published=True,
                        published_at=datetime.now(UTC).replace(tzinfo=None)))
        # Targets for three dimensions, to be reached by the live server's current period.
        [later, *_] = targets.later_periods(db, last)
        levels = {dim["id"]: min(5, (dim["level"] or 1) + n % 2)
                  for n, dim in enumerate(report["dimensions"][:3])}
        targets.set_targets(db, last, levels, later.id, None)
        db.commit()
        result = Results([p.label for p in plan.periods], last.id, network.id,
                         network.region_id, title)
    return result
