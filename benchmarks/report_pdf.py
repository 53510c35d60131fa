"""How fast is the leaders' report PDF? PNG charts, SVG charts and the text-only floor.

    .venv/bin/python benchmarks/report_pdf.py [--networks 40] [--periods 4] [--runs 7]
    .venv/bin/python benchmarks/report_pdf.py --database URL --rounds 12,13,14

Builds a demo database in a temporary SQLite file (create_demo_data), or uses
--database, picks the network with the most rounds and its latest round with results
(or the --rounds given), then renders that round's PDF without the cache in one warm
Python process, the variants taking turns so that a burst of load on this shared
machine hits them alike:

* png: the product (report_render.PDF_CHART_FORMAT), charts as 150-dpi PNG;
* svg: the same charts inline as SVG, text kept as text;
* text: the same report without its charts: the floor of WeasyPrint on this document.

Each rendering is timed as wall time and as CPU time of the process (the rendering
runs in pdf.py's low-priority thread, so under load its wall time stretches while
its CPU time does not). Also times a cached request (report dict + database lookup).
This is a script, not a test; the target is a warm render of at most 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = ("png", "svg", "svg-image", "text")


def _app(database: str):
    from assess import create_app

    url = database if "://" in database else f"sqlite:///{database}"
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "benchmark", "TESTING": True})


def build_database(database: Path, networks: int, periods: int) -> int:
    """Migrate, load the questionnaires and the demo data; return the round to render."""
    from sqlalchemy import func, select

    from assess import migrate
    from assess.models import Round, RoundSummary
    from assess.services import questionnaires
    from assess.services.demo import create_demo_data
    from assess.services.results import recompute_rounds

    app = _app(str(database))
    migrate.upgrade(app.extensions["assess.engine"])
    session = app.extensions["assess.sessionmaker"]()
    questionnaires.load_directory(session)
    create_demo_data(session, seed=1, networks=networks, periods=periods)
    session.commit()
    recompute_rounds(session, list(session.scalars(select(Round.id))))
    session.commit()
    counts = session.execute(
        select(Round.network_id, func.count(Round.id)).group_by(Round.network_id)
        .order_by(func.count(Round.id).desc(), Round.network_id)
    ).first()
    network_id = counts[0]
    shown = session.scalars(
        select(Round).join(RoundSummary, RoundSummary.round_id == Round.id)
        .where(Round.network_id == network_id, Round.state == "closed",
               RoundSummary.suppressed.is_(False))
    ).all()
    from assess.services.reports import period_start

    latest = max(shown, key=lambda r: period_start(r.period))
    print(f"Network: {latest.network.name} ({counts[1]} rounds); round {latest.id}, "
          f"{latest.period.label}", flush=True)
    session.close()
    app.extensions["assess.engine"].dispose()
    return latest.id


def measure(database: str, round_ids: list[int], runs: int, lang: str = "sv") -> dict:
    """In this process: one warm-up render per variant, then `runs` turns of every variant,
    cycling through the rounds. Returns per variant the medians of wall and CPU time."""
    from flask_babel import force_locale

    from assess.models import Round
    from assess.services import report_render
    from assess.services.reports import network_report

    app = _app(database)
    session = app.extensions["assess.sessionmaker"]()
    charts_of = report_render.report_charts
    timings: dict[str, dict[str, list[float]]] = {
        v: {"wall": [], "cpu": []} for v in VARIANTS}
    sizes: dict[str, int] = {}
    with app.test_request_context(), force_locale(lang):
        reports = [network_report(session, session.get(Round, r), lang, 5) for r in round_ids]
        session.commit()

        def render(variant: str, report: dict) -> bytes:
            if variant == "text":
                report_render.report_charts = lambda report, fmt="svg": {}
                try:
                    return report_render.render_report_pdf(report)
                finally:
                    report_render.report_charts = charts_of
            return report_render.render_report_pdf(report, chart_format=variant)

        for variant in VARIANTS:  # warm: imports, fonts, stylesheets
            sizes[variant] = len(render(variant, reports[0]))
        for turn in range(runs):
            report = reports[turn % len(reports)]
            for variant in VARIANTS:
                wall, cpu = time.perf_counter(), time.process_time()
                render(variant, report)
                timings[variant]["wall"].append(time.perf_counter() - wall)
                timings[variant]["cpu"].append(time.process_time() - cpu)
        round_ = session.get(Round, round_ids[0])
        report_render.report_pdf(session, round_, lang, 5)  # fills the cache
        session.commit()
        hits = []
        for _ in range(runs):
            before = time.perf_counter()
            report_render.report_pdf(session, round_, lang, 5)
            session.commit()
            hits.append(time.perf_counter() - before)
    session.close()
    app.extensions["assess.engine"].dispose()
    result = {v: {"wall": statistics.median(t["wall"]), "wall_min": min(t["wall"]),
                  "wall_max": max(t["wall"]), "cpu": statistics.median(t["cpu"]),
                  "size": sizes[v]} for v, t in timings.items()}
    result["cached"] = statistics.median(hits)
    result["product"] = report_render.PDF_CHART_FORMAT
    return result


def measure_in_subprocess(database: str, round_ids: list[int], runs: int) -> dict:
    """measure() in a fresh process (benchmarks/run.py calls this)."""
    output = subprocess.run(
        [sys.executable, __file__, "--database", database, "--runs", str(runs),
         "--rounds", ",".join(map(str, round_ids)), "--json"],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", type=int, default=40)
    parser.add_argument("--periods", type=int, default=4)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database", help="an existing database (URL or SQLite path)")
    parser.add_argument("--rounds", help="round ids to render, comma-separated")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.database and args.rounds:
        results = measure(args.database, [int(r) for r in args.rounds.split(",")], args.runs)
        if args.json:
            print(json.dumps(results))
            return
    else:
        with tempfile.TemporaryDirectory() as tmp:
            database = Path(tmp) / "benchmark.sqlite3"
            before = time.perf_counter()
            round_id = build_database(database, args.networks, args.periods)
            print(f"Demo database ({args.networks} networks, {args.periods} periods) built in "
                  f"{time.perf_counter() - before:.1f} s", flush=True)
            results = measure_in_subprocess(str(database), [round_id], args.runs)
    print()
    print(f"PDF of one round, uncached, warm (median of {args.runs}, variants taking turns):")
    print(f"{'charts':<8}{'wall s':>8}{'min–max':>14}{'CPU s':>8}{'PDF KB':>8}")
    for variant in VARIANTS:
        r = results[variant]
        print(f"{variant:<8}{r['wall']:>8.2f}{r['wall_min']:>8.2f}–{r['wall_max']:<5.2f}"
              f"{r['cpu']:>8.2f}{r['size'] / 1024:>8.0f}")
    print(f"Cached request (report dict + database lookup, no render): "
          f"{results['cached']:.3f} s")
    print(f"(load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
          f" on {os.cpu_count()} CPUs; wall times grow with it, CPU times much less)")
    product, floor = results[results["product"]], results["text"]
    print(f"Product ({results['product']} charts): {product['cpu'] / floor['cpu']:.2f}x the "
          f"text-only floor in CPU; less CPU: "
          f"{min(('png', 'svg'), key=lambda v: results[v]['cpu'])}. Target warm <= 1 s: "
          f"wall {'met' if product['wall'] <= 1 else 'NOT met'}, "
          f"CPU {'met' if product['cpu'] <= 1 else 'NOT met'}.")


if __name__ == "__main__":
    main()
