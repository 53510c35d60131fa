"""Filters must not open a differencing attack on the national comparison.

With a theme filter, "all networks of region R" minus "networks of R with theme T" would
give the figures of R's other networks. A cell is shown only when the filtered group and
its complement both have 3 networks (or the group is the whole cell), and the cells of
all themes are audited together so that no combination of views isolates fewer than 3
networks.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest
from scipy import linalg
from sqlalchemy import select

from assess.models import Network
from assess.questionnaire import load_questionnaire_file
from assess.scoring.comparisons import shown_groups
from assess.services.national import NO_THEME, audit_theme_cells
from assess.services.questionnaires import load_into_db

TINY = Path(__file__).parents[1] / "data" / "tiny.v1.yaml"
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")
PERIOD = "2026-spring"


def uniform_rows(network: str, region: str, value: int) -> list[str]:
    """3 respondents in 3 organisations answering `value` everywhere: stage scores are
    25 * (value - 1), so every network's score is known exactly."""
    cells = ",".join([str(value)] * 11)
    return [f"{region},{network},{PERIOD},{network}-{i},{network} org {i},"
            f"2026-03-20T12:00:00,{cells}," for i in range(3)]


@pytest.fixture(autouse=True)
def _password_logins_suffice(app):
    app.config["MFA_REQUIRED"] = False


@pytest.fixture
def load(db, runner, tmp_path):
    """Import networks {name: (region, theme, answer value)}."""
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()

    def _load(networks: dict[str, tuple[str, str | None, int]]) -> None:
        rows = [row for name, (region, _theme, value) in networks.items()
                for row in uniform_rows(name, region, value)]
        path = tmp_path / "networks.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
        assert result.exit_code == 0, result.output
        for network in db.scalars(select(Network)):
            network.theme = networks[network.name][1]
        db.commit()

    return _load


def national(runner, theme: str | None = None) -> dict:
    args = ["national", "--period", PERIOD, "--questionnaire", "tiny", "--format", "json"]
    result = runner.invoke(args=[*args, *(["--theme", theme] if theme else [])])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cell(data: dict, region: str | None, dim: str = "stage-1") -> dict | None:
    if region is None:
        return data["national"]["dimensions"][dim]
    return next(b for b in data["regions"] if b["region"] == region)["dimensions"][dim]


def test_two_views_whose_difference_isolates_one_network_never_both_show_the_cell(
        load, runner, client, auth, make_user):
    # R1: three elderly-care networks and one youth network (score 100): the unfiltered
    # cell (4 networks) minus the elderly-care cell (3) would be the youth network alone.
    load({"E1": ("R1", "elderly care", 2), "E2": ("R1", "elderly care", 3),
          "E3": ("R1", "elderly care", 4), "Y1": ("R1", "youth work", 5),
          # other regions, so that the national rows have something to compare
          "E4": ("R2", "elderly care", 2), "E5": ("R2", "elderly care", 3),
          "E6": ("R2", "elderly care", 4), "Y2": ("R2", "youth work", 3),
          "Y3": ("R2", "youth work", 4), "Y4": ("R2", "youth work", 2)})
    everyone = national(runner)
    elderly = national(runner, "elderly care")
    youth = national(runner, "youth work")
    assert cell(everyone, "R1") is not None  # 4 networks: shown
    assert cell(everyone, "R1")["mean"] == pytest.approx((25 + 50 + 75 + 100) / 4)
    # the attack: 4 * mean(all) - 3 * mean(elderly) = Y1's score
    assert cell(elderly, "R1") is None
    assert "R1" in elderly["protected"]["regions"]
    assert cell(youth, "R1") is None  # 1 network
    # R2 splits 3 + 3, but elderly care nationally minus R2's elderly cell would be R1's
    # elderly cell, and R1 minus that Y1 again: the audit withholds one of the two
    assert not (cell(elderly, None) and cell(elderly, "R2"))
    assert not (cell(youth, None) and cell(youth, "R2"))
    assert cell(elderly, None)["networks"] == 6  # the national row stays
    # the page and the exports withhold it too
    make_user("analyst@example.org", role="analyst")
    auth.login("analyst@example.org")
    client.post("/language", data={"lang": "en"})
    query = {"period": PERIOD, "questionnaire": "tiny", "theme": "elderly care"}
    html = client.get("/national", query_string={**query, "dimension": "stage-1"}).get_data(
        as_text=True)
    assert "hidden: would reveal fewer than 3 networks" in html
    assert "50.0 (37.5–62.5)" not in html  # what R1's elderly-care cell would show
    csv_text = client.get("/national.csv", query_string=query).get_data(as_text=True)
    assert "2026-spring,tiny,1,R1,stage-1,,,,,,yes,elderly care" in csv_text.splitlines()


def test_no_combination_of_theme_views_isolates_a_network(load, runner):
    # R1: 3 elderly care + 3 youth work + 1 homelessness network. Each of the first two
    # themes has 3 networks and a complement of 4, yet all minus both is the last network.
    networks = {f"E{i}": ("R1", "elderly care", 2 + i % 3) for i in range(3)}
    networks |= {f"Y{i}": ("R1", "youth work", 3 + i % 2) for i in range(3)}
    networks["H1"] = ("R1", "homelessness", 5)
    load(networks)
    everyone = national(runner)
    views = {theme: national(runner, theme) for theme in ("elderly care", "youth work")}
    shown = [theme for theme, data in views.items() if cell(data, "R1") is not None]
    assert cell(everyone, "R1") is not None
    assert len(shown) < 2, "all, elderly care and youth work together would reveal H1"
    # nationally the same: the whole country is R1 here
    shown_nationally = [t for t, data in views.items() if cell(data, None) is not None]
    assert len(shown_nationally) < 2


def test_theme_rows_and_region_cells_together_isolate_no_network(load, runner):
    """Column and row together: elderly care nationally minus R2's elderly cell gives R1's
    elderly cell, and R1's total minus that would give R1's one youth network."""
    networks = {f"A{i}": ("R1", "elderly care", 2 + i) for i in range(3)}
    networks["A9"] = ("R1", "youth work", 5)
    networks |= {f"B{i}": ("R2", "elderly care", 2 + i) for i in range(3)}
    networks |= {f"C{i}": ("R2", "youth work", 3 + i % 2) for i in range(3)}
    load(networks)
    everyone = national(runner)
    elderly = national(runner, "elderly care")
    youth = national(runner, "youth work")
    assert cell(everyone, "R1") is not None and cell(everyone, "R2") is not None
    # the full set of shown sums must not determine A9 (score 100)
    shown = {
        "R1": cell(everyone, "R1"), "R2": cell(everyone, "R2"), "all": cell(everyone, None),
        "R1e": cell(elderly, "R1"), "R2e": cell(elderly, "R2"), "e": cell(elderly, None),
        "R1y": cell(youth, "R1"), "R2y": cell(youth, "R2"), "y": cell(youth, None),
    }
    assert shown["R1e"] is None  # complement of one
    assert not (shown["e"] and shown["R2e"]), "e - R2e = R1e, and R1 - R1e = A9"


def test_stage_counts_follow_the_same_rule(load, runner):
    load({"E1": ("R1", "elderly care", 2), "E2": ("R1", "elderly care", 3),
          "E3": ("R1", "elderly care", 4), "Y1": ("R1", "youth work", 5)})
    assert national(runner)["stages"]["regions"][0]["counts"] is not None
    filtered = national(runner, "elderly care")
    assert filtered["stages"]["regions"][0]["counts"] is None
    assert filtered["distribution"]["stage-1"] == []
    assert filtered["funnel"]["stage-1"] is None  # the whole country is R1 here


# -- the audit itself, against a brute-force check -------------------------------------------------


def _small_sums(rows: list[np.ndarray], sizes: np.ndarray) -> set[frozenset[int]]:
    """Sums over fewer than 3 networks that the rows determine, by the null space (SVD)."""
    null = linalg.null_space(np.array(rows)) if rows else np.eye(len(sizes))
    found = set()
    for a in range(len(sizes)):
        if sizes[a] < 3 and np.linalg.norm(null[a]) < 1e-8:
            found.add(frozenset([a]))
    for a, b in itertools.combinations(range(len(sizes)), 2):
        if sizes[a] + sizes[b] < 3 and np.linalg.norm(null[a] + null[b]) < 1e-8:
            found.add(frozenset([a, b]))
    return found


def test_audited_cells_never_determine_a_small_group_on_random_tables():
    rng = random.Random(20261128)
    for _ in range(150):
        regions = [f"R{i}" for i in range(rng.randint(1, 6))]
        themes = [f"T{i}" for i in range(rng.randint(1, 4))] + [NO_THEME]
        sizes = {(r, t): rng.choice([1, 1, 2, 3, 3, 4, 6]) for r in regions for t in themes
                 if rng.random() < 0.6}
        if not sizes:
            continue
        cells, shown_themes = audit_theme_cells(sizes)
        atoms = sorted(sizes)
        counts = np.array([sizes[a] for a in atoms])

        def indicator(test, atoms=atoms):
            return np.array([1.0 if test(a) else 0.0 for a in atoms])

        # the unfiltered table: the whole country and the regions rule 13a shows
        per_region = {r: sum(n for (rr, _t), n in sizes.items() if rr == r) for r in regions}
        fixed = [indicator(lambda a: True)] if counts.sum() >= 3 else []
        fixed += [indicator(lambda a, r=r: a[0] == r)
                  for r in shown_groups({r: n for r, n in per_region.items() if n}, 3)]
        assert _small_sums(fixed, counts) == set(), sizes  # no subtraction reveals a region
        rows = fixed + [indicator(lambda a, c=c: a == c) for c in cells]
        rows += [indicator(lambda a, t=t: a[1] == t) for t in shown_themes]
        assert _small_sums(rows, counts) == set(), (sizes, cells, shown_themes)
        for region, theme in cells:  # the rule of the issue, pairwise
            total = sum(n for (r, _t), n in sizes.items() if r == region)
            assert sizes[(region, theme)] >= 3
            assert total - sizes[(region, theme)] in (0,) or total - sizes[(region, theme)] >= 3


def test_the_audit_does_not_depend_on_the_theme_asked_for():
    sizes = {("R1", "a"): 3, ("R1", "b"): 3, ("R1", "c"): 1, ("R2", "a"): 4, ("R2", "b"): 5}
    assert audit_theme_cells(sizes) == audit_theme_cells(dict(reversed(sizes.items())))
