"""The demo dataset: complete, reproducible, and showing what the product is for."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from assess.auth import verify_password
from assess.models import Network, Period, Region, Round, RoundSummary
from assess.models.survey import CLOSED, OPEN
from assess.questionnaire import load_questionnaire_file
from assess.services.accounts import find_user
from assess.services.demo import (
    DEMO_PASSWORD,
    REGIONS,
    DemoError,
    build_response_frame,
    create_demo_data,
    database_is_empty,
    plan_demo,
)
from assess.services.questionnaires import QUESTIONNAIRE_DIR
from assess.services.reports import network_report

TODAY = date(2026, 11, 27)
SMALL = {"seed": 7, "networks": 25, "periods": 3}


@pytest.fixture
def demo(db, questionnaire_row):
    summary = create_demo_data(db, **SMALL, today=TODAY)
    db.commit()
    return summary


@pytest.fixture(scope="module")
def flagship():
    return load_questionnaire_file(QUESTIONNAIRE_DIR / "network-maturity.v1.yaml")


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_small_demo_creates_22_regions_25_networks_and_3_dated_periods(db, demo):
    assert (_count(db, Region), _count(db, Network), _count(db, Period)) == (22, 25, 3)
    assert (demo.regions, demo.networks, demo.periods) == (22, 25, 3)
    codes = db.scalars(select(Region.code)).all()
    assert None not in codes and len(set(codes)) == 22
    periods = db.scalars(select(Period).order_by(Period.starts_on)).all()
    assert [p.label for p in periods] == ["2025-autumn", "2026-spring", "2026-autumn"]
    assert (periods[-1].starts_on, periods[-1].ends_on) == (date(2026, 9, 1), date(2026, 12, 31))
    assert (periods[1].starts_on, periods[1].ends_on) == (date(2026, 3, 1), date(2026, 5, 31))
    assert demo.rounds == _count(db, Round)
    assert demo.responses > 25 * 6


def test_every_region_has_a_network(db, demo):
    with_networks = db.scalars(select(Network.region_id).distinct()).all()
    assert len(with_networks) == len(REGIONS)


def test_every_network_has_5_to_12_organisations_of_several_types(db, demo):
    for network in db.scalars(select(Network)):
        assert 5 <= len(network.organizations) <= 12
        assert len({o.type for o in network.organizations}) >= 3
        assert network.theme and network.description


def test_demo_users_are_found_with_their_roles_and_the_demo_password(db, demo):
    expected = {
        "admin@demo.assess": "admin",
        "analyst@demo.assess": "analyst",
        "coordinator1@demo.assess": "coordinator",
        "coordinator2@demo.assess": "coordinator",
        "leader1@demo.assess": "leader",
        "leader2@demo.assess": "leader",
        "leader3@demo.assess": "leader",
        "member1@demo.assess": "member",
        "member2@demo.assess": "member",
        "member3@demo.assess": "member",
    }
    assert {email: role for email, role, _ in demo.logins} == expected
    for email, role, scope in demo.logins:
        user = find_user(db, email)
        assert user is not None and user.role_names == {role}
        assert verify_password(user, DEMO_PASSWORD)
        if role == "coordinator":
            region = db.scalar(select(Region).where(Region.name == scope))
            assert user.has_role(role, region_id=region.id)
        if role in ("leader", "member"):
            network = db.scalar(select(Network).where(Network.name == scope))
            assert user.has_role(role, network_id=network.id)
    assert find_user(db, "coordinator1@demo.assess").region_ids("coordinator") == {
        db.scalar(select(Region.id).where(Region.name == REGIONS[0].name))
    }
    # Members belong to leader2's network, which has an open round for them to answer.
    leader2 = find_user(db, "leader2@demo.assess").network_ids("leader")
    assert find_user(db, "member1@demo.assess").network_ids("member") == leader2
    [member_network] = leader2
    assert db.scalar(select(func.count()).select_from(Round).where(
        Round.network_id == member_network, Round.state == "open")) == 1
    most_rounds = db.scalar(
        select(func.count()).select_from(Round).group_by(Round.network_id)
        .order_by(func.count().desc()).limit(1)
    )
    leader1 = find_user(db, "leader1@demo.assess").network_ids("leader")
    assert _count_rounds(db, next(iter(leader1))) == most_rounds
    languages = {e: find_user(db, e).language for e in ("leader2@demo.assess",
                                                         "leader3@demo.assess")}
    assert languages == {"leader2@demo.assess": "fi", "leader3@demo.assess": "en"}
    assert "demo-password-1" in demo.format() and "leader1@demo.assess" in demo.format()


def _count_rounds(db, network_id: int) -> int:
    return db.scalar(select(func.count()).select_from(Round).where(Round.network_id == network_id))


def test_some_rounds_are_suppressed_and_some_of_the_current_period_open(db, demo):
    suppressed = db.scalar(
        select(func.count()).select_from(RoundSummary).where(RoundSummary.suppressed.is_(True))
    )
    assert suppressed >= 1
    rounds = db.scalars(select(Round)).all()
    open_rounds = [r for r in rounds if r.state == OPEN]
    assert 1 <= len(open_rounds) <= len(rounds) // 2
    assert {r.period.label for r in open_rounds} == {"2026-autumn"}
    assert {(r.opens_on, r.closes_on) for r in open_rounds} == {
        (date(2026, 9, 15), date(2026, 12, 15))
    }
    assert all(r.state == CLOSED for r in rounds if r not in open_rounds)
    assert all(r.opens_on is not None and r.closes_on is not None for r in rounds)


def test_some_networks_joined_after_the_first_period(db, demo):
    per_network = db.execute(
        select(Round.network_id, func.count()).group_by(Round.network_id)
    ).all()
    assert {count for _, count in per_network} - {3}


def test_report_of_a_closed_unsuppressed_demo_round_has_an_overall_score(db, demo):
    round_ = db.scalars(
        select(Round)
        .join(RoundSummary, RoundSummary.round_id == Round.id)
        .where(Round.state == CLOSED, RoundSummary.suppressed.is_(False))
        .order_by(Round.id)
    ).first()
    report = network_report(db, round_)
    assert report["overall"] is not None
    assert len(report["dimensions"]) == 7


def test_demo_refuses_a_database_that_already_has_networks(db, demo):
    with pytest.raises(DemoError, match="already has data"):
        create_demo_data(db, seed=2, networks=3, periods=1)


def test_demo_needs_the_flagship_questionnaire_loaded(db):
    with pytest.raises(DemoError, match="network-maturity"):
        create_demo_data(db, networks=3, periods=1)


def test_database_is_empty_until_the_demo_fills_it(db, questionnaire_row):
    assert database_is_empty(db)
    create_demo_data(db, seed=3, networks=2, periods=1, today=TODAY)
    db.commit()
    assert not database_is_empty(db)


# -- the pure frame builder: no database ----------------------------------------------------


def _answer_sum(frame: pd.DataFrame, flagship) -> int:
    ids = [item.id for item in flagship.items if item.is_scored]
    values = pd.to_numeric(frame[ids].stack(), errors="coerce")
    return int(values.sum())


def test_same_seed_gives_the_same_responses_and_another_seed_others(flagship):
    first = build_response_frame(flagship, plan_demo(**SMALL, today=TODAY))
    again = build_response_frame(flagship, plan_demo(**SMALL, today=TODAY))
    pd.testing.assert_frame_equal(first, again)
    other = build_response_frame(flagship, plan_demo(**{**SMALL, "seed": 8}, today=TODAY))
    assert _answer_sum(first, flagship) != _answer_sum(other, flagship)


def test_frame_has_the_import_columns_and_only_valid_cells(flagship):
    frame = build_response_frame(flagship, plan_demo(**SMALL, today=TODAY))
    fixed = ["region", "network", "period", "respondent", "organization",
             "organization_type", "submitted_at"]
    assert list(frame.columns) == fixed + [item.id for item in flagship.items]
    likert = [item.id for item in flagship.items if item.is_scored]
    cells = frame[likert].stack()
    assert set(cells) <= {"", "dk", "1", "2", "3", "4", "5"}
    assert 0.01 < (cells == "").mean() < 0.06
    assert 0.02 < (cells == "dk").mean() < 0.07
    text = [item.id for item in flagship.items if not item.is_scored]
    assert 0.2 < (frame[text[0]] != "").mean() < 0.4
    assert (pd.to_datetime(frame["submitted_at"]) < pd.Timestamp(TODAY)).all()


def test_rounds_have_6_to_20_respondents_except_a_few_small_ones(flagship):
    frame = build_response_frame(flagship, plan_demo(**SMALL, today=TODAY))
    sizes = frame.groupby(["network", "period"]).size()
    small = sizes[sizes < 6]
    assert len(small) >= 1 and set(small) <= {3, 4}
    assert sizes.max() <= 20
    per_org = frame[frame["organization"] != ""].groupby(["network", "period", "organization"])
    assert per_org.size().between(1, 4).all()
    assert (frame["organization"] == "").any()


def test_reverse_items_run_against_the_respondents_trust(flagship):
    frame = build_response_frame(flagship, plan_demo(seed=1, networks=60, periods=2, today=TODAY))
    values = frame[["tr-reliability", "tr-self-interest"]].apply(pd.to_numeric, errors="coerce")
    values = values.dropna()
    assert np.corrcoef(values["tr-reliability"], values["tr-self-interest"])[0, 1] < -0.2


def test_stage_1_is_typically_rated_above_stage_4(flagship):
    frame = build_response_frame(flagship, plan_demo(seed=1, networks=60, periods=2, today=TODAY))
    mean = {
        stage: frame[[i.id for i in flagship.dimension(stage).likert_items if not i.reverse]]
        .apply(pd.to_numeric, errors="coerce").stack().mean()
        for stage in ("stage-1", "stage-4")
    }
    assert mean["stage-1"] > mean["stage-4"] + 0.3


def test_ngos_of_a_divergent_network_rate_trust_lower(flagship):
    plan = plan_demo(seed=1, networks=60, periods=2, today=TODAY)
    frame = build_response_frame(flagship, plan)
    divergent = {n.name for n in plan.networks if n.divergent_type == "ngo"}
    assert divergent
    rows = frame[frame["network"].isin(divergent)]
    trust = rows["tr-reliability"].apply(pd.to_numeric, errors="coerce")
    by_type = trust.groupby(rows["organization_type"]).mean()
    assert by_type["ngo"] < by_type["municipality"] - 0.5


@pytest.mark.parametrize("networks", [66, 80, 2000])
def test_with_enough_networks_every_region_gets_three_so_the_national_view_shows_it(networks):
    from assess.services.demo import REGIONS, plan_demo

    plan = plan_demo(seed=1, networks=networks, periods=1, today=TODAY)
    per_region = {region.name: 0 for region in REGIONS}
    for network in plan.networks:
        per_region[network.region.name] += 1
    assert sum(per_region.values()) == networks
    assert min(per_region.values()) >= 3
