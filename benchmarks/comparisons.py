"""Before/after timings of the network report and the national comparison (issue 8).

    python benchmarks/comparisons.py load 2000     # builds assess_bench_cmp_2000 once (~2.5 min)
    python benchmarks/comparisons.py measure 200 2000

Uses benchmarks/run.py's helpers: the same demo data, flagship round and GROUP BY floor
as `make bench`, without the rest of the run. The databases are kept for reruns.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import create_pg_database, pg_url, time_repeated  # noqa: E402
from benchmarks.run import bench_reports, load_dataset  # noqa: E402


def database(networks: int) -> str:
    return f"assess_bench_cmp_{networks}"


def load(networks: int) -> None:
    url = create_pg_database(database(networks))
    timings = load_dataset(url, networks)
    print(f"{networks} networks loaded in {timings['load']:.1f} s", flush=True)


def committed_json(url: str, networks: int) -> dict:
    """The JSON figures as the views call them: each request commits (what it computed is
    kept), unlike run.py's loop, which rolls back and so never reads a stored comparison."""
    from assess.services.reports import national_report, network_report
    from benchmarks.common import make_app
    from benchmarks.run import QUESTIONNAIRE, flagship_round

    app = make_app(url)
    session = app.extensions["assess.sessionmaker"]()
    out = {}
    with app.app_context():
        round_ = flagship_round(session, networks)
        round_id, period = round_.id, round_.period.label

        def report_json():
            from assess.models import Round

            network_report(session, session.get(Round, round_id), "en", 5)
            session.commit()

        def national_json():
            national_report(session, period, QUESTIONNAIRE)
            session.commit()

        out["network_json (commit)"] = time_repeated(report_json, repeat=15, warmup=2)
        out["national_json (commit)"] = time_repeated(national_json, repeat=9, warmup=2)
    session.close()
    app.extensions["assess.engine"].dispose()
    return out


def measure(sizes: list[int]) -> None:
    from assess import migrate
    from benchmarks.common import make_app

    for networks in sizes:
        url = pg_url(database(networks))
        app = make_app(url)
        migrate.upgrade(app.extensions["assess.engine"])
        app.extensions["assess.engine"].dispose()
        out = {**committed_json(url, networks), **bench_reports(url, networks)}
        for name, timing in out.items():
            values = sorted(v * 1e3 for v in timing.values)
            print(f"{networks:>5} {name:<18} median {timing.median * 1e3:8.1f} ms "
                  f"(min {values[0]:.1f}, max {values[-1]:.1f})", flush=True)


if __name__ == "__main__":
    command, *sizes = sys.argv[1:]
    if command == "load":
        for size in sizes:
            load(int(size))
    else:
        measure([int(s) for s in sizes])
