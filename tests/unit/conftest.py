"""Builders for unit tests: tiny questionnaires and answer frames, no app, no database."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from assess.questionnaire.model import Questionnaire

#: In answer tables, this marks a "don't know" answer.
DK = "dk"


class Build:
    """Tiny questionnaires from short specs, and the frames the scoring core takes."""

    def item(
        self, item_id: str, *, reverse: bool = False, weight: float = 1.0, kind: str = "likert"
    ) -> dict:
        return {
            "id": item_id,
            "text": {"en": f"Item {item_id}"},
            "reverse": reverse,
            "weight": weight,
            "type": kind,
        }

    def dimension(
        self,
        dimension_id: str,
        items: list,
        *,
        stage: int | None = None,
        recommendations: dict[int, str] | None = None,
    ) -> dict:
        """A stage dimension when ``stage`` is given, else a theme; items are ids or item()s."""
        spec = {
            "id": dimension_id,
            "kind": "stage" if stage else "theme",
            "title": {"en": f"Dimension {dimension_id}"},
            "items": [self.item(i) if isinstance(i, str) else i for i in items],
            "recommendations": [
                {"level": level, "text": {"en": text}}
                for level, text in (recommendations or {}).items()
            ],
        }
        if stage:
            spec["stage"] = stage
        return spec

    def questionnaire(self, dimensions: list[dict], **fields) -> Questionnaire:
        """A questionnaire on the scale 1..5 (or fields' scale_min/scale_max) in English."""
        low, high = fields.pop("scale_min", 1), fields.pop("scale_max", 5)
        spec = {
            "id": "tiny",
            "version": 1,
            "languages": ["en"],
            "title": {"en": "Tiny"},
            "scale": {
                "min": low,
                "max": high,
                "labels": {"en": [str(v) for v in range(low, high + 1)]},
            },
            "dimensions": dimensions,
            **fields,
        }
        return Questionnaire.model_validate(spec)

    def answers(self, table: dict[int, dict[str, float | str | None]]) -> pd.DataFrame:
        """{response_id: {item_id: value | DK | None}} -> the answers frame."""
        rows = []
        for response_id, answered in table.items():
            for item_id, value in answered.items():
                dont_know = value == DK
                number = math.nan if value is None or dont_know else float(value)
                rows.append((response_id, item_id, number, dont_know))
        return pd.DataFrame(rows, columns=["response_id", "item_id", "value", "dont_know"])

    def responses(self, table: dict[int, tuple[int, str]]) -> pd.DataFrame:
        """{response_id: (round_id, organization_key)} -> the responses frame."""
        return pd.DataFrame(
            [(round_id, response_id, org) for response_id, (round_id, org) in table.items()],
            columns=["round_id", "response_id", "organization_key"],
        )


@pytest.fixture(scope="session")
def build() -> Build:
    """Session-scoped, so hypothesis tests may use it too."""
    return Build()
