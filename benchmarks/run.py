"""National-scale benchmarks: each figure measured beside its floor, in the same run.

    make bench                      # = .venv/bin/python benchmarks/run.py
    python benchmarks/run.py --sizes 200,2000 --seconds 8 --skip-sqlite

Prints a table of figures, floors and ratios and writes benchmarks/RESULTS.md and
benchmarks/growth.png. Needs PostgreSQL on 127.0.0.1:5432 (user postgres); makes its
own databases (assess_bench_*) and drops them at the end unless --keep. Load comes from
wrk when installed (Debian package `wrk`), else from the threaded Python generator in
common.py; every figure and its floor use the same generator. Everything is bounded in
time and stops by itself. These are figures, never pass/fail tests.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (  # noqa: E402
    BENCH_DIR,
    ROOT,
    VENV_BIN,
    Browser,
    LoadResult,
    Timing,
    create_pg_database,
    csrf_token,
    drop_pg_database,
    gunicorn,
    machine_info,
    make_app,
    pg_reachable,
    pg_url,
    rss_mb,
    run_load,
    time_repeated,
)

#: One key for every worker and host of a run, as in production; made anew each run.
SECRET = secrets.token_hex(32)
QUESTIONNAIRE = "network-maturity"
SIZE_FACTOR = 2.0  # what `assess demo-data --scale national` uses
PERIODS = 4
TODAY = date.today()
WORK = Path(os.environ.get("BENCH_WORK") or Path(tempfile.gettempdir()) / "assess-bench")


RESULTS_JSON = BENCH_DIR / "results.json"

#: Why a figure misses its target and what would meet it (from profiles of these runs).
EXPLANATIONS = {
    "`assess --help`": (
        "`assess` lists its commands without building the app (AssessGroup, assess/cli.py) "
        "and pandas, scipy, matplotlib and WeasyPrint are imported only by the commands and "
        "pages that use them (tests/integration/test_foundation_cli.py checks it in a fresh "
        "interpreter). What is left is the interpreter, flask, click and sqlalchemy: the "
        "floor column. A miss means the machine was loaded: compare the ratio."),
    "demo-data load, 2000 networks, SQLite": (
        "SQLite has no COPY: the import's 5.8 million answers go in through executemany on "
        "one connection, each row updating two indexes, and the per-round aggregates "
        "(answers joined to responses, grouped by round, organisation and item) run "
        "single-threaded. A profile at 200 networks: about half the import is the inserts "
        "(a third of that inside SQLite itself), a third the per-round results. The same "
        "load on PostgreSQL meets the target; national scale belongs on PostgreSQL "
        "(docs/deploy.md), SQLite is for a single small installation. Untested candidates "
        "for SQLite: PRAGMA synchronous=OFF and a larger cache_size for the import "
        "transaction, and creating the answers' unique index after the load."),
    "import_frame": (
        "the floor itself misses the target: COPY of only the rows the import stores "
        "(responses, ~34 answers each, 9 respondent scores each) runs at the rate shown in "
        "the floor column on this machine, because each answer is a row with two B-tree "
        "indexes (pk, unique response_id+item_id) and a foreign key. The import runs at "
        "the ratio shown of that floor; the rest is validation, scoring and the per-round "
        "results. What would meet 10,000 responses/s: fewer rows or indexes per answer "
        "(answers as one array/JSONB row per response, or the (response_id, item_id) "
        "unique key as the primary key, dropping the surrogate id index), or a database "
        "host with more cores and tuned WAL (max_wal_size, wal_compression); not reachable "
        "by import code alone."),
    "network report JSON": (
        "network_report reads the network's own rows and its stored benchmarks "
        "(network_benchmarks: national and regional percentiles, medians and top quartiles, "
        "computed once per change of the period's closed rounds, found by the fingerprint in "
        "comparison_versions). The first report after a round closes recomputes the whole "
        "period (~0.3 s at 2,000 networks); a warm figure above the target means that "
        "recomputation was measured. What would keep it off every request: recompute at "
        "close time (`rounds tick`, the close command and page)."),
    "network report page": (
        "the page adds the template, the stored chart SVGs (rendered_reports, redrawn only "
        "when the report's data changes) and the stored top-quartile suggestions to the JSON "
        "above; see there."),
    "national comparison JSON": (
        "national_report is kept in rendered_reports per period, questionnaire version and "
        "filter and counts only while a digest of the period's closed rounds, networks and "
        "regions still matches; a miss means the digest changed during the measurement "
        "(a round closed) and the comparison was recomputed (pandas over every comparable "
        "network)."),
    "national comparison page": (
        "the dashboard's content and chart SVGs are kept like the JSON (rendered_reports, "
        "one row per view); see there."),
    "final submit": (
        "throughput: the submit is a handful of statements (one UPDATE locks the open round "
        "and bumps its version, one marks the response submitted, Core inserts of the "
        "scores, scored in plain Python: assess/scoring/response.py) at ~3.5 ms of app CPU "
        "against the floor's ~2 ms; the rest is CSRF, the session's invitation lookup and "
        "validation. p95: by Little's law 32 connections at p95 <= 100 ms need ~320 "
        "submits/s on these 2 cores, and the Core-insert floor itself reaches its throughput "
        "only at the p95 in its column, so no submit that writes 36 rows meets 100 ms at 32 "
        "connections on this machine. What would meet it: more cores, or more app hosts with "
        "the database on its own host (the app is stateless, docs/deploy.md); dropping "
        "pool_pre_ping saves one round trip per request but would turn a restarted "
        "PostgreSQL into failed requests."),
    "flagship PDF, rendered": (
        "the rendering itself stays near its floor (the same PDFs without charts, in the same "
        "run; benchmarks/report_pdf.py: inline SVG and 150-dpi PNG charts cost the same for "
        "this report's one chart, so the PDF keeps SVG, its text as text). It runs at nice 10 "
        "(reports/pdf.py) so that the answering pages win the CPU, which also means that on a "
        "machine busy with other work its wall time stretches while its CPU time does not "
        "(see the note). The first PDF in each gunicorn worker also pays the lazy imports of "
        "WeasyPrint and matplotlib and the font set-up (~1 s); the benchmark warms every "
        "worker first. `assess rounds tick` renders the PDFs of the rounds it closes (sv, fi, "
        "en) into the database cache, so downloads of a closed round come from the cache "
        "(the next row)."),
    "answering page p95": (
        "at most half the workers of a host render PDFs at once (render slots, "
        "assess/render_slots.py, PDF_RENDER_SLOTS set by gunicorn.conf.py); a download "
        "beyond that answers 503 with Retry-After at once and is retried (the note counts "
        "them), so the answering pages always find free workers, and the renders' nice 10 "
        "keeps the CPU theirs. Without the slots, 4 PDFs on 4 workers held every worker and "
        "the p95 was about 1.1 s. What would lower it further: a PDF pool of its own (nginx "
        "routes /rounds/*/report.pdf to a separate gunicorn)."),
}


class Results:
    """Rows of the table: a figure, its floor, their ratio and the target."""

    def __init__(self):
        self.rows: list[dict] = []
        self.growth: dict[str, dict[int, float]] = {}
        self.notes: list[str] = []

    def add(self, figure: str, value: float, unit: str, *, spread: str = "", floor: str = "",
            floor_value: float | None = None, ratio: float | None = None, target: str = "",
            met: bool | None = None, note: str = "") -> None:
        row = {"figure": figure, "value": value, "unit": unit, "spread": spread, "floor": floor,
               "floor_value": floor_value, "ratio": ratio, "target": target, "met": met,
               "note": note}
        self.rows.append(row)
        print(format_row(row), flush=True)


def ms(timing: Timing) -> tuple[float, str]:
    return timing.median * 1e3, f"{timing.min * 1e3:.1f}–{timing.max * 1e3:.1f}"


def format_row(row: dict) -> str:
    value = f"{row['value']:.1f} {row['unit']}"
    floor = ""
    if row["floor_value"] is not None:
        floor = f" | floor {row['floor']}: {row['floor_value']:.1f}"
    ratio = f" | ratio {row['ratio']:.2f}×" if row["ratio"] is not None else ""
    met = {True: " | MET", False: " | MISSED", None: ""}[row["met"]]
    return f"  {row['figure']}: {value} ({row['spread']}){floor}{ratio}{met}"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- start-up ----------------------------------------------------------------------------------


def bench_startup(results: Results) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["ASSESS_SECRET_KEY"] = SECRET

    def run(command):
        return lambda: subprocess.run(command, cwd=ROOT, env=env, capture_output=True,
                                      timeout=60, check=True)

    help_time = time_repeated(run([str(VENV_BIN / "assess"), "--help"]), repeat=5)
    heavy = time_repeated(run([sys.executable, "-c",
                               "import flask, sqlalchemy, pandas, weasyprint, matplotlib"]),
                          repeat=5)
    bare = time_repeated(run([sys.executable, "-c", "import flask, sqlalchemy"]), repeat=5)
    value, spread = ms(help_time)
    results.add("`assess --help` start", value, "ms", spread=spread,
                floor="python -c 'import flask, sqlalchemy'", floor_value=bare.median * 1e3,
                ratio=help_time.median / bare.median, target="≤ 500 ms",
                met=help_time.median <= 0.5,
                note=f"importing flask+sqlalchemy+pandas+weasyprint+matplotlib takes "
                     f"{heavy.median * 1e3:.0f} ms: the CLI imports the heavy ones lazily")


# -- data sets ---------------------------------------------------------------------------------


def load_dataset(url: str, networks: int) -> dict:
    """Migrate, load the questionnaires and the demo data; time the load and its import."""
    from assess import migrate
    from assess.services import demo, questionnaires

    app = make_app(url)
    migrate.upgrade(app.extensions["assess.engine"])
    session = app.extensions["assess.sessionmaker"]()
    questionnaires.load_directory(session)
    session.commit()
    timings = {}
    original = demo.import_frame

    def timed_import(session_, frame, *args, **kwargs):
        start = time.perf_counter()
        summary = original(session_, frame, *args, **kwargs)
        session_.flush()
        timings["import"] = time.perf_counter() - start
        timings["responses"] = len(frame)
        return summary

    demo.import_frame = timed_import
    try:
        start = time.perf_counter()
        with app.app_context():
            summary = demo.create_demo_data(session, seed=1, networks=networks, periods=PERIODS,
                                            today=TODAY, size_factor=SIZE_FACTOR)
            session.commit()
        timings["load"] = time.perf_counter() - start
    finally:
        demo.import_frame = original
        session.close()
        app.extensions["assess.engine"].dispose()
    timings["rounds"] = summary.rounds
    return timings


def copy_floor(url: str) -> float:
    """Seconds to COPY the rows an import stores (responses, answers, respondent scores)
    into the same, emptied tables: the floor of `import-responses` on PostgreSQL."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    tables = {
        "responses": "id, round_id, organization_id, respondent_key, invitation_id, user_id, "
                     "status, submitted_at, updated_at",
        "answers": "id, response_id, item_id, value, dont_know, text",
        "response_scores": "response_id, dimension_id, score",
    }
    with psycopg.connect(dsn) as conn:
        buffers = {}
        with conn.cursor() as cursor:
            for table, columns in tables.items():
                buffer = io.BytesIO()
                with cursor.copy(f"COPY {table} ({columns}) TO STDOUT") as copy:
                    for data in copy:
                        buffer.write(data)
                buffers[table] = buffer.getvalue()
        conn.commit()
        with conn.cursor() as cursor:
            cursor.execute("TRUNCATE responses, answers, response_scores")
            start = time.perf_counter()
            for table, columns in tables.items():
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    data = buffers[table]
                    for offset in range(0, len(data), 1 << 20):
                        copy.write(data[offset: offset + (1 << 20)])
            seconds = time.perf_counter() - start
        conn.commit()
        conn.execute("ANALYZE")
    return seconds


# -- reports at each scale ---------------------------------------------------------------------


def flagship_round(session, networks: int):
    """The round the demo's first leader reads: same network plan at every scale."""
    from sqlalchemy import select

    from assess.models import Network, Round
    from assess.models.survey import CLOSED
    from assess.services.demo import plan_demo
    from assess.services.reports import period_start

    plan = plan_demo(1, networks, PERIODS, TODAY, SIZE_FACTOR)
    name = plan.networks[plan.leader_networks[0]].name
    network = session.scalar(select(Network).where(Network.name == name))
    rounds = session.scalars(select(Round).where(Round.network_id == network.id,
                                                 Round.state == CLOSED)).all()
    return max(rounds, key=lambda r: period_start(r.period))


def login(client, email="admin@demo.assess"):
    from assess.services.demo import DEMO_PASSWORD

    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    if response.status_code not in (302, 303):
        raise RuntimeError(f"login failed: {response.status_code}")


SCORE_GROUP_BY = """
SELECT ro.period_id, rs.dimension_id, avg(rs.score), count(*)
FROM response_scores rs
JOIN responses r ON r.id = rs.response_id
JOIN rounds ro ON ro.id = r.round_id
WHERE r.status = 'submitted'
GROUP BY ro.period_id, rs.dimension_id
"""
NETWORK_AGGREGATE = """
SELECT rs.dimension_id, avg(rs.score), count(*)
FROM response_scores rs JOIN responses r ON r.id = rs.response_id
WHERE r.round_id = :round_id AND r.status = 'submitted'
GROUP BY rs.dimension_id
"""


def bench_reports(url: str, networks: int) -> dict[str, Timing]:
    """Warm timings of a network's report and of the national comparison at one scale."""
    from sqlalchemy import text

    from assess.services.reports import national_report, network_report

    app = make_app(url)
    session = app.extensions["assess.sessionmaker"]()
    out: dict[str, Timing] = {}
    with app.app_context():
        round_ = flagship_round(session, networks)
        round_id, period = round_.id, round_.period.label

        # Commit as the page and the CLI do: what a cold request computes (stored
        # benchmarks, the kept national comparison) is what makes the next one warm.
        def report_json():
            network_report(session, round_, "en", 5)
            session.commit()

        out["network_json"] = time_repeated(report_json, repeat=15, warmup=2)

        def national_json():
            national_report(session, period, QUESTIONNAIRE)
            session.commit()

        out["national_json"] = time_repeated(national_json, repeat=9, warmup=2)
        out["score_group_by"] = time_repeated(
            lambda: session.execute(text(SCORE_GROUP_BY)).all(), repeat=5, warmup=1)
        out["network_aggregate"] = time_repeated(
            lambda: session.execute(text(NETWORK_AGGREGATE), {"round_id": round_id}).all(),
            repeat=25, warmup=3)
        session.rollback()
    session.close()
    client = app.test_client()
    login(client)

    def page(path):
        def get():
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: {response.status_code}")
        return get

    out["network_page"] = time_repeated(page(f"/rounds/{round_id}/report"), repeat=9, warmup=2)
    out["national_page"] = time_repeated(
        page(f"/national?period={period}&questionnaire={QUESTIONNAIRE}"), repeat=7, warmup=2)
    app.extensions["assess.engine"].dispose()
    return out


# -- answering through gunicorn ----------------------------------------------------------------


def prepare_members(url: str, rounds: int, per_round: int) -> list[str]:
    """Invitations to open rounds, each with every page answered: ready for the final submit."""
    from sqlalchemy import select

    from assess.models import Round
    from assess.models.survey import OPEN
    from assess.services import surveys

    app = make_app(url, SECRET_KEY=SECRET)
    session = app.extensions["assess.sessionmaker"]()
    tokens = []
    with app.app_context():
        open_rounds = session.scalars(
            select(Round).where(Round.state == OPEN).order_by(Round.id).limit(rounds)).all()
        for round_ in open_rounds:
            questionnaire = surveys.questionnaire_of(round_)
            for _ in range(per_round):
                invitation, token = surveys.create_invitation(session, SECRET, round_, None)
                response = surveys.start_or_resume(session, invitation)
                for dimension in questionnaire.dimensions:
                    posted = {item.id: ("4" if item.is_scored else "More time together")
                              for item in dimension.items}
                    surveys.save_answers(session, response, questionnaire, posted,
                                         [item.id for item in dimension.items])
                tokens.append(token)
            session.commit()
    session.close()
    app.extensions["assess.engine"].dispose()
    return tokens


def open_sessions(base: str, tokens: list[str], path: Path) -> Path:
    """Open each link once (GET /s/<token>), take the CSRF token from the review page."""

    def one(token):
        browser = Browser(base)
        status, _headers, _ = browser.request("GET", f"/s/{token}")
        if status not in (302, 303):
            raise RuntimeError(f"GET /s/<token>: {status}")
        status, _headers, html = browser.request("GET", "/survey/review")
        if status != 200:
            raise RuntimeError(f"GET /survey/review: {status}")
        line = f"{browser.cookie_header()}\t{csrf_token(html)}"
        browser.close()
        return line

    with ThreadPoolExecutor(4) as pool:
        lines = list(pool.map(one, tokens))
    path.write_text("\n".join(lines) + "\n")
    return path


def repeated_load(base, method, route, sessions, connections, seconds, runs=3) -> list[LoadResult]:
    return [run_load(base, method, route, sessions, connections, seconds) for _ in range(runs)]


def summarize(loads: list[LoadResult]) -> dict:
    rates = [r.rate for r in loads]
    return {"rate": statistics.median(rates), "rate_min": min(rates), "rate_max": max(rates),
            "p95": statistics.median(r.p95_ms for r in loads),
            "p95_min": min(r.p95_ms for r in loads), "p95_max": max(r.p95_ms for r in loads),
            "errors": sum(r.errors for r in loads), "requests": sum(r.requests for r in loads),
            "generator": loads[0].generator}


def floor_round(url: str) -> int:
    """A round of its own for the floor app's rows, so they touch no benchmarked network."""
    from sqlalchemy import select

    from assess.models import Network, Period, QuestionnaireVersion, Region, Round
    from assess.models.survey import OPEN

    app = make_app(url)
    session = app.extensions["assess.sessionmaker"]()
    region = session.scalars(select(Region).limit(1)).one()
    network = Network(name=f"Benchmark floor network {secrets.token_hex(4)}", region=region)
    with session.no_autoflush:
        period = session.scalar(select(Period).where(Period.label == "1999-floor")) or Period(
            label="1999-floor")
        questionnaire = session.scalars(select(QuestionnaireVersion).limit(1)).one()
        round_ = Round(network=network, period=period, questionnaire_id=questionnaire.id,
                       state=OPEN)
        session.add_all([network, period, round_])
    session.commit()
    round_id = round_.id
    session.close()
    app.extensions["assess.engine"].dispose()
    return round_id


def bench_answering(results: Results, url: str, label: str, workers: int, seconds: float,
                    members: tuple[int, int]) -> None:
    """A member's final submit vs the Core-insert floor, same database, workers, generator."""
    WORK.mkdir(parents=True, exist_ok=True)
    log(f"{label}: preparing {members[0] * members[1]} members with answered pages")
    tokens = prepare_members(url, *members)
    env = {"DATABASE_URL": url, "ASSESS_SECRET_KEY": SECRET, "ASSESS_MFA_REQUIRED": "false",
           "ASSESS_SURVEY_LINK_RATE_LIMIT": "1000000 per minute"}
    with gunicorn("wsgi:app", env, ROOT / "gunicorn.conf.py", WORK / "product.log",
                  workers) as server:
        sessions = open_sessions(server.base, tokens, WORK / f"sessions-{label}.tsv")
        log(f"{label}: POST /survey/submit, 32 connections, 3 × {seconds:.0f} s")
        submit = summarize(repeated_load(server.base, "POST", "/survey/submit", sessions, 32,
                                         seconds))
    round_id = floor_round(url)
    floor_env = {"DATABASE_URL": url, "FLOOR_ROUND_ID": str(round_id)}
    with gunicorn("benchmarks.floor_app:app", floor_env, BENCH_DIR / "floor_gunicorn.py",
                  WORK / "floor.log", workers) as server:
        log(f"{label}: floor app, 32 connections, 3 × {seconds:.0f} s per endpoint")
        core = summarize(repeated_load(server.base, "POST", "/insert-core", None, 32, seconds))
        orm = summarize(repeated_load(server.base, "POST", "/insert-orm", None, 32, seconds))
        bare = summarize(repeated_load(server.base, "GET", "/bare", None, 32, seconds))
    ratio = submit["rate"] / core["rate"]
    results.add(f"final submit ({label}), throughput", submit["rate"], "req/s",
                spread=f"{submit['rate_min']:.0f}–{submit['rate_max']:.0f}; "
                       f"{submit['errors']} errors / {submit['requests']}",
                floor="Core insert of 1 response + 35 answers", floor_value=core["rate"],
                ratio=ratio, target="≥ 0.5×", met=ratio >= 0.5,
                note=f"{workers} sync workers, {submit['generator']}; ORM floor "
                     f"{orm['rate']:.0f} req/s; bare Flask {bare['rate']:.0f} req/s")
    results.add(f"final submit ({label}), p95 at 32 connections", submit["p95"], "ms",
                spread=f"{submit['p95_min']:.0f}–{submit['p95_max']:.0f}",
                floor="Core insert p95", floor_value=core["p95"],
                ratio=submit["p95"] / core["p95"], target="≤ 100 ms",
                met=submit["p95"] <= 100)
    results.add(f"bare Flask endpoint ({label} floor app)", bare["rate"], "req/s",
                spread=f"{bare['rate_min']:.0f}–{bare['rate_max']:.0f}",
                note=f"p95 {bare['p95']:.1f} ms; earlier floor on these machines ~7,600 req/s")
    results.add(f"Core insert floor ({label})", core["rate"], "req/s",
                spread=f"{core['rate_min']:.0f}–{core['rate_max']:.0f}",
                floor="ORM insert (36 objects)", floor_value=orm["rate"],
                ratio=orm["rate"] / core["rate"],
                note=f"earlier: ~890 req/s PostgreSQL, ~1,560 SQLite WAL, ~450 ORM; "
                     f"p95 {core['p95']:.1f} ms")


# -- PDFs, answering while they render, memory -------------------------------------------------


def closed_rounds(url: str, count: int) -> list[int]:
    from sqlalchemy import select

    from assess.models import Round, RoundSummary
    from assess.models.survey import CLOSED

    app = make_app(url)
    session = app.extensions["assess.sessionmaker"]()
    ids = list(session.scalars(
        select(Round.id).join(RoundSummary, RoundSummary.round_id == Round.id)
        .where(Round.state == CLOSED, RoundSummary.suppressed.is_(False),
               RoundSummary.respondents >= 10)
        .order_by(Round.id).limit(count)))
    session.close()
    app.extensions["assess.engine"].dispose()
    return ids


def clear_pdf_cache(url: str) -> None:
    """Every PDF of the next run is rendered, none comes from an earlier run's cache."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM rendered_reports"))
    engine.dispose()


def admin_browser(base: str) -> Browser:
    from assess.services.demo import DEMO_PASSWORD

    browser = Browser(base, timeout=120)
    _status, _headers, html = browser.request("GET", "/login")
    status, _headers, _ = browser.request(
        "POST", "/login", {"email": "admin@demo.assess", "password": DEMO_PASSWORD,
                           "csrf_token": csrf_token(html)})
    if status not in (302, 303):
        raise RuntimeError(f"admin login failed: {status}")
    return browser


def bench_pdf_and_memory(results: Results, url: str, seconds: float, workers: int,
                         national_period: str) -> None:
    tokens = prepare_members(url, 20, 2)
    env = {"DATABASE_URL": url, "ASSESS_SECRET_KEY": SECRET, "ASSESS_MFA_REQUIRED": "false",
           "ASSESS_SURVEY_LINK_RATE_LIMIT": "1000000 per minute"}
    rounds = closed_rounds(url, 60 + workers)
    clear_pdf_cache(url)
    with gunicorn("wsgi:app", env, ROOT / "gunicorn.conf.py", WORK / "product-pdf.log",
                  workers) as server:
        sessions = open_sessions(server.base, tokens, WORK / "sessions-pages.tsv")
        browser = admin_browser(server.base)

        def warm(round_id: int) -> None:
            warming = admin_browser(server.base)
            # Beyond the host's render slots (half the workers) a download answers 503.
            while warming.request("GET", f"/rounds/{round_id}/report.pdf")[0] == 503:
                time.sleep(0.5)

        # Warm every worker (imports, fonts, stylesheets): as many PDFs at once as there
        # are sync workers, so each worker renders one; a single request warms only one.
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(warm, rounds[-workers:]))
        rounds = rounds[:-workers]
        uncached, cached = Timing(), Timing()
        for round_id in rounds[1:6]:
            for timing in (uncached, cached):  # first render, then from the database cache
                start = time.perf_counter()
                status, _h, body = browser.request("GET", f"/rounds/{round_id}/report.pdf")
                timing.values.append(time.perf_counter() - start)
                if status != 200 or not body.startswith(b"%PDF"):
                    raise RuntimeError(f"report.pdf: {status}")
        # The floor, in the same run: the same rounds' PDFs rendered in one warm process
        # without their charts (benchmarks/report_pdf.py; PNG and SVG charts beside it).
        from benchmarks.report_pdf import measure_in_subprocess

        floor = measure_in_subprocess(url, rounds[1:6], runs=5)
        value, spread = ms(uncached)
        text, product = floor["text"], floor[floor["product"]]
        results.add(f"flagship PDF, rendered (GET report.pdf, warm, {workers} workers)", value,
                    "ms", spread=spread, floor="same PDFs without charts, in-process",
                    floor_value=text["wall"] * 1e3, ratio=uncached.median / text["wall"],
                    target="≤ 1000 ms", met=uncached.median <= 1.0,
                    note=f"a new round each time, so nothing comes from the PDF cache; "
                         f"in-process renders of the same rounds, ms wall / CPU: "
                         f"{floor['product']} charts (the product) "
                         f"{product['wall'] * 1e3:.0f} / {product['cpu'] * 1e3:.0f}, " + ", ".join(
                             f"{variant} charts {floor[variant]['wall'] * 1e3:.0f} / "
                             f"{floor[variant]['cpu'] * 1e3:.0f}"
                             for variant in ("svg", "png") if variant != floor["product"])
                         + f", no charts {text['wall'] * 1e3:.0f} / {text['cpu'] * 1e3:.0f}")
        value, spread = ms(cached)
        results.add("flagship PDF, from the database cache", value, "ms", spread=spread)

        log("answering page alone, then while 4 PDFs render")
        alone = summarize(repeated_load(server.base, "GET", "/survey/page/1", sessions, 4,
                                        seconds, runs=2))
        stop = threading.Event()
        rendered, busy_answers = [], []
        queue = iter(rounds[6:])
        lock = threading.Lock()

        def render_loop():
            pdf_browser = admin_browser(server.base)
            while not stop.is_set():
                with lock:
                    round_id = next(queue, None)
                if round_id is None:
                    return
                start = time.perf_counter()
                # All render slots taken: the 503 comes at once; retry as a reader would.
                while (pdf_browser.request("GET", f"/rounds/{round_id}/report.pdf")[0] == 503
                       and not stop.is_set()):
                    busy_answers.append(1)
                    time.sleep(1.0)
                rendered.append(time.perf_counter() - start)

        threads = [threading.Thread(target=render_loop) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        try:
            busy = summarize(repeated_load(server.base, "GET", "/survey/page/1", sessions, 4,
                                           seconds, runs=2))
        finally:
            stop.set()
            for thread in threads:
                thread.join(180)
        results.add(f"answering page p95 while 4 PDFs render ({workers} workers)", busy["p95"],
                    "ms", spread=f"{busy['p95_min']:.0f}–{busy['p95_max']:.0f}",
                    floor="same page, no PDF rendering", floor_value=alone["p95"],
                    ratio=busy["p95"] / alone["p95"], target="≤ 200 ms", met=busy["p95"] <= 200,
                    note=f"{busy['generator']}; {len(rendered)} PDFs rendered meanwhile, "
                         f"median {statistics.median(rendered) if rendered else 0:.1f} s each "
                         f"from request to PDF; {len(busy_answers)} downloads answered 503 "
                         f"'try again' (render slots: half the workers) and were retried")

        for _ in range(3 * workers):
            status, _h, _ = browser.request(
                "GET", f"/national?period={national_period}&questionnaire={QUESTIONNAIRE}")
        pids = server.worker_pids()
        memory = [rss_mb(pid) for pid in pids]
        worst_rss = max(m[0] for m in memory)
        results.add("gunicorn worker RSS after the national dashboard", worst_rss, "MB",
                    spread=f"workers {', '.join(f'{m[0]:.0f}' for m in memory)}",
                    target="< 300 MB", met=worst_rss < 300,
                    note=f"PSS (shared pages split between workers): "
                         f"{', '.join(f'{m[1]:.0f}' for m in memory)} MB")
        browser.close()


# -- SQLite ------------------------------------------------------------------------------------


def bench_sqlite(results: Results, networks: int, seconds: float, workers: int,
                 answering: bool) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"national-{networks}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    log(f"SQLite: loading {networks} networks")
    timings = load_dataset(url, networks)
    results.add(f"demo-data load, {networks} networks, SQLite", timings["load"], "s",
                target="a few minutes at most", met=timings["load"] <= 180,
                note=f"{timings['responses']} responses")
    results.add(f"import_frame, {networks} networks, SQLite",
                timings["responses"] / timings["import"], "responses/s",
                note=f"{timings['import']:.1f} s for {timings['responses']} responses")
    if answering:
        bench_answering(results, url, "SQLite", workers, seconds, (100, 5))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# -- output ------------------------------------------------------------------------------------


def plot_growth(results: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    series = [(name, values) for name, values in results.growth.items() if len(values) > 1]
    if not series:
        return
    columns = 3
    rows = (len(series) + columns - 1) // columns
    figure = Figure(figsize=(4.2 * columns, 3.2 * rows), layout="constrained")
    for index, (name, values) in enumerate(series):
        axis = figure.add_subplot(rows, columns, index + 1)
        sizes = sorted(values)
        axis.plot(sizes, [values[s] for s in sizes], marker="o")
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("networks")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    figure.suptitle("How each figure grows with the number of networks (PostgreSQL)")
    figure.savefig(path, dpi=110)


def write_markdown(results: Results, info: dict, command: dict, path: Path,
                   minutes: float) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`benchmarks/run.py {command['argv']}`) on "
        f"{command['when']}; the run took {minutes:.1f} minutes. Each figure is measured "
        "beside its floor in the same run: on a shared 2-core machine the ratios are what "
        "count, not the absolute numbers: any other work on the machine (see the load "
        "average at the start) slows a figure and its floor alike. The floors measured "
        "earlier on these machines, for comparison: bare Flask ~7,600 req/s, Core insert "
        "~890 req/s.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        f"| CPU | {info.get('cpu')} ({info['cores']} cores) |",
        f"| memory | {info['memory_gb']} GB |",
        f"| Python | {info['python']} |",
        f"| PostgreSQL | {info['postgresql']} (local, default settings) |",
        f"| SQLite | {info['sqlite']} |",
        f"| load generator | {'wrk ' + info['wrk'] if info['wrk'] else 'Python threads'} |",
        f"| load average at start | {info['load_average']} |",
        f"| platform | {info['platform']} |",
        "",
        "## Figures",
        "",
        "Medians, with min–max of the repetitions in brackets (load figures: 3 runs of "
        f"{command['seconds']:.0f} s each).",
        "",
        "| figure | median (min–max) | floor | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in results.rows:
        floor = (f"{row['floor']}: {row['floor_value']:.1f}" if row["floor_value"] is not None
                 else "")
        ratio = f"{row['ratio']:.2f}×" if row["ratio"] is not None else ""
        met = {True: "yes", False: "**no**", None: ""}[row["met"]]
        value = f"{row['value']:.1f} {row['unit']}"
        if row["spread"]:
            value += f" ({row['spread']})"
        lines.append(f"| {row['figure']} | {value} | {floor} | {ratio} | {row['target']} | "
                     f"{met} |")
    notes = [row for row in results.rows if row["note"]]
    if notes:
        lines += ["", "Notes per figure:", ""]
        lines += [f"- {row['figure']}: {row['note']}" for row in notes]
    missed = [row for row in results.rows if row["met"] is False]
    if missed:
        lines += ["", "## Targets missed: why, and what would meet them", ""]
        explained: dict[str, str] = {}
        for row in missed:
            reason = next((text for prefix, text in EXPLANATIONS.items()
                           if row["figure"].startswith(prefix)), "no analysis yet")
            if reason in explained:
                reason = f"the same cause as for “{explained[reason]}” above."
            else:
                explained[reason] = row["figure"]
            lines.append(f"- **{row['figure']}** ({row['value']:.1f} {row['unit']}, target "
                         f"{row['target']}): {reason}")
    lines += ["", "## Growth", "", "![growth](growth.png)", ""]
    if results.growth:
        sizes = sorted({s for values in results.growth.values() for s in values})
        lines.append("| figure | " + " | ".join(f"{s} networks" for s in sizes) + " |")
        lines.append("| --- |" + " --- |" * len(sizes))
        for name, values in results.growth.items():
            lines.append(f"| {name} | " + " | ".join(
                f"{values[s]:.1f}" if s in values else "" for s in sizes) + " |")
    if results.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results.notes]
    path.write_text("\n".join(lines) + "\n")


# -- main --------------------------------------------------------------------------------------


def only_pdf(args) -> int:
    """--only-pdf: the PDF figures alone, at the largest size, for both worker counts."""
    if not pg_reachable():
        print("PostgreSQL does not answer on 127.0.0.1:5432; run `bash .ci/services`.",
              file=sys.stderr)
        return 1
    from assess.services.demo import demo_periods

    WORK.mkdir(parents=True, exist_ok=True)
    networks = max(int(s) for s in args.sizes.split(","))
    name = f"assess_bench_pdf_{networks}"  # apart from a full run's databases
    url = create_pg_database(name)
    results = Results()
    try:
        log(f"PostgreSQL: loading {networks} networks")
        load_dataset(url, networks)
        period = demo_periods(PERIODS, TODAY)[-1].label
        for workers in sorted({max(1, args.workers // 2), args.workers}):
            bench_pdf_and_memory(results, url, args.seconds, workers, period)
    finally:
        if not args.keep:
            drop_pg_database(name)
    print()
    print("figure | median | floor | ratio | target | met")
    for row in results.rows:
        print(format_row(row))
    for row in results.rows:
        if row["note"]:
            print(f"- {row['figure']}: {row['note']}")
    return 0


def measure_size(results: Results, name: str, networks: int):
    """Load `networks` networks into database `name` and add the growth figures."""
    url = create_pg_database(name)
    log(f"PostgreSQL: loading {networks} networks")
    timings = load_dataset(url, networks)
    rate = timings["responses"] / timings["import"]
    log(f"PostgreSQL: COPY floor for {timings['responses']} responses")
    floor = copy_floor(url)
    floor_rate = timings["responses"] / floor
    growth = results.growth
    growth.setdefault("demo-data load (s)", {})[networks] = timings["load"]
    growth.setdefault("import_frame (responses/s)", {})[networks] = rate
    growth.setdefault("COPY floor (responses/s)", {})[networks] = floor_rate
    log(f"reports at {networks} networks")
    reports = bench_reports(url, networks)
    for label, key in (("network report JSON (ms)", "network_json"),
                       ("network report page (ms)", "network_page"),
                       ("national JSON (ms)", "national_json"),
                       ("national page (ms)", "national_page"),
                       ("GROUP BY all respondent scores (ms)", "score_group_by")):
        growth.setdefault(label, {})[networks] = reports[key].median * 1e3
    return url, timings, floor, reports


def load_saved() -> tuple[Results, dict]:
    saved = json.loads(RESULTS_JSON.read_text())
    results = Results()
    results.rows, results.notes = saved["rows"], saved["notes"]
    results.growth = {name: {int(k): v for k, v in values.items()}
                      for name, values in saved["growth"].items()}
    return results, saved


def add_size(networks: int) -> int:
    """--add-size: one more point of the growth plot, beside the last full run's."""
    results, saved = load_saved()
    name = f"assess_bench_{networks}"
    try:
        measure_size(results, name, networks)
    finally:
        drop_pg_database(name)
    results.notes = [note for note in results.notes if not note.startswith("10,000 networks")]
    results.notes.append(
        f"The growth plot's {networks}-network point was measured by "
        f"`benchmarks/run.py --add-size {networks}` on {time.strftime('%Y-%m-%d %H:%M')}, "
        f"after the run above, on the same machine; the table's figures are the national "
        f"scale's.")
    saved.update(notes=results.notes, growth=results.growth)
    RESULTS_JSON.write_text(json.dumps(saved, indent=1))
    plot_growth(results, BENCH_DIR / "growth.png")
    write_markdown(results, saved["info"], saved["command"], BENCH_DIR / "RESULTS.md",
                   saved["minutes"])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="200,1000,2000",
                        help="numbers of networks (demo data at national density); the largest "
                             "is the national scale")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per load run")
    parser.add_argument("--workers", type=int, default=int(os.environ.get(
        "GUNICORN_WORKERS", (os.cpu_count() or 1) * 4)),
        help="gunicorn workers (default: gunicorn.conf.py's, 4 per core); the PDF test "
             "also runs with half as many")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the assess_bench_* databases")
    parser.add_argument("--output", default=str(BENCH_DIR / "RESULTS.md"))
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite RESULTS.md and growth.png from benchmarks/results.json")
    parser.add_argument("--add-size", type=int, metavar="NETWORKS",
                        help="measure the growth figures at one more size (e.g. 10000) and add "
                             "them to the last run's results.json, growth.png and RESULTS.md")
    parser.add_argument("--only-pdf", action="store_true",
                        help="load the largest size and measure only the PDF figures (PDF "
                             "render, cache, answering while PDFs render, worker memory); "
                             "prints them, writes nothing")
    args = parser.parse_args()
    if args.only_pdf:
        return only_pdf(args)
    if args.add_size:
        return add_size(args.add_size)
    if args.render_only:
        results, saved = load_saved()
        plot_growth(results, BENCH_DIR / "growth.png")
        write_markdown(results, saved["info"], saved["command"], Path(args.output),
                       saved["minutes"])
        return 0
    if not pg_reachable():
        print("PostgreSQL does not answer on 127.0.0.1:5432; run `bash .ci/services`.",
              file=sys.stderr)
        return 1
    started = time.time()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results = Results()
    info = machine_info(pg_url("postgres"))
    log(f"machine: {info}")
    bench_startup(results)

    databases = []
    national_url = None
    try:
        for networks in sizes:
            name = f"assess_bench_{networks}"
            databases.append(name)
            url, timings, floor, reports = measure_size(results, name, networks)
            if networks == sizes[0]:
                small_reports = reports
            if networks == sizes[-1]:
                national_url, national = url, (timings, floor, reports)

        timings, floor, reports = national
        n = sizes[-1]
        results.add(f"demo-data load, {n} networks, PostgreSQL", timings["load"], "s",
                    target="a few minutes at most", met=timings["load"] <= 180,
                    note=f"{timings['responses']} responses, {timings['rounds']} rounds")
        rate = timings["responses"] / timings["import"]
        floor_rate = timings["responses"] / floor
        results.add(f"import_frame, {n} networks, PostgreSQL", rate, "responses/s",
                    spread=f"{timings['import']:.1f} s", floor="COPY only, same rows",
                    floor_value=floor_rate, ratio=rate / floor_rate, target="≥ 10,000/s",
                    met=rate >= 10_000,
                    note=f"COPY of the same responses, answers and respondent scores into the "
                         f"emptied tables took {floor:.1f} s")
        for key, label in (("network_json", "network report JSON (network_report)"),
                           ("network_page", "network report page (HTML)")):
            value, spread = ms(reports[key])
            small = small_reports[key].median
            results.add(f"{label}, warm, {n} networks", value, "ms", spread=spread,
                        floor=f"same at {sizes[0]} networks", floor_value=small * 1e3,
                        ratio=reports[key].median / small, target="≤ 50 ms, ≤ 1.3×",
                        met=reports[key].median <= 0.05 and reports[key].median / small <= 1.3)
        value, spread = ms(reports["network_aggregate"])
        results.add("one network's aggregate in SQL (floor)", value, "ms", spread=spread)
        group_by = reports["score_group_by"].median
        for key, label in (("national_json", "national comparison JSON (national_report)"),
                           ("national_page", "national comparison page (/national)")):
            value, spread = ms(reports[key])
            ratio = reports[key].median / group_by
            results.add(f"{label}, warm, {n} networks", value, "ms", spread=spread,
                        floor="one GROUP BY over all respondent scores",
                        floor_value=group_by * 1e3, ratio=ratio, target="≤ 100 ms, ≤ 0.25×",
                        met=reports[key].median <= 0.1 and ratio <= 0.25)

        if not args.skip_http:
            bench_answering(results, national_url, "PostgreSQL", args.workers, args.seconds,
                            (100, 5))
            from assess.services.demo import demo_periods

            period = demo_periods(PERIODS, TODAY)[-1].label
            for workers in sorted({max(1, args.workers // 2), args.workers}):
                bench_pdf_and_memory(results, national_url, args.seconds, workers, period)
        if not args.skip_sqlite:
            bench_sqlite(results, sizes[-1], args.seconds, args.workers,
                         answering=not args.skip_http)
    finally:
        if not args.keep:
            for name in databases:
                drop_pg_database(name)
    if max(sizes) < 10_000:
        results.notes.append(
            "10,000 networks were not run: loading them takes about five times the national "
            "load on this shared 2-core machine; `benchmarks/run.py --add-size 10000` "
            "adds them to the growth plot.")
    print()
    print("figure | median | floor | ratio | target | met")
    for row in results.rows:
        print(format_row(row))
    minutes = (time.time() - started) / 60
    command = {"argv": " ".join(sys.argv[1:]), "seconds": args.seconds,
               "when": time.strftime("%Y-%m-%d %H:%M")}
    RESULTS_JSON.write_text(json.dumps({"rows": results.rows, "notes": results.notes,
                                        "growth": results.growth, "info": info,
                                        "command": command, "minutes": minutes}, indent=1))
    plot_growth(results, BENCH_DIR / "growth.png")
    write_markdown(results, info, command, Path(args.output), minutes)
    log(f"wrote {args.output} and {BENCH_DIR / 'growth.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
