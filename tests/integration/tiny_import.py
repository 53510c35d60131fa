"""The small test questionnaire and its CSV import, shared by the report tests."""

from __future__ import annotations

from pathlib import Path

TINY = Path(__file__).parents[1] / "data" / "tiny.v1.yaml"
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")


def import_rows(runner, tmp_path, rows, name="responses.csv", header=HEADER):
    """Import `rows` of the tiny questionnaire through `assess import-responses`."""
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny"])
    assert result.exit_code == 0, result.output
