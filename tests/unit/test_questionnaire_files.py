"""The questionnaire format: every shipped file loads; broken files list problems by path."""

from pathlib import Path

import pytest
import yaml

from assess.questionnaire import QuestionnaireError, load_questionnaire_file, parse_questionnaire

QUESTIONNAIRES = sorted((Path(__file__).parents[2] / "questionnaires").glob("*.yaml"))
FLAGSHIP = Path(__file__).parents[2] / "questionnaires" / "network-maturity.v1.yaml"


def flagship_data() -> dict:
    return yaml.safe_load(FLAGSHIP.read_text(encoding="utf-8"))


def problems_of(data) -> list[str]:
    with pytest.raises(QuestionnaireError) as excinfo:
        parse_questionnaire(yaml.safe_dump(data, allow_unicode=True))
    return excinfo.value.problems


@pytest.mark.parametrize("path", QUESTIONNAIRES, ids=lambda p: p.name)
def test_every_shipped_questionnaire_loads(path):
    questionnaire = load_questionnaire_file(path)
    assert path.name == f"{questionnaire.id}.v{questionnaire.version}.yaml"


def test_flagship_covers_four_stages_and_three_themes_in_three_languages():
    q = load_questionnaire_file(FLAGSHIP)
    assert [d.stage for d in q.stage_dimensions] == [1, 2, 3, 4]
    assert {d.id for d in q.dimensions if d.kind == "theme"} == {
        "trust", "negotiation", "shared-goals"
    }
    assert q.languages == ["sv", "fi", "en"]
    for dim in q.dimensions:
        assert len(dim.likert_items) >= 4
        assert sorted(r.level for r in dim.recommendations) == [1, 2, 3, 4, 5]
    assert sum(item.reverse for item in q.items) >= 4


def test_missing_translation_is_reported_with_its_path():
    data = flagship_data()
    del data["dimensions"][2]["items"][0]["text"]["fi"]
    assert "dimensions[2].items[0].text.fi: missing" in problems_of(data)


def test_every_problem_is_listed_not_only_the_first():
    data = flagship_data()
    data["dimensions"][0]["items"][1]["weight"] = 0
    data["dimensions"][3]["kind"] = "phase"
    del data["version"]
    problems = problems_of(data)
    assert "version: missing" in problems
    assert any(p.startswith("dimensions[0].items[1].weight:") for p in problems)
    assert any(p.startswith("dimensions[3].kind:") for p in problems)


def test_duplicate_item_ids_and_stage_gaps_are_refused():
    data = flagship_data()
    data["dimensions"][1]["items"][0]["id"] = data["dimensions"][0]["items"][0]["id"]
    data["dimensions"][3]["stage"] = 3
    problems = " ".join(problems_of(data))
    assert "is used more than once" in problems
    assert "stages must be 1, 2, 3 and 4" in problems


def test_min_respondents_below_three_is_refused():
    data = flagship_data()
    data["min_respondents"] = 2
    assert any(p.startswith("min_respondents:") for p in problems_of(data))


def test_scale_needs_one_label_per_point():
    data = flagship_data()
    data["scale"]["labels"]["en"] = data["scale"]["labels"]["en"][:4]
    assert any("labels.en must have 5 labels" in p for p in problems_of(data))


def test_unknown_fields_are_refused_so_typos_do_not_pass_silently():
    data = flagship_data()
    data["dimensions"][0]["items"][0]["revers"] = True
    assert "dimensions[0].items[0].revers: unknown field" in problems_of(data)


def test_python_object_tags_are_refused():
    text = "!!python/object/apply:os.system ['echo hacked']\n"
    with pytest.raises(QuestionnaireError) as excinfo:
        parse_questionnaire(text)
    assert "not valid YAML" in excinfo.value.problems[0]


def test_alias_bomb_is_refused_before_expansion():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    bomb += "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    with pytest.raises(QuestionnaireError) as excinfo:
        parse_questionnaire(bomb)
    assert "aliases" in excinfo.value.problems[0]


def test_a_file_that_is_not_a_mapping_gets_a_sentence():
    with pytest.raises(QuestionnaireError) as excinfo:
        parse_questionnaire("- just\n- a list\n")
    assert "must be a YAML mapping" in excinfo.value.problems[0]


def test_recommendation_falls_back_to_nearest_lower_then_higher_level():
    data = flagship_data()
    dim = data["dimensions"][0]
    dim["recommendations"] = [r for r in dim["recommendations"] if r["level"] in (2, 4)]
    q = parse_questionnaire(yaml.safe_dump(data, allow_unicode=True))
    d = q.dimensions[0]
    assert d.recommendation_for(3).level == 2
    assert d.recommendation_for(5).level == 4
    assert d.recommendation_for(1).level == 2
