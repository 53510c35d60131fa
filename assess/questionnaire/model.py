"""The questionnaire file format (a public contract) as validated pydantic models.

A questionnaire is data: dimensions of items with texts in several languages,
a response scale and recommendations per maturity level. Nothing here imports
Flask or SQLAlchemy.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
Text = dict[LanguageCode, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]]

#: Never show an aggregate of fewer respondents than this, whatever a file says.
MIN_RESPONDENTS_FLOOR = 3
MATURITY_LEVELS = (1, 2, 3, 4, 5)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(_Strict):
    min: int = 1
    max: int = 5
    dont_know: bool = True
    labels: dict[LanguageCode, list[str]]

    @model_validator(mode="after")
    def _check_range(self) -> Scale:
        if self.max <= self.min:
            raise ValueError("max must be greater than min")
        points = self.max - self.min + 1
        for lang, labels in self.labels.items():
            if len(labels) != points:
                raise ValueError(f"labels.{lang} must have {points} labels, one per scale point")
        return self

    @property
    def span(self) -> int:
        return self.max - self.min


class Item(_Strict):
    id: Slug
    text: Text
    reverse: bool = False
    weight: float = Field(default=1.0, gt=0)
    type: Literal["likert", "text"] = "likert"

    @property
    def is_scored(self) -> bool:
        return self.type == "likert"


class Recommendation(_Strict):
    level: int = Field(ge=1, le=5)
    text: Text


class Dimension(_Strict):
    id: Slug
    kind: Literal["stage", "theme"]
    stage: int | None = Field(default=None, ge=1, le=4)
    title: Text
    description: Text | None = None
    items: list[Item] = Field(min_length=1)
    recommendations: list[Recommendation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_stage(self) -> Dimension:
        if self.kind == "stage" and self.stage is None:
            raise ValueError("a dimension of kind 'stage' needs a stage number 1..4")
        if self.kind == "theme" and self.stage is not None:
            raise ValueError("only a dimension of kind 'stage' has a stage number")
        if not any(item.is_scored for item in self.items):
            raise ValueError("a dimension needs at least one likert item")
        levels = [r.level for r in self.recommendations]
        if len(levels) != len(set(levels)):
            raise ValueError("recommendations: each level at most once")
        return self

    @property
    def likert_items(self) -> list[Item]:
        return [item for item in self.items if item.is_scored]

    @property
    def min_answered(self) -> int:
        """Answered items a respondent needs for a score: ceil(n/2) of n likert items."""
        return math.ceil(len(self.likert_items) / 2)

    def recommendation_for(self, level: int) -> Recommendation | None:
        """The text for a level; else the nearest lower level; else the nearest higher one."""
        by_level = {r.level: r for r in self.recommendations}
        for candidate in [*range(level, 0, -1), *range(level + 1, 6)]:
            if candidate in by_level:
                return by_level[candidate]
        return None


class Questionnaire(_Strict):
    id: Slug
    version: int = Field(gt=0)
    languages: list[LanguageCode] = Field(min_length=1)
    title: Text
    description: Text | None = None
    scale: Scale
    #: Suppression threshold k; None means the platform default (ASSESS_MIN_RESPONDENTS).
    min_respondents: int | None = Field(default=None, ge=MIN_RESPONDENTS_FLOOR)
    stage_threshold: float = Field(default=60, ge=0, le=100)
    dimensions: list[Dimension] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_whole(self) -> Questionnaire:
        problems: list[str] = []
        if len(set(self.languages)) != len(self.languages):
            problems.append("languages: listed twice")
        dim_ids = [d.id for d in self.dimensions]
        for dup in sorted({i for i in dim_ids if dim_ids.count(i) > 1}):
            problems.append(f"dimensions: id '{dup}' is used more than once")
        item_ids = [item.id for d in self.dimensions for item in d.items]
        for dup in sorted({i for i in item_ids if item_ids.count(i) > 1}):
            problems.append(f"items: id '{dup}' is used more than once")
        stages = sorted(d.stage for d in self.dimensions if d.stage is not None)
        if stages and stages != [1, 2, 3, 4]:
            problems.append(f"dimensions: stages must be 1, 2, 3 and 4 once each, got {stages}")
        for path, text in self._texts():
            for lang in self.languages:
                if lang not in text:
                    problems.append(f"{path}.{lang}: missing")
        for lang in self.languages:
            if lang not in self.scale.labels:
                problems.append(f"scale.labels.{lang}: missing")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _texts(self):
        yield "title", self.title
        if self.description:
            yield "description", self.description
        for d_index, dim in enumerate(self.dimensions):
            base = f"dimensions[{d_index}]"
            yield f"{base}.title", dim.title
            if dim.description:
                yield f"{base}.description", dim.description
            for i_index, item in enumerate(dim.items):
                yield f"{base}.items[{i_index}].text", item.text
            for r_index, rec in enumerate(dim.recommendations):
                yield f"{base}.recommendations[{r_index}].text", rec.text

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def items(self) -> list[Item]:
        return [item for d in self.dimensions for item in d.items]

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def dimension_of(self, item_id: str) -> Dimension:
        for dim in self.dimensions:
            if any(item.id == item_id for item in dim.items):
                return dim
        raise KeyError(item_id)

    def dimension(self, dimension_id: str) -> Dimension:
        for dim in self.dimensions:
            if dim.id == dimension_id:
                return dim
        raise KeyError(dimension_id)

    @property
    def stage_dimensions(self) -> list[Dimension]:
        return sorted((d for d in self.dimensions if d.kind == "stage"), key=lambda d: d.stage or 0)

    def suppression_threshold(self, default: int = 5) -> int:
        """k: the file's min_respondents, else the platform default, never below 3."""
        chosen = self.min_respondents if self.min_respondents is not None else default
        return max(chosen, MIN_RESPONDENTS_FLOOR)


def localized(text: dict[str, str] | None, lang: str, fallback: str) -> str:
    """A text in the wanted language, else the questionnaire's default, else any."""
    if not text:
        return ""
    return text.get(lang) or text.get(fallback) or next(iter(text.values()))
