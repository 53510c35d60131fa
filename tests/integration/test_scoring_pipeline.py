"""Import -> stored scores -> report and national JSON, checked against hand-computed values.

The tiny questionnaire (tests/data/tiny.v1.yaml) has k = 3, scale 1..5 (S = 4).
"""

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assess.models import Answer, Response, ResponseScore, Round
from assess.questionnaire import load_questionnaire_file
from assess.services.questionnaires import load_into_db

TINY = Path(__file__).parents[1] / "data" / "tiny.v1.yaml"
HEADER = ("region,network,period,respondent,organization,submitted_at,"
          "a1,a2,b1,b2,c1,c2,d1,d2,t1,t2,t3,note")


@pytest.fixture
def tiny(db):
    load_into_db(db, load_questionnaire_file(TINY))
    db.commit()


def write_csv(tmp_path, rows, name="responses.csv", header=HEADER):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


# Four respondents of network N1: r1 and r2 in organisation A, r3 in B, r4 without one.
N1_SPRING = [
    "R1,N1,2026-spring,r1,A,2026-03-15T10:00:00,5,5,4,4,3,3,1,dk,5,1,4,Good meetings",
    "R1,N1,2026-spring,r2,A,2026-03-15T11:00:00,3,5,4,2,3,,2,2,4,2,3,",
    "R1,N1,2026-spring,r3,B,2026-03-16T09:00:00,4,4,5,5,1,1,dk,dk,3,5,2,",
    "R1,N1,2026-spring,r4,,2026-03-17T09:00:00,5,4,3,3,2,4,3,3,5,3,5,",
]


def import_file(runner, path, *extra):
    return runner.invoke(args=["import-responses", str(path), "--questionnaire", "tiny", *extra])


def report(runner, network="N1", period="2026-spring", lang="en"):
    result = runner.invoke(args=["report", "--network", network, "--period", period,
                                 "--format", "json", "--lang", lang])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def dims(data):
    return {d["id"]: d for d in data["dimensions"]}


def test_report_matches_hand_computed_scores(tiny, runner, tmp_path):
    result = import_file(runner, write_csv(tmp_path, N1_SPRING))
    assert result.exit_code == 0, result.output
    assert "Imported 4 responses" in result.output
    data = report(runner)
    assert (data["network"], data["region"], data["period"]) == ("N1", "R1", "2026-spring")
    assert data["questionnaire"] == {"id": "tiny", "version": 1}
    assert (data["respondents"], data["organizations"], data["suppressed"]) == (4, 3, False)
    d = dims(data)
    # stage-1: r1 100, r2 75 -> A 87.5; B 75; r4 87.5 -> (87.5 + 75 + 87.5) / 3 = 83.33
    assert (d["stage-1"]["score"], d["stage-1"]["level"]) == (83.3, 5)
    # stage-2: A (75 + 50) / 2 = 62.5; B 100; r4 50 -> 70.83
    assert (d["stage-2"]["score"], d["stage-2"]["level"]) == (70.8, 4)
    # stage-3: r2 answered c1 only (1 of 2 >= ceil(2/2)) -> 50; A 50, B 0, r4 50 -> 33.33
    assert (d["stage-3"]["score"], d["stage-3"]["level"]) == (33.3, 2)
    # stage-4: r3 has only don't-knows -> no score; A (0 + 25) / 2 = 12.5, r4 50 -> 31.25
    assert d["stage-4"]["score"] == 31.3  # 31.25 rounded half up
    assert (d["stage-4"]["respondents"], d["stage-4"]["organizations"]) == (3, 2)
    # trust: t2 reverse-coded, t3 weight 2: r1 (4 + 4 + 2*3) / 4 / 4 = 87.5 ...
    assert (d["trust"]["score"], d["trust"]["level"]) == (62.5, 4)
    # stage 1 and 2 reach 60, stage 3 does not
    assert data["stage_reached"] == 2
    # (83.33 + 70.83 + 33.33 + 31.25 + 62.5) / 5 = 56.25
    assert data["overall"] == 56.3
    # sd of 87.5, 75, 87.5 = 7.217; ci = 83.33 +- 4.3027 * 7.217 / sqrt(3), clipped at 100
    assert d["stage-1"]["sd"] == 7.2
    assert d["stage-1"]["ci95"] == [65.4, 100.0]
    # recommendations: stage 3 and 4 below 60, in stage order; level 2 falls back to level 1
    recs = data["recommendations"]
    assert [r["dimension"] for r in recs] == ["stage-3", "stage-4"]
    assert recs[0]["text"] == "Follow up the goals"
    assert recs[1]["text"] == "Spread the results"  # no level 1 or 2: nearest higher, 3
    # focus items: c1 mean 2.25 < c2 2.67; d1 2.0 < d2 2.5
    assert recs[0]["focus_items"] == ["c1", "c2"]
    assert recs[1]["focus_items"] == ["d1", "d2"]


def test_report_texts_follow_the_chosen_language(tiny, runner, tmp_path):
    import_file(runner, write_csv(tmp_path, N1_SPRING))
    data = report(runner, lang="fi")
    assert data["recommendations"][0]["text"] == "Seuratkaa tavoitteita"


def test_round_with_fewer_than_k_responses_is_suppressed_everywhere(tiny, runner, tmp_path):
    rows = N1_SPRING[:2]
    import_file(runner, write_csv(tmp_path, rows))
    data = report(runner)
    assert data["suppressed"] is True
    assert data["overall"] is None and data["stage_reached"] is None
    assert data["dimensions"] == [] and data["recommendations"] == []


def uniform_rows(network, region, value, n=3, period="2026-spring"):
    """n respondents, each their own organisation, answering `value` everywhere."""
    cells = ",".join([str(value)] * 11)
    return [f"{region},{network},{period},x{i},{network} org {i},2026-03-20T12:00:00,{cells},"
            for i in range(n)]


def five_networks():
    # uniform answer v gives 25 * (v - 1) in every stage dimension
    return [*uniform_rows("N1", "R1", 2), *uniform_rows("N2", "R1", 3),
            *uniform_rows("N3", "R1", 4), *uniform_rows("N4", "R2", 5),
            *uniform_rows("N5", "R2", 3)]


def test_benchmark_percentiles_count_ties_as_half(tiny, runner, tmp_path):
    import_file(runner, write_csv(tmp_path, five_networks()))
    bench = dims(report(runner, "N2"))["stage-1"]["benchmark"]
    # national scores 25, 50, 50, 75, 100: N2 has 1 below, 2 equal -> 100 * (1 + 1) / 5
    assert bench == {"national_percentile": 40.0, "region_percentile": 50.0,
                     "national_median": 50.0, "networks": 5}


def national_json(runner):
    result = runner.invoke(args=["national", "--period", "2026-spring", "--questionnaire", "tiny",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def three_more_networks():
    """A region R0 of 3 networks: the first by name among the regions of 3 (rule 13a)."""
    return [*uniform_rows("N6", "R0", 1), *uniform_rows("N7", "R0", 2),
            *uniform_rows("N8", "R0", 3)]


def test_national_comparison_suppresses_regions_below_three_networks(tiny, runner, tmp_path):
    import_file(runner, write_csv(tmp_path, five_networks()))
    data = national_json(runner)
    # Rule 13a: the national row minus R1 would be R2's 2 networks, so R1 is withheld too
    assert {r["region"]: r for r in data["regions"]}["R1"]["dimensions"]["stage-1"] is None
    assert data["national"]["dimensions"]["stage-1"] == {
        "networks": 5, "mean": 60.0, "median": 50.0, "p25": 50.0, "p75": 75.0}
    # with R0 of 3 networks too, R0 (first by name) is withheld in R1's stead
    import_file(runner, write_csv(tmp_path, three_more_networks(), "r0.csv"))
    data = national_json(runner)
    regions = {r["region"]: r for r in data["regions"]}
    assert regions["R0"]["dimensions"]["stage-1"] is None
    assert regions["R1"]["networks"] == 3
    # stage-1 scores of R1: 25, 50, 75 -> p25 = 25 + 0.5 * 25 (linear interpolation)
    assert regions["R1"]["dimensions"]["stage-1"] == {
        "networks": 3, "mean": 50.0, "median": 50.0, "p25": 37.5, "p75": 62.5}
    # trust of R1: (v-1 + 5-v + 2(v-1)) / 4 / 4 for v = 2, 3, 4 -> 37.5, 50, 62.5
    assert regions["R1"]["dimensions"]["trust"] == {
        "networks": 3, "mean": 50.0, "median": 50.0, "p25": 43.8, "p75": 56.3}
    assert regions["R2"]["dimensions"]["trust"] is None


def test_national_csv_marks_suppressed_cells(tiny, runner, tmp_path):
    import_file(runner, write_csv(tmp_path, [*five_networks(), *three_more_networks()]))
    result = runner.invoke(args=["national", "--period", "2026-spring", "--questionnaire", "tiny",
                                 "--format", "csv"])
    lines = result.stdout.splitlines()
    assert lines[0].startswith("period,questionnaire,version,region,dimension,networks")
    assert "2026-spring,tiny,1,R2,trust,,,,,,yes" in lines
    assert "2026-spring,tiny,1,R1,stage-1,3,50.0,50.0,37.5,62.5,no" in lines
    assert "2026-spring,tiny,1,R0,stage-1,,,,,,yes" in lines  # rule 13a


def test_trend_compares_with_the_previous_period_using_welch(tiny, runner, tmp_path):
    autumn = [r.replace("2026-spring", "2025-autumn").replace("2026-03", "2025-10")
              for r in uniform_rows("N1", "R1", 1, n=3)]
    autumn = [r.replace("N1 org 0", "A").replace("N1 org 1", "B") for r in autumn]
    import_file(runner, write_csv(tmp_path, autumn, "autumn.csv"))
    import_file(runner, write_csv(tmp_path, N1_SPRING, "spring.csv"))
    d = dims(report(runner))
    # stage-1: 0, 0, 0 before; 87.5, 75, 87.5 now: t = 20 with 2 df, p < 0.01
    assert d["stage-1"]["trend"] == {"previous_period": "2025-autumn", "delta": 83.3,
                                     "significant": True}
    # trust: 25 each before; 75, 25, 87.5 now: t = 1.96, p = 0.19
    assert d["trust"]["trend"] == {"previous_period": "2025-autumn", "delta": 37.5,
                                   "significant": False}


def test_first_round_has_no_trend(tiny, runner, tmp_path):
    import_file(runner, write_csv(tmp_path, N1_SPRING))
    assert all(d["trend"] is None for d in report(runner)["dimensions"])


def test_import_failing_on_its_last_line_imports_nothing(tiny, db, runner, tmp_path):
    rows = [*N1_SPRING, "R1,N1,2026-spring,r5,A,2026-03-18T09:00:00,5,5,4,4,3,3,1,1,5,1,9,"]
    result = import_file(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 1
    assert "line 6: column 't3': '9' is not a value of the scale 1..5" in result.output
    assert db.scalar(select(func.count()).select_from(Response)) == 0
    assert db.scalar(select(func.count()).select_from(Round)) == 0


def test_import_lists_every_problem_with_its_line(tiny, db, runner, tmp_path):
    rows = [
        "R1,N1,2026-spring,r1,A,not-a-date,5,5,4,4,3,3,1,dk,5,1,4,",
        "R1,N1,2026-spring,r1,A,2026-03-15T10:00:00,5,5,4,4,3,3,1,dk,5,1,x,",
        ",N1,2026-spring,r3,A,2026-03-15T10:00:00,0,5,4,4,3,3,1,dk,5,1,4,",
    ]
    result = import_file(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 1
    out = result.output
    assert "line 2: submitted_at 'not-a-date' is not a date" in out
    assert "line 3: respondent 'r1' appears twice for network 'N1'" in out
    assert "line 3: column 't3': 'x' is not a value" in out
    assert "line 4: 'region' is empty" in out
    assert "line 4: column 'a1': '0' is not a value" in out


def test_import_refuses_unknown_and_missing_columns(tiny, runner, tmp_path):
    header = HEADER.replace(",t3,", ",t4,")
    result = import_file(runner, write_csv(tmp_path, [], header=header))
    assert result.exit_code == 1
    assert "line 1: unknown column 't4'" in result.output
    assert "line 1: missing column for item 't3'" in result.output


def test_import_of_an_unknown_questionnaire_is_refused(runner, tmp_path):
    result = runner.invoke(args=["import-responses", str(write_csv(tmp_path, N1_SPRING)),
                                 "--questionnaire", "nope"])
    assert result.exit_code == 1
    assert "questionnaire 'nope' is not loaded" in result.output


def test_the_same_import_twice_stores_no_duplicates(tiny, db, runner, tmp_path):
    path = write_csv(tmp_path, N1_SPRING)
    assert import_file(runner, path).exit_code == 0
    again = import_file(runner, path)
    assert again.exit_code == 1
    assert "respondent 'r1' of network 'N1' in period '2026-spring' is already stored" in (
        again.output)
    assert db.scalar(select(func.count()).select_from(Response)) == 4


def test_semicolons_and_a_byte_order_mark_are_understood(tiny, db, runner, tmp_path):
    text = "\ufeff" + "\n".join([HEADER, *N1_SPRING]).replace(",", ";") + "\n"
    path = tmp_path / "excel.csv"
    path.write_text(text, encoding="utf-8")
    result = import_file(runner, path)
    assert result.exit_code == 0, result.output
    assert dims(report(runner))["trust"]["score"] == 62.5


def test_a_zip_renamed_to_csv_is_refused(tiny, runner, tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    result = import_file(runner, path)
    assert result.exit_code == 1
    assert "not a CSV text file" in result.output


def test_import_stores_answers_and_respondent_scores(tiny, db, runner, tmp_path):
    import_file(runner, write_csv(tmp_path, N1_SPRING))
    note = db.scalar(select(Answer.text).where(Answer.item_id == "note"))
    assert note == "Good meetings"
    dk = db.scalar(select(func.count()).select_from(Answer).where(Answer.dont_know.is_(True)))
    assert dk == 3
    # r3 gave only don't-knows for stage 4: no stored score there
    assert db.scalar(select(func.count()).select_from(ResponseScore)) == 4 * 5 - 1


def test_discuss_together_lists_items_where_organisations_differ_most(tiny, runner, tmp_path):
    import_file(runner, write_csv(tmp_path, N1_SPRING))
    discuss = report(runner)["discuss"]
    # organisation means (A = r1, r2; B = r3; r4 alone), t2 reverse-coded:
    # t2 [4.5, 1, 3] sd 1.756; c2 [3, 1, 4] 1.528; t3 [3.5, 2, 5] 1.5;
    # b2 [3, 5, 3] 1.155; d1 [1.5, 3] 1.061; then t1 1.041, b1 and c1 1.0, ...
    assert [(d["item"], d["organization_sd"]) for d in discuss] == [
        ("t2", 1.76), ("c2", 1.53), ("t3", 1.5), ("b2", 1.15), ("d1", 1.06)]
    assert discuss[0]["mean"] == 3.25  # (5 + 4 + 1 + 3) / 4 after reverse-coding


def test_agreement_by_actor_type_pools_small_types(tiny, runner, tmp_path):
    header = HEADER.replace("organization,", "organization,organization_type,")
    rows = [r.replace(",A,", ",A,municipality,").replace(",B,", ",B,ngo,")
            .replace(",,2026", ",,,2026") for r in N1_SPRING]
    import_file(runner, write_csv(tmp_path, rows, header=header))
    agreement = [a for a in report(runner)["agreement_by_type"] if a["dimension"] == "stage-1"]
    # k = 3: municipality A has 2 respondents, ngo B 1, r4 (no type) 1: all pooled as other
    assert agreement == [{"dimension": "stage-1", "type": "other", "score": 83.3,
                          "organizations": 3, "respondents": 4}]
