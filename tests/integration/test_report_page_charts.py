"""The report page's charts are drawn once per change and kept in the database.

One RenderedReport row per round and reader's language ("round:<id>:charts:svg:<lang>"),
valid while the report's figures, the renderer and the translations are the same: a kept
SVG is read back as drawn, and gives way at once when a figure it may show changes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from assess.models import Network, RenderedReport, Round
from assess.questionnaire import load_questionnaire_file
from assess.services.questionnaires import load_into_db

TINY = Path(__file__).parents[1] / "data" / "tiny.v1.yaml"
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")
PERIOD = "2026-spring"


@pytest.fixture(autouse=True)
def _password_logins_suffice(app):
    app.config["MFA_REQUIRED"] = False


def rows(network: str, region: str, value: int) -> list[str]:
    cells = ",".join([str(value)] * 11)
    return [f"{region},{network},{PERIOD},{network}-{i},{network} org {i},2026-03-20T12:00:00,"
            f"{cells}," for i in range(3)]


@pytest.fixture
def imported(db, runner, tmp_path):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()

    def _import(lines: list[str], name: str) -> None:
        path = tmp_path / name
        path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
        result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
        assert result.exit_code == 0, result.output

    _import([*rows("A1", "R1", 2), *rows("A2", "R1", 3), *rows("A3", "R1", 4),
             *rows("B1", "R2", 2), *rows("B2", "R2", 3), *rows("B3", "R2", 5)], "first.csv")
    return _import


def kept_charts(db) -> list[RenderedReport]:
    db.commit()
    db.expire_all()
    return db.scalars(select(RenderedReport).where(
        RenderedReport.key.like("round:%:charts:%"))).all()


def radar(html: str) -> str:
    start = html.index('<figure class="chart" id="chart-profile"')
    return html[start:html.index("</figure>", start)]


def test_the_page_charts_are_kept_once_per_view_and_redrawn_when_a_figure_changes(
        imported, db, client, auth, make_user):
    a2 = db.scalar(select(Network).where(Network.name == "A2"))
    round_id = db.scalar(select(Round.id).where(Round.network_id == a2.id))
    make_user("leader-a2@example.org", role="leader", network=a2)
    auth.login("leader-a2@example.org")
    client.post("/language", data={"lang": "en"})
    url = f"/rounds/{round_id}/report"

    first = client.get(url)
    assert first.status_code == 200
    drawn = radar(first.get_data(as_text=True))
    assert "<svg" in drawn
    [row] = kept_charts(db)
    assert row.key == f"round:{round_id}:charts:svg:en"
    key, version = row.key, row.data_version
    assert radar(client.get(url).get_data(as_text=True)) == drawn  # read back as drawn
    db.commit()  # ends the read: SQLite would keep its snapshot past the request's writes

    # A marker in the kept SVG shows: the page reads the kept chart while nothing changed.
    row = db.get(RenderedReport, key)
    assert row.data_version == version
    body = json.loads(row.body)
    body["radar"]["svg"] = body["radar"]["svg"].replace("<svg", "<svg data-kept=\"yes\"", 1)
    row.body = json.dumps(body).encode()
    db.commit()
    assert 'data-kept="yes"' in radar(client.get(url).get_data(as_text=True))

    # Another language is another view: its own row.
    client.post("/language", data={"lang": "fi"})
    assert client.get(url).status_code == 200
    assert len(kept_charts(db)) == 2
    client.post("/language", data={"lang": "en"})

    # Another network closes a round in the period: the national median moves, and the
    # chart is drawn again in the same row.
    imported(rows("B4", "R2", 5), "more.csv")
    after = radar(client.get(url).get_data(as_text=True))
    assert 'data-kept="yes"' not in after and "<svg" in after
    [row] = [r for r in kept_charts(db) if r.key.endswith(":en")]
    assert row.data_version != version
