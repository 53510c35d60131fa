"""The regional view: a region's networks side by side, whom to support first, who sees names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from assess.models import Network, Practice, Region, Round
from assess.questionnaire import load_questionnaire_file
from assess.services.questionnaires import load_into_db

TINY = Path(__file__).parents[1] / "data" / "tiny.v1.yaml"
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")
PERIOD = "2026-spring"


def rows(network: str, region: str, stages: tuple[int, int, int, int], trust: int = 4,
         respondents: int = 3) -> list[str]:
    """Answers giving stage scores 25 * (value - 1) for the four stages' values."""
    s1, s2, s3, s4 = stages
    answers = [s1, s1, s2, s2, s3, s3, s4, s4, trust, 6 - trust, trust]
    cells = ",".join(map(str, answers))
    return [f"{region},{network},{PERIOD},{network}-{i},{network} org {i},2026-03-20T12:00:00,"
            f"{cells}," for i in range(respondents)]


#: name -> (region, stage answer values); threshold 60: values 4 and 5 pass (75, 100).
NETWORKS = {
    "Strong": ("North", (5, 5, 4, 4)),        # stage 4
    "Halfway": ("North", (4, 4, 2, 5)),       # stage 2: stage 3 scores 25
    "Starting": ("North", (2, 4, 4, 4)),      # stage 0: stage 1 scores 25
    "Secretive": ("North", (4, 2, 2, 2)),     # stage 1; its leader keeps the name out
    "Other": ("South", (5, 5, 5, 5)),
    "Other two": ("South", (5, 5, 5, 5)),
    "Other three": ("South", (4, 4, 4, 4)),
}


@pytest.fixture(autouse=True)
def _password_logins_suffice(app):
    app.config["MFA_REQUIRED"] = False


@pytest.fixture
def region_data(db, runner, tmp_path):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    lines = [r for name, (region, stages) in NETWORKS.items() for r in rows(name, region, stages)]
    lines += rows("Too few", "North", (5, 5, 5, 5), respondents=2)
    lines += rows("Still open", "North", (5, 5, 5, 5))
    path = tmp_path / "region.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
    assert result.exit_code == 0, result.output
    secretive = db.scalar(select(Network).where(Network.name == "Secretive"))
    secretive.is_named_nationally = False
    secretive.theme = "a very recognisable theme"
    still_open = db.scalar(select(Network).where(Network.name == "Still open"))
    db.scalar(select(Round).where(Round.network_id == still_open.id)).state = "open"
    db.commit()
    return {r.name: r for r in db.scalars(select(Region))}


def log_in(client, auth, make_user, role, **scope):
    make_user(f"{role}@example.org", role=role, **scope)
    auth.login(f"{role}@example.org")
    client.post("/language", data={"lang": "en"})


def north_page(client, regions) -> str:
    response = client.get(f"/regions/{regions['North'].id}",
                          query_string={"period": PERIOD, "questionnaire": "tiny"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_coordinator_sees_the_networks_by_name_and_whom_to_support_first(
        region_data, client, auth, make_user):
    log_in(client, auth, make_user, "coordinator", region=region_data["North"])
    html = north_page(client, region_data)
    for name in ("Strong", "Halfway", "Starting", "Secretive"):
        assert f'data-network="{name}"' in html
    # closed rounds with enough responses only
    assert "Too few" not in html and "Still open" not in html
    assert "2 more have no results yet" in html
    support = html[html.index('id="support-heading"'):html.index('id="networks-heading"')]
    order = [support.index(f'data-network="{n}"') for n in ("Starting", "Secretive", "Halfway")]
    assert order == sorted(order), "the earliest stage first"
    assert 'data-network="Strong"' not in support  # nothing below 60
    assert "Stage 1 is not reached: its score is 25.0." in support
    assert "Stage 3 is not reached: its score is 25.0." in support
    # the coordinator may open the reports of the region's networks
    assert "/report" in support


def test_national_analysts_see_a_name_only_where_the_leader_allows_it(
        region_data, client, auth, make_user):
    log_in(client, auth, make_user, "analyst")
    html = north_page(client, region_data)
    assert "Secretive" not in html
    assert "a very recognisable theme" not in html
    assert 'data-network="A"' in html and "Network A" in html
    assert 'data-network="Strong"' in html
    assert "/report" not in html  # analysts read aggregates, not network reports


def test_the_region_is_compared_with_the_whole_country(region_data, client, auth, make_user):
    log_in(client, auth, make_user, "admin")
    html = north_page(client, region_data)
    table = html[html.index('id="region-vs-country"'):]
    table = table[:table.index("</table>")]
    # North stage-1 scores 100, 75, 25, 75 -> median 75 (p25 62.5, p75 81.3);
    # the country adds 100, 100, 75: 25, 75, 75, 75, 100, 100, 100 -> median 75 (75-100)
    assert "75.0 <span class=\"muted\">(62.5–81.3)</span>" in table
    assert "75.0 <span class=\"muted\">(75.0–100.0)</span>" in table
    assert "Secretive" in html  # admins see names


def test_networks_below_threshold_get_practice_suggestions(region_data, client, auth,
                                                           make_user, db):
    # "Other" (South) scores 100 in stage 1: the national top quarter
    other = db.scalar(select(Network).where(Network.name == "Other"))
    db.add(Practice(network_id=other.id, title="Map the actors first", body="We map the "
                    "actors and their relations before every new phase.", language="en",
                    is_published=True, published_at=None))
    db.commit()
    log_in(client, auth, make_user, "coordinator", region=region_data["North"])
    html = north_page(client, region_data)
    support = html[html.index('id="support-heading"'):html.index('id="networks-heading"')]
    items = {item.split('"', 1)[0]: item for item in support.split('data-network="')[1:]}
    assert "Map the actors first" in items["Starting"]  # its stage 1 is below 60
    assert "Stage one: <a" in items["Starting"]
    assert "Stage one: <a" not in items["Halfway"]  # its stage 1 is above 60


@pytest.mark.parametrize("role", ["member", "leader", "coordinator"])
def test_others_get_404(region_data, client, auth, make_user, db, role):
    south = region_data["South"]
    network = db.scalar(select(Network).where(Network.region_id == south.id))
    scope = {"region": south} if role == "coordinator" else {"network": network}
    log_in(client, auth, make_user, role, **scope)
    assert client.get(f"/regions/{region_data['North'].id}").status_code == 404
    if role == "coordinator":
        assert client.get(f"/regions/{south.id}").status_code == 200
        assert client.get("/regions/99999").status_code == 404
        listed = client.get("/regions").get_data(as_text=True)
        assert "South" in listed and "North" not in listed


def test_coordinator_of_the_region_gets_200(region_data, client, auth, make_user):
    log_in(client, auth, make_user, "coordinator", region=region_data["North"])
    assert client.get(f"/regions/{region_data['North'].id}").status_code == 200


def test_finnish_regional_page_shows_the_period_and_known_themes_in_finnish(
        region_data, client, auth, make_user, db):
    first = db.scalar(select(Network).where(Network.region_id == region_data["North"].id,
                                            Network.name != "Secretive"))
    first.theme = "home care"
    db.commit()
    log_in(client, auth, make_user, "coordinator", region=region_data["North"])
    client.post("/language", data={"lang": "fi"})
    html = north_page(client, region_data)
    assert "kevät 2026" in html and "2026-spring</" not in html
    assert re.search(r'<option value="2026-spring"[^>]*>kevät 2026</option>', html)
    assert re.search(r'<option value="tiny"[^>]*>Pieni</option>', html)
    assert "· kotihoito</span>" in html and "home care" not in html
