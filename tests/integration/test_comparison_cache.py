"""Stored comparisons are read while the data is the same and recomputed when it changes.

The national comparison (JSON, dashboard, chart SVGs) and each network's benchmarks are
kept in the database, shared by every worker and host. A submission followed by the
round's close, a reopened round and an import each change a number users see: the
cached result must give way to the new one at once.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from assess.models import (
    ComparisonVersion,
    Network,
    NetworkBenchmark,
    Period,
    QuestionnaireVersion,
    RenderedReport,
    Round,
    User,
)
from assess.questionnaire import load_questionnaire_file
from assess.services import surveys
from assess.services.questionnaires import definition_of, load_into_db
from assess.services.reports import national_report, network_report

TINY = Path(__file__).parents[1] / "data" / "tiny.v1.yaml"
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")
PERIOD = "2026-spring"
ITEMS = ["a1", "a2", "b1", "b2", "c1", "c2", "d1", "d2", "t1", "t2", "t3"]


def rows(network: str, region: str, value: int, n: int = 3) -> list[str]:
    """n respondents answering `value` everywhere: every stage score is 25 * (value - 1)."""
    cells = ",".join([str(value)] * 11)
    return [f"{region},{network},{PERIOD},{network}-{i},{network} org {i},"
            f"2026-03-20T12:00:00,{cells}," for i in range(n)]


@pytest.fixture
def imported(db, runner, tmp_path):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()

    def _import(lines: list[str], name: str = "responses.csv") -> None:
        path = tmp_path / name
        path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
        result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
        assert result.exit_code == 0, result.output

    _import([*rows("A1", "R1", 2), *rows("A2", "R1", 3), *rows("A3", "R1", 4),
             *rows("B1", "R2", 2), *rows("B2", "R2", 3), *rows("B3", "R2", 5)])
    return _import


def national_cli(runner) -> dict:
    result = runner.invoke(args=["national", "--period", PERIOD, "--questionnaire", "tiny",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def mark_cached(db, prefix: str) -> int:
    """Put a marker into every kept result whose key starts with ``prefix``: a later read
    that shows the marker came from the cache, one that does not was recomputed."""
    kept = db.scalars(select(RenderedReport).where(RenderedReport.key.like(prefix + "%"))).all()
    for row in kept:
        data = json.loads(row.body)
        data["period"] = "from the cache"
        row.body = json.dumps(data).encode()
    db.commit()
    return len(kept)


def answer(db, round_: Round, value: int, user: User) -> None:
    """One member answers `value` everywhere and submits, through the survey service."""
    questionnaire = definition_of(round_.questionnaire)
    response = surveys.start_or_resume_for_user(db, round_, user.id)
    db.flush()
    assert surveys.save_answers(db, response, questionnaire, dict.fromkeys(ITEMS, str(value)),
                                ITEMS) == {}
    surveys.submit(db, response, questionnaire)
    db.commit()


def test_the_national_comparison_is_read_from_the_cache_until_a_round_closes(
        imported, db, runner, make_network, make_user):
    first = national_cli(runner)
    assert first["national"]["dimensions"]["stage-1"]["networks"] == 6
    assert mark_cached(db, "national-dashboard:") == 1
    assert national_cli(runner)["period"] == "from the cache"

    # a new network's round: three members answer; while the round is open nothing changes
    period = db.scalar(select(Period).where(Period.label == PERIOD))
    qrow = db.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.slug == "tiny"))
    region = db.scalar(select(Network).where(Network.name == "B1")).region
    network = make_network("B4", region=region)
    today = date.today()
    round_ = surveys.open_round(db, network, period, qrow, today + timedelta(days=7), today)
    db.commit()
    assert national_cli(runner)["national"]["dimensions"]["stage-1"]["networks"] == 6
    mark_cached(db, "national-dashboard:")
    for i in range(3):
        answer(db, round_, 5, make_user(f"member{i}@example.org"))
    assert national_cli(runner)["period"] == "from the cache"  # open rounds do not count

    surveys.close_round(db, round_)
    db.commit()
    after = national_cli(runner)
    assert after["period"] == PERIOD  # recomputed
    assert after["national"]["dimensions"]["stage-1"]["networks"] == 7
    assert after["national"]["dimensions"]["stage-1"]["mean"] != \
        first["national"]["dimensions"]["stage-1"]["mean"]


def test_a_reopened_round_and_an_import_replace_the_cached_comparison(imported, db, runner):
    national_cli(runner)
    assert mark_cached(db, "national-") == 2  # the JSON and the dashboard
    a1 = db.scalar(select(Round).join(Network).where(Network.name == "A1"))
    surveys.reopen_round(db, a1, date.today() + timedelta(days=7), date.today())
    db.commit()
    reopened = national_cli(runner)
    assert reopened["period"] == PERIOD
    assert reopened["national"]["dimensions"]["stage-1"]["networks"] == 5

    mark_cached(db, "national-")
    imported([*rows("C1", "R2", 1)], "more.csv")  # a fourth network in R2
    after = national_cli(runner)
    assert after["period"] == PERIOD
    assert next(b for b in after["regions"] if b["region"] == "R2")["networks"] == 4
    assert after["national"]["dimensions"]["stage-1"]["networks"] == 6
    # A1 reopened (25 out), C1 in (0): 50, 75, 25, 50, 100, 0
    assert after["national"]["dimensions"]["stage-1"]["mean"] == 50.0
    assert reopened["national"]["dimensions"]["stage-1"]["mean"] == 60.0


def test_cached_and_fresh_national_json_are_the_same(imported, db):
    fresh = national_report(db, PERIOD, "tiny")
    db.commit()
    assert db.scalar(select(RenderedReport).where(RenderedReport.key.like("national-json:%")))
    assert national_report(db, PERIOD, "tiny") == fresh
    assert json.dumps(national_report(db, PERIOD, "tiny")) == json.dumps(fresh)


def test_network_benchmarks_are_stored_once_and_follow_an_import(imported, db):
    a2 = db.scalar(select(Round).join(Network).where(Network.name == "A2"))
    fresh = network_report(db, a2, "en")
    db.commit()
    assert db.scalar(select(ComparisonVersion.version)) is not None
    assert len(db.scalars(select(NetworkBenchmark)).all()) == 6 * 5  # networks x dimensions
    stored = network_report(db, a2, "en")
    assert json.dumps(stored) == json.dumps(fresh)
    bench = {d["id"]: d["benchmark"] for d in fresh["dimensions"]}
    assert bench["stage-1"]["networks"] == 6
    # a changed stored row shows: the report reads the stored benchmarks
    row = db.get(NetworkBenchmark, (a2.period_id, a2.questionnaire_id, a2.network_id,
                                    "stage-1"))
    row.national_median = 99.0
    db.commit()
    assert {d["id"]: d for d in network_report(db, a2, "en")["dimensions"]}[
        "stage-1"]["benchmark"]["national_median"] == 99.0
    db.commit()  # ends the read: SQLite would keep its snapshot past the import

    imported([*rows("A4", "R1", 5)], "more.csv")
    db.expire_all()
    a2 = db.get(Round, a2.id)
    after = {d["id"]: d for d in network_report(db, a2, "en")["dimensions"]}
    assert after["stage-1"]["benchmark"]["networks"] == 7
    assert after["stage-1"]["benchmark"]["national_median"] == 50.0
    assert after["stage-1"]["region_networks"] == 4
    assert after["stage-1"]["region_median"] == pytest.approx(62.5)


def test_the_dashboard_charts_are_kept_once_per_view_and_redrawn_on_change(
        imported, db, client, auth, make_user):
    make_user("analyst@example.org", role="analyst")
    auth.login("analyst@example.org")
    query = {"period": PERIOD, "questionnaire": "tiny", "dimension": "stage-1"}

    def kept() -> list[tuple[str, str]]:
        db.commit()
        return [(row.key, row.data_version) for row in db.scalars(
            select(RenderedReport).where(RenderedReport.key.like("national-charts:%")))]

    def page() -> str:
        response = client.get("/national", query_string=query)
        assert response.status_code == 200
        # The forms' CSRF tokens carry the second they were made in; the rest must match.
        return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))

    first = page()
    drawn = kept()
    assert len(drawn) == 1
    assert page() == first
    assert kept() == drawn
    imported([*rows("C1", "R2", 1)], "more.csv")
    assert page() != first
    redrawn = kept()
    assert len(redrawn) == 1 and redrawn[0][0] == drawn[0][0]
    assert redrawn[0][1] != drawn[0][1]


# -- stored benchmarks against the per-request computation they replace ------------------------


def reference_benchmarks(db, round_: Round) -> tuple[dict, dict]:
    """What network_report computed on every request before the benchmarks were stored."""
    from assess import scoring
    from assess.scoring import round1, settle
    from assess.services.reports import MIN_REGION_NETWORKS, _comparable_scores

    scores = _comparable_scores(db, round_.period_id, round_.questionnaire_id)
    if scores.empty:
        return {}, {}
    bench = scoring.benchmark(scores[["network_id", "region_id", "dimension_id", "score"]])
    own = bench[bench["network_id"] == round_.network_id]
    benchmarks = {
        row.dimension_id: {
            "national_percentile": round1(row.national_percentile),
            "region_percentile": round1(row.region_percentile),
            "national_median": round1(row.national_median),
            "networks": int(row.networks),
        }
        for row in own.itertuples()
    }
    region = scores[scores["region_id"] == round_.network.region_id]
    medians = {}
    for dim_id, part in region.groupby("dimension_id"):
        networks = int(part["network_id"].nunique())
        median = (round1(float(settle(part["score"]).median()))
                  if networks >= MIN_REGION_NETWORKS else None)
        medians[dim_id] = {"region_median": median, "region_networks": networks}
    return benchmarks, medians


def test_stored_benchmarks_equal_the_per_request_computation(imported, db):
    import random

    from assess.services.reports import stored_benchmarks

    rng = random.Random(8)
    lines = []
    for n in range(30):  # ties, regions of 1-12 networks, answers varying by respondent
        region = rng.choice(["R1", "R2", "R3", "R3", "R4", "R4", "R4"])
        level = rng.choice([2, 3, 3, 4])
        for i in range(rng.choice([3, 4])):
            cells = ",".join(str(min(5, max(1, level + rng.choice([-1, 0, 0, 1]))))
                             for _ in range(11))
            lines.append(f"{region},X{n},{PERIOD},X{n}-{i},X{n} org {i % 2},"
                         f"2026-03-20T12:00:00,{cells},")
    imported(lines, "random.csv")
    db.expire_all()
    rounds = db.scalars(select(Round)).all()
    assert len(rounds) == 36
    for round_ in rounds:
        expected = reference_benchmarks(db, round_)
        assert stored_benchmarks(db, round_) == expected, round_.network.name
        db.commit()
    assert db.scalar(select(ComparisonVersion.version)) is not None
