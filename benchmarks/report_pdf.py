"""How fast is the leaders' report PDF? SVG charts against 150-dpi PNG charts.

    .venv/bin/python benchmarks/report_pdf.py [--networks 40] [--periods 4] [--runs 5]

Builds a demo database in a temporary SQLite file (create_demo_data), picks the
network with the most rounds and its latest round with results, then renders that
round's PDF without the cache, once per chart format, each in a fresh Python process:

* cold: the first render in the process (imports, fonts, WeasyPrint's set-up);
* warm: the median of --runs further renders in the same process.

It also times a cached request (report dict + database lookup, no rendering).

assess/reports/pdf.py's URL fetcher refuses every URL but its own, `data:` included,
so a PNG data URI cannot reach WeasyPrint in the app. To measure PNG anyway, the
PNG run (and only it, here) lets the fetcher also read `data:` URIs.

This is a script, not a test; the target is a warm render under 2 s.
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


def _app(database: Path):
    from assess import create_app

    return create_app({"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "benchmark",
                       "TESTING": True})


def build_database(database: Path, networks: int, periods: int) -> int:
    """Migrate, load the questionnaires and the demo data; return the round to render."""
    from sqlalchemy import func, select

    from assess import migrate
    from assess.models import Round, RoundSummary
    from assess.services import questionnaires
    from assess.services.demo import create_demo_data
    from assess.services.results import recompute_rounds

    app = _app(database)
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


def _allow_data_uris() -> None:
    """For the PNG measurement only: let pdf.py's fetcher also read data: URIs."""
    from weasyprint.urls import URLFetcher

    from assess.reports import pdf

    make = pdf._make_fetcher

    def make_fetcher():
        safe = make()
        plain = URLFetcher()

        class WithDataURIs(type(safe)):
            def fetch(self, url, headers=None):
                if url.startswith("data:"):
                    return plain.fetch(url, headers)
                return safe.fetch(url, headers)

        return WithDataURIs(allowed_protocols=())

    pdf._make_fetcher = make_fetcher


def measure(database: Path, round_id: int, fmt: str, runs: int) -> dict:
    """Run in a fresh process: cold render, then `runs` warm renders, all uncached."""
    started = time.perf_counter()
    from flask_babel import force_locale

    from assess.models import Round
    from assess.services import report_render
    from assess.services.reports import network_report

    if fmt == "png":
        _allow_data_uris()
    app = _app(database)
    session = app.extensions["assess.sessionmaker"]()
    round_ = session.get(Round, round_id)
    with app.test_request_context(), force_locale("sv"):
        report = network_report(session, round_, "sv", 5)
        session.commit()
        before = time.perf_counter()
        body = report_render.render_report_pdf(report, chart_format=fmt)
        cold = time.perf_counter() - before
        warm, cpu = [], []
        for _ in range(runs):
            before, before_cpu = time.perf_counter(), time.process_time()
            report_render.render_report_pdf(report, chart_format=fmt)
            warm.append(time.perf_counter() - before)
            cpu.append(time.process_time() - before_cpu)
        charts = []
        for _ in range(runs):
            before = time.perf_counter()
            report_render.report_charts(report, fmt)
            charts.append(time.perf_counter() - before)
        cached = None
        if fmt == report_render.PDF_CHART_FORMAT:
            report_render.report_pdf(session, round_, "sv", 5)  # fills the cache
            session.commit()
            hits = []
            for _ in range(runs):
                before = time.perf_counter()
                report_render.report_pdf(session, round_, "sv", 5)
                session.commit()
                hits.append(time.perf_counter() - before)
            cached = statistics.median(hits)
    session.close()
    app.extensions["assess.engine"].dispose()
    return {"format": fmt, "cold": cold, "process": time.perf_counter() - started,
            "warm": statistics.median(warm), "cpu": statistics.median(cpu),
            "charts": statistics.median(charts), "size": len(body), "cached": cached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", type=int, default=40)
    parser.add_argument("--periods", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--measure", nargs=3, metavar=("DB", "ROUND", "FORMAT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        database, round_id, fmt = args.measure
        print(json.dumps(measure(Path(database), int(round_id), fmt, args.runs)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "benchmark.sqlite3"
        before = time.perf_counter()
        round_id = build_database(database, args.networks, args.periods)
        print(f"Demo database ({args.networks} networks, {args.periods} periods) built in "
              f"{time.perf_counter() - before:.1f} s", flush=True)
        results = []
        for fmt in ("svg", "png"):
            output = subprocess.run(
                [sys.executable, __file__, "--runs", str(args.runs),
                 "--measure", str(database), str(round_id), fmt],
                check=True, capture_output=True, text=True, cwd=ROOT,
            ).stdout
            results.append(json.loads(output.strip().splitlines()[-1]))
    print()
    print(f"PDF of one round, uncached render (warm = median of {args.runs}):")
    print(f"{'charts':<8}{'cold s':>8}{'warm s':>8}{'warm CPU s':>12}{'charts s':>10}"
          f"{'PDF KB':>8}")
    for r in results:
        print(f"{r['format']:<8}{r['cold']:>8.2f}{r['warm']:>8.2f}{r['cpu']:>12.2f}"
              f"{r['charts']:>10.3f}{r['size'] / 1024:>8.0f}")
    cached = next(r["cached"] for r in results if r["cached"] is not None)
    print(f"Cached request (report dict + database lookup, no render): {cached:.3f} s")
    print(f"(load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
          f" on {os.cpu_count()} CPUs; wall times grow with it, CPU times much less)")
    cpu = {r["format"]: r["cpu"] for r in results}
    faster = min(cpu, key=cpu.get)
    print(f"Less CPU per warm render: {faster}. Target warm < 2 s: "
          f"wall {'met' if max(r['warm'] for r in results) < 2 else 'NOT met'}, "
          f"CPU {'met' if max(cpu.values()) < 2 else 'NOT met'}.")

if __name__ == "__main__":
    main()
