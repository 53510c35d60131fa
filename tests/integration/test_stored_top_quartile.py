"""The top quartiles behind the practice suggestions are stored with the benchmarks.

They are computed once per data change (reports.store_benchmarks, under the period's
comparison_version) and must equal what practices.top_quartile_networks computed on
every request before: p75 with linear interpolation over the comparable networks'
unrounded scores, compared settled, no top quartile among fewer than 3 networks.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import select, update

from assess.models import ComparisonVersion, NetworkBenchmark, Round
from assess.questionnaire import load_questionnaire_file
from assess.scoring import settle
from assess.services.practices import top_quartile_networks
from assess.services.questionnaires import load_into_db

TINY = Path(__file__).parents[1] / "data" / "tiny.v1.yaml"
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")
PERIOD = "2026-spring"


@pytest.fixture
def imported(db, runner, tmp_path):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()

    def _import(lines: list[str], name: str) -> None:
        path = tmp_path / name
        path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
        result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
        assert result.exit_code == 0, result.output

    return _import


def random_networks(rng: random.Random, prefix: str, count: int) -> list[str]:
    """Networks of 3-4 respondents: ties, regions of 1-12 networks, varying answers."""
    lines = []
    for n in range(count):
        region = rng.choice(["R1", "R2", "R3", "R3", "R4", "R4", "R4"])
        level = rng.choice([2, 3, 3, 4])
        for i in range(rng.choice([3, 4])):
            cells = ",".join(str(min(5, max(1, level + rng.choice([-1, 0, 0, 1]))))
                             for _ in range(11))
            lines.append(f"{region},{prefix}{n},{PERIOD},{prefix}{n}-{i},{prefix}{n} org {i % 2},"
                         f"2026-03-20T12:00:00,{cells},")
    return lines


def reference_top_quartile(db, period_id: int, questionnaire_id: int) -> dict:
    """What practices.top_quartile_networks computed on every request before it was stored."""
    from assess.services.reports import _comparable_scores, _refresh_stale_rounds

    _refresh_stale_rounds(db, period_id, questionnaire_id)
    scores = _comparable_scores(db, period_id, questionnaire_id)
    top: dict[str, set[int]] = {}
    for dim, part in scores.groupby("dimension_id"):
        if len(part) < 3:
            continue
        cut = settle(float(part["score"].quantile(0.75)))
        top[dim] = {int(n) for n, s in zip(part["network_id"], part["score"], strict=True)
                    if settle(s) >= cut}
    return top


@pytest.mark.parametrize("seed", [8, 13])
def test_stored_top_quartiles_equal_the_per_request_computation(imported, db, seed):
    rng = random.Random(seed)
    imported(random_networks(rng, "X", 30), "random.csv")
    db.expire_all()
    round_ = db.scalars(select(Round)).first()
    period_id, questionnaire_id = round_.period_id, round_.questionnaire_id

    expected = reference_top_quartile(db, period_id, questionnaire_id)
    db.commit()
    assert expected and all(len(networks) >= 1 for networks in expected.values())
    fresh = top_quartile_networks(db, period_id, questionnaire_id)  # computed and stored
    db.commit()
    assert fresh == expected
    assert db.scalar(select(ComparisonVersion.version)) is not None
    assert top_quartile_networks(db, period_id, questionnaire_id) == expected  # stored
    db.commit()

    # a second import (another ~third of networks) changes the data: recomputed at once
    imported(random_networks(rng, "Y", 12), "more.csv")
    db.expire_all()
    expected = reference_top_quartile(db, period_id, questionnaire_id)
    db.commit()
    assert top_quartile_networks(db, period_id, questionnaire_id) == expected
    db.commit()
    assert top_quartile_networks(db, period_id, questionnaire_id) == expected
    db.commit()


def test_too_few_networks_have_no_top_quartile_stored(imported, db):
    lines = [f"R1,N{n},{PERIOD},N{n}-{i},N{n} org,2026-03-20T12:00:00,"
             + ",".join([str(n + 2)] * 11) + "," for n in range(2) for i in range(3)]
    imported(lines, "two.csv")
    db.expire_all()
    round_ = db.scalars(select(Round)).first()
    assert top_quartile_networks(db, round_.period_id, round_.questionnaire_id) == {}
    db.commit()
    assert db.scalars(select(NetworkBenchmark)).all()  # benchmarks are stored all the same
    assert not db.scalars(select(NetworkBenchmark).where(
        NetworkBenchmark.top_quartile.is_(True))).all()


def test_suggestions_read_the_stored_flags_while_the_data_is_unchanged(imported, db):
    rng = random.Random(3)
    imported(random_networks(rng, "X", 12), "random.csv")
    db.expire_all()
    round_ = db.scalars(select(Round)).first()
    args = (round_.period_id, round_.questionnaire_id)
    assert top_quartile_networks(db, *args)
    db.commit()
    # a marker in the stored rows shows: the stored flags are read, not recomputed
    db.execute(update(NetworkBenchmark).values(top_quartile=False))
    db.commit()
    assert top_quartile_networks(db, *args) == {}
    db.commit()


def test_suggestions_from_the_stored_sets_equal_those_from_the_reference(imported, db):
    """The suggestions read only the asked dimensions and the publishing networks from the
    stored rows: the practices picked are those the full reference sets give."""
    from datetime import datetime

    from assess.models import Practice
    from assess.services.practices import _pick, _published_of, suggest_practices

    rng = random.Random(21)
    imported(random_networks(rng, "X", 30), "random.csv")
    db.expire_all()
    rounds = db.scalars(select(Round).order_by(Round.id)).all()
    for minute, round_ in enumerate(rng.sample(rounds, 12)):
        db.add(Practice(network_id=round_.network_id, title=f"P{minute}", body="How we work.",
                        language="en", is_published=minute % 4 != 0,
                        published_at=datetime(2026, 4, 1, 12, minute)))
    db.commit()
    first = rounds[0]
    reference = reference_top_quartile(db, first.period_id, first.questionnaire_id)
    practices = _published_of(db, set().union(*reference.values()))
    db.commit()
    dims = sorted(reference)
    for attempt in range(2):  # computed and stored, then read from the stored rows
        for round_ in rounds:
            expected = {dim: _pick(practices, reference[dim], round_.network_id)
                        for dim in dims[:attempt + 2]}
            assert suggest_practices(db, round_, dims[:attempt + 2]) == expected
            db.commit()
