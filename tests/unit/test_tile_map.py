"""The national tile map places regions by their code; regions without one follow below."""

from assess.services.national import TILE_POSITIONS, tile_map


def test_regions_without_a_code_get_distinct_labels_below_the_map():
    regions = {
        "Lapin hyvinvointialue": {"id": 1, "code": "LAP"},
        "Etelä-Karjalan hyvinvointialue": {"id": 2, "code": None},
        "Etelä-Pohjanmaan hyvinvointialue": {"id": 3, "code": None},
        "Etelä-Karjalan hyvinvointi": {"id": 4, "code": None},  # the same initials as "EKH"
    }
    tiles = {t["name"]: t for t in tile_map({"regions": []}, "trust", regions)}
    assert (tiles["Lapin hyvinvointialue"]["row"], tiles["Lapin hyvinvointialue"]["col"]) \
        == TILE_POSITIONS["LAP"]
    labels = [tiles[name]["code"] for name in regions if name != "Lapin hyvinvointialue"]
    assert len(set(labels)) == 3  # no two tiles read alike
    assert sorted(labels) == ["EKH", "EKH2", "EPH"]
    below = max(row for row, _col in TILE_POSITIONS.values())
    assert all(tiles[name]["row"] > below for name in regions
               if name != "Lapin hyvinvointialue")
