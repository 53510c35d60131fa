"""Targets: set by the network's leader, shown as gap, percent-to-target and progress.

Hand-computed with the tiny questionnaire (k = 3). N1's autumn round: everyone answers
1, so every stage scores 0 (level 1) and trust (t2 reverse-coded, t3 weight 2) scores
(0 + 4/4 + 0) / 4 = 25 (level 2). Its spring round (test_scoring_pipeline's N1_SPRING):
stage-1 83.33 (level 5), stage-2 70.83 (4), stage-3 33.33 (2), stage-4 31.25 (2),
trust 62.5 (4).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from tiny_import import TINY, import_rows

from assess.models import Network, Period, Region, Round, Target
from assess.questionnaire import load_questionnaire_file
from assess.services.questionnaires import load_into_db
from assess.services.targets import TargetLine, gap, percent_to_target, progress

N1_SPRING = [
    "R1,N1,2026-spring,r1,A,2026-03-15T10:00:00,5,5,4,4,3,3,1,dk,5,1,4,",
    "R1,N1,2026-spring,r2,A,2026-03-15T11:00:00,3,5,4,2,3,,2,2,4,2,3,",
    "R1,N1,2026-spring,r3,B,2026-03-16T09:00:00,4,4,5,5,1,1,dk,dk,3,5,2,",
    "R1,N1,2026-spring,r4,,2026-03-17T09:00:00,5,4,3,3,2,4,3,3,5,3,5,",
]
N1_AUTUMN = [f"R1,N1,2025-autumn,a{i},{org},2025-10-20T12:00:00," + ",".join(["1"] * 11) + ","
             for i, org in enumerate("ABC")]


@pytest.fixture
def data(db, runner, tmp_path):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    import_rows(runner, tmp_path, N1_AUTUMN, "autumn.csv")
    import_rows(runner, tmp_path, N1_SPRING, "spring.csv")
    db.add(Period(label="2027-spring", starts_on=date(2027, 3, 1), ends_on=date(2027, 5, 31)))
    db.commit()
    network = db.scalar(select(Network).where(Network.name == "N1"))
    rounds = {r.period.label: r for r in db.scalars(select(Round).where(
        Round.network_id == network.id))}
    future = db.scalar(select(Period).where(Period.label == "2027-spring"))
    return {"network": network, "autumn": rounds["2025-autumn"],
            "spring": rounds["2026-spring"], "future": future}


def login(client, make_user, role, network=None, region=None):
    user = make_user(role=role, network=network, region=region)
    client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    client.post("/language", data={"lang": "en", "next": "/"})
    return user


def set_targets(client, round_id, period_id, **levels):
    form = {"period": str(period_id)}
    form.update({f"dim_{dim.replace('_', '-')}": str(level) for dim, level in levels.items()})
    return client.post(f"/rounds/{round_id}/targets", data=form)


TARGETS = {"stage_1": 5, "stage_3": 4, "stage_4": 3, "trust": 4}


def test_gap_percent_to_target_and_progress_by_hand(data, client, make_user):
    login(client, make_user, "leader", data["network"])
    # set while viewing the autumn round: autumn becomes the baseline
    response = set_targets(client, data["autumn"].id, data["future"].id, **TARGETS)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/rounds/{data['autumn'].id}/report#sec-targets")

    spring = client.get(f"/rounds/{data['spring'].id}/report.json").get_json()["targets"]
    by_dim = {t["dimension"]: t for t in spring["dimensions"]}
    assert list(by_dim) == ["stage-1", "stage-3", "stage-4", "trust"]  # questionnaire order
    # gap = max(0, target - current level): 5-5, 4-2, 3-2, 4-4
    assert {d: t["gap"] for d, t in by_dim.items()} == {
        "stage-1": 0, "stage-3": 2, "stage-4": 1, "trust": 0}
    # percent-to-target = 1 - 3 / (5 + 4 + 3 + 4) = 0.8125 -> 81.3 (half up)
    assert (spring["gap_total"], spring["target_total"]) == (3, 16)
    assert spring["percent_to_target"] == 81.3
    # progress = score now - score at the autumn baseline (unrounded, then rounded)
    assert {d: t["progress"] for d, t in by_dim.items()} == {
        "stage-1": 83.3, "stage-3": 33.3, "stage-4": 31.3, "trust": 37.5}
    assert {t["baseline_period"] for t in by_dim.values()} == {"2025-autumn"}
    assert {t["period"] for t in by_dim.values()} == {"2027-spring"}

    # seen from the baseline round itself: levels 1, 1, 1, 2 -> gaps 4, 3, 2, 2 = 11 of 16
    autumn = client.get(f"/rounds/{data['autumn'].id}/report.json").get_json()["targets"]
    assert autumn["percent_to_target"] == 31.3  # 100 * (1 - 11/16) = 31.25
    assert {t["progress"] for t in autumn["dimensions"]} == {0.0}

    html = client.get(f"/rounds/{data['spring'].id}/report").get_data(as_text=True)
    assert "81.3%" in html
    assert "+37.5" in html and "since autumn 2025" in html


def test_pure_target_arithmetic():
    lines = [TargetLine("a", 5, 3), TargetLine("b", 4, 4), TargetLine("c", 3, 5),
             TargetLine("d", 5, None)]
    # d has no current level: it counts in neither sum; c above target has gap 0
    assert [gap(line.target, line.current_level) for line in lines] == [2, 0, 0, None]
    assert percent_to_target(lines) == 83.3  # 1 - 2/12
    assert percent_to_target([TargetLine("d", 5, None)]) is None
    assert progress(62.5, 25.0) == 37.5 and progress(31.25, 0.0) == 31.3
    assert progress(50.0, None) is None


def test_resubmitting_unchanged_targets_keeps_the_baseline(data, client, make_user, db):
    login(client, make_user, "leader", data["network"])
    set_targets(client, data["autumn"].id, data["future"].id, trust=4)
    set_targets(client, data["spring"].id, data["future"].id, trust=4, stage_3=3)
    rows = {t.dimension_id: t for t in db.scalars(select(Target))}
    assert rows["trust"].baseline_round_id == data["autumn"].id
    assert rows["stage-3"].baseline_round_id == data["spring"].id
    # the empty choice ("No target") removes a target
    set_targets(client, data["spring"].id, data["future"].id, stage_3=4, trust="")
    db.rollback()  # end the test session's read snapshot
    assert {t.dimension_id for t in db.scalars(select(Target))} == {"stage-3"}


def test_target_period_must_come_after_the_round(data, client, make_user, db):
    login(client, make_user, "leader", data["network"])
    autumn_period = data["autumn"].period_id
    response = set_targets(client, data["spring"].id, autumn_period, trust=4)
    assert response.status_code == 200  # the form again, with an error
    assert db.scalar(select(Target.id)) is None
    page = client.get(f"/rounds/{data['spring'].id}/targets").get_data(as_text=True)
    assert "spring 2027" in page and "autumn 2025" not in page.split("<select")[1]


def test_only_the_networks_leader_sets_targets(data, client, make_user, db):
    region = db.scalar(select(Region).where(Region.name == "R1"))
    login(client, make_user, "coordinator", region=region)
    assert set_targets(client, data["spring"].id, data["future"].id, trust=4).status_code == 404
    client.post("/logout")
    login(client, make_user, "admin")
    assert set_targets(client, data["spring"].id, data["future"].id, trust=4).status_code == 404
    assert db.scalar(select(Target.id)) is None


def test_targets_need_the_csrf_token(data, app, client, make_user, db):
    login(client, make_user, "leader", data["network"])
    app.config["WTF_CSRF_ENABLED"] = True
    response = set_targets(client, data["spring"].id, data["future"].id, trust=4)
    assert response.status_code == 400
    assert db.scalar(select(Target.id)) is None


def test_no_later_period_says_what_to_do(data, client, make_user, db):
    db.delete(db.get(Period, data["future"].id))
    db.commit()
    login(client, make_user, "leader", data["network"])
    page = client.get(f"/rounds/{data['spring'].id}/targets").get_data(as_text=True)
    assert "No survey period after spring 2026 exists yet" in page
    assert "<form method=\"post\" class=\"stacked-form targets-form\"" not in page
