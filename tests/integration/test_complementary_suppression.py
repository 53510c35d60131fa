"""Rule 13a: no hidden region cell follows by subtraction from the cells that are shown.

The national row is over every network; were every region of 3 networks or more shown
beside it, "national mean x N minus each shown region's mean x n" would be the sum of
the scores of the one region hidden for having fewer than 3 networks: its one network's
score. These tests run exactly that attack, on one view and across two filtered views.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from assess.models import Network
from assess.questionnaire import load_questionnaire_file
from assess.scoring.comparisons import shown_groups
from assess.services.questionnaires import load_into_db

TINY = Path(__file__).parents[1] / "data" / "tiny.v1.yaml"
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")
PERIOD = "2026-spring"
ELDERLY, YOUTH = "elderly care", "youth work"
#: network -> (region, theme, answer value); every score is 25 * (value - 1).
NETWORKS = {
    "S1": ("Small", YOUTH, 5),  # alone in its region: score 100, never to be revealed
    **{f"M{i}": ("Mid", ELDERLY if i < 3 else YOUTH, 2 + i % 3) for i in range(4)},
    **{f"L{i}": ("Large", ELDERLY if i < 3 else YOUTH, 1 + i % 4) for i in range(7)},
}


@pytest.fixture(autouse=True)
def _password_logins_suffice(app):
    app.config["MFA_REQUIRED"] = False


@pytest.fixture
def loaded(db, runner, tmp_path):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    rows = []
    for name, (region, _theme, value) in NETWORKS.items():
        cells = ",".join([str(value)] * 11)
        rows += [f"{region},{name},{PERIOD},{name}-{i},{name} org {i},2026-03-20T12:00:00,"
                 f"{cells}," for i in range(3)]
    path = tmp_path / "networks.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
    assert result.exit_code == 0, result.output
    for network in db.scalars(select(Network)):
        network.theme = NETWORKS[network.name][1]
    db.commit()


def national(runner, theme: str | None = None) -> dict:
    args = ["national", "--period", PERIOD, "--questionnaire", "tiny", "--format", "json"]
    result = runner.invoke(args=[*args, *(["--theme", theme] if theme else [])])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def members(region: str | None, theme: str | None) -> frozenset[str]:
    """The networks a cell is over (every network here has a score in every dimension)."""
    return frozenset(name for name, (r, t, _v) in NETWORKS.items()
                     if region in (None, r) and theme in (None, t))


def shown_cells(views: dict[str | None, dict], dim: str) -> list[tuple[frozenset, float]]:
    """(networks, sum of their scores) of every shown cell of the views: mean x networks."""
    cells = []
    for theme, data in views.items():
        for block in [*data["regions"], {"region": None, **data["national"]}]:
            cell = block["dimensions"][dim]
            if cell is not None:
                group = members(block["region"], theme)
                assert cell["networks"] == len(group)
                cells.append((group, cell["mean"] * cell["networks"]))
    return cells


def subtraction_attack(views: dict[str | None, dict], dim: str) -> list[tuple[frozenset, float]]:
    """Every remainder an analyst gets by subtracting disjoint shown cells from a shown cell
    that contains them, within a view or across views: (networks left, their mean)."""
    cells = shown_cells(views, dim)
    found = []
    for whole, total in cells:
        parts = [(g, t) for g, t in cells if g < whole]
        for size in range(1, len(parts) + 1):
            for chosen in itertools.combinations(parts, size):
                groups = [g for g, _t in chosen]
                if sum(len(g) for g in groups) != len(frozenset().union(*groups)):
                    continue  # overlapping parts
                left = whole - frozenset().union(*groups)
                if left:
                    found.append((left, (total - sum(t for _g, t in chosen)) / len(left)))
    return found


def test_regions_shown_beside_the_national_row_never_reveal_a_hidden_region(loaded, runner):
    data = national(runner)
    blocks = {b["region"]: b for b in data["regions"]}
    for dim in data["dimensions"]:
        assert data["national"]["dimensions"][dim]["networks"] == 12
        assert blocks["Small"]["dimensions"][dim] is None  # 1 network (rule 13)
        # rule 13a: Small alone would follow from the national row minus Mid and Large,
        # so Mid, the smallest shown region, is withheld too
        assert blocks["Mid"]["dimensions"][dim] is None
        assert blocks["Large"]["dimensions"][dim]["networks"] == 7
        # the attack itself: every remainder covers 3 networks or more
        remainders = subtraction_attack({None: data}, dim)
        assert remainders  # the attack finds something: Small and Mid together
        for left, mean in remainders:
            assert len(left) >= 3, (dim, sorted(left), mean)
    # the page says why Mid is hidden, the stage table follows the same rule
    assert data["stages"]["regions"][1]["region"] == "Mid"
    assert data["stages"]["regions"][1]["counts"] is None
    assert data["funnel"]["stage-1"]["drawn"] == 7


def test_the_attack_across_two_filtered_views_recovers_no_hidden_cell(loaded, runner):
    views = {None: national(runner), ELDERLY: national(runner, ELDERLY),
             YOUTH: national(runner, YOUTH)}
    for dim in views[None]["dimensions"]:
        for pair in itertools.combinations(views, 2):
            for left, mean in subtraction_attack({v: views[v] for v in pair}, dim):
                assert len(left) >= 3, (pair, dim, sorted(left), mean)
        for left, mean in subtraction_attack(views, dim):
            assert len(left) >= 3, (dim, sorted(left), mean)
            assert "S1" not in left or len(left) >= 3


def test_the_dashboard_marks_a_complementary_cell_as_protecting_a_smaller_group(
        loaded, client, auth, make_user):
    make_user("analyst@example.org", role="analyst")
    auth.login("analyst@example.org")
    client.post("/language", data={"lang": "en"})
    html = client.get("/national", query_string={
        "period": PERIOD, "questionnaire": "tiny", "dimension": "stage-1"}).get_data(as_text=True)
    assert "hidden: would reveal fewer than 3 networks" in html


@pytest.mark.parametrize(("sizes", "shown"), [
    ({"A": 1, "B": 3, "C": 7}, {"C"}),           # one small region: the smallest other too
    ({"A": 2, "B": 1, "C": 4, "D": 5}, {"C", "D"}),  # hidden already 3 networks
    ({"A": 1, "B": 1, "C": 3, "D": 3}, {"D"}),   # a tie on size goes by name
    ({"A": 3, "B": 4}, {"A", "B"}),              # nothing hidden
    ({"A": 1, "B": 1}, set()),                   # the total itself is below 3
    ({"A": 1, "B": 4}, set()),                   # hiding B leaves nothing to show
])
def test_shown_groups(sizes, shown):
    assert shown_groups(sizes, 3) == shown
