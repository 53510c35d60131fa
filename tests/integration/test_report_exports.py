"""CSV and XLSX exports: aggregates only, figures as in the JSON, formula cells neutralised."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from tiny_import import TINY, import_rows

from assess.models import Network, Round
from assess.questionnaire import load_questionnaire_file
from assess.services.questionnaires import load_into_db

#: A network name a spreadsheet would run as a formula.
EVIL = "=HYPERLINK(\"http://x\";\"y\")"
EVIL_CSV = '"=HYPERLINK(""http://x"";""y"")"'
ROWS = [
    f"R1,{EVIL_CSV},2026-spring,resp-alpha,A,2026-03-15T10:00:00,5,5,4,4,3,3,1,dk,5,1,4,secret",
    f"R1,{EVIL_CSV},2026-spring,resp-beta,A,2026-03-15T11:00:00,3,5,4,2,3,,2,2,4,2,3,",
    f"R1,{EVIL_CSV},2026-spring,resp-gamma,B,2026-03-16T09:00:00,4,4,5,5,1,1,dk,dk,3,5,2,",
    f"R1,{EVIL_CSV},2026-spring,resp-delta,,2026-03-17T09:00:00,5,4,3,3,2,4,3,3,5,3,5,",
]


@pytest.fixture
def data(db, runner, tmp_path, client, make_user):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    import_rows(runner, tmp_path, ROWS)
    network = db.scalar(select(Network).where(Network.name == EVIL))
    round_ = db.scalar(select(Round).where(Round.network_id == network.id))
    user = make_user(role="leader", network=network)
    client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    client.post("/language", data={"lang": "en", "next": "/"})
    return {"network": network, "round": round_}


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def number(cell):
    return None if cell in ("", None) else float(cell)


def test_dimension_csv_has_the_json_figures_and_no_formulas(data, client):
    round_id = data["round"].id
    report = client.get(f"/rounds/{round_id}/report.json").get_json()
    response = client.get(f"/rounds/{round_id}/report.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response.get_data(as_text=True))
    assert [r["dimension"] for r in rows] == [d["id"] for d in report["dimensions"]]
    for row, dim in zip(rows, report["dimensions"], strict=True):
        assert row["network"] == "'" + EVIL  # neutralised: text, not a formula
        assert number(row["score"]) == dim["score"]
        assert int(row["level"]) == dim["level"]
        assert number(row["sd"]) == dim["sd"]
        assert [number(row["ci95_low"]), number(row["ci95_high"])] == (dim["ci95"] or [None, None])
        assert number(row["national_percentile"]) == dim["benchmark"]["national_percentile"]
        assert int(row["respondents"]) == dim["respondents"]
        assert row["status"] == "shown"
    assert rows[0]["level_name"] == "Embedded"


def test_item_csv_has_means_counts_and_no_individual_answers(data, client):
    round_id = data["round"].id
    text = client.get(f"/rounds/{round_id}/report.csv?table=items").get_data(as_text=True)
    rows = {r["item"]: r for r in read_csv(text)}
    assert set(rows) == {"a1", "a2", "b1", "b2", "c1", "c2", "d1", "d2", "t1", "t2", "t3"}
    assert "note" not in rows  # free text is not an aggregate
    # t2 reverse-coded: answers 1, 2, 5, 3 -> 5, 4, 1, 3 -> mean 3.25
    assert (float(rows["t2"]["mean"]), int(rows["t2"]["n"])) == (3.25, 4)
    # d2: answers dk, 2, dk, 3 -> 2 answers and 2 don't-knows
    assert (int(rows["d2"]["n"]), int(rows["d2"]["dont_know"])) == (2, 2)
    assert rows["d2"]["mean"] == ""  # fewer than k = 3 answers: withheld
    for secret in ("resp-alpha", "resp-beta", "secret"):
        assert secret not in text


def test_xlsx_has_both_sheets_and_neutralised_text(data, client):
    round_id = data["round"].id
    report = client.get(f"/rounds/{round_id}/report.json").get_json()
    response = client.get(f"/rounds/{round_id}/report.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["dimensions", "items"]
    sheet = book["dimensions"]
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert first["network"] == "'" + EVIL
    assert sheet.cell(2, header.index("network") + 1).data_type == "s"  # a string, no formula
    assert first["score"] == report["dimensions"][0]["score"]
    cells = [c.value for row in book["items"].iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "-", "@")) for v in cells)
    assert not any(isinstance(v, str) and "resp-" in v for v in cells)


def test_open_round_exports_no_scores(data, db, client):
    round_ = db.get(Round, data["round"].id)
    round_.state = "open"
    db.commit()
    rows = read_csv(client.get(f"/rounds/{round_.id}/report.csv").get_data(as_text=True))
    assert len(rows) == 1 and rows[0]["status"] == "open" and rows[0]["score"] == ""
    items = client.get(f"/rounds/{round_.id}/report.csv?table=items").get_data(as_text=True)
    assert items.strip().count("\n") == 0  # the header only
    book = load_workbook(io.BytesIO(client.get(f"/rounds/{round_.id}/report.xlsx").data))
    assert book["items"].max_row == 1


def test_another_networks_round_is_not_exported(data, db, client, runner, tmp_path):
    import_rows(runner, tmp_path, [r.replace(EVIL_CSV, "Small") for r in ROWS], "small.csv")
    small = db.scalar(select(Round).join(Network).where(Network.name == "Small"))
    assert client.get(f"/rounds/{small.id}/report.csv").status_code == 404
    assert client.get(f"/rounds/{small.id}/report.xlsx").status_code == 404


def test_unknown_table_is_404(data, client):
    assert client.get(f"/rounds/{data['round'].id}/report.csv?table=people").status_code == 404


def test_cli_csv_of_a_suppressed_round_has_no_scores(db, runner, tmp_path):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()
    import_rows(runner, tmp_path, [r.replace(EVIL_CSV, "Small") for r in ROWS[:2]])
    result = runner.invoke(args=["report", "--network", "Small", "--period", "2026-spring",
                                 "--format", "csv", "--lang", "en"])
    assert result.exit_code == 0, result.output
    rows = read_csv(result.stdout)
    assert len(rows) == 1 and rows[0]["status"] == "suppressed" and rows[0]["score"] == ""
    result = runner.invoke(args=["report", "--network", "Small", "--period", "2026-spring",
                                 "--format", "csv", "--table", "items"])
    assert result.stdout.strip().count("\n") == 0
