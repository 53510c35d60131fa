"""Read questionnaire files safely and report every problem by its path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from .model import Questionnaire

#: A questionnaire is a few hundred lines; anything far larger is not one.
MAX_FILE_BYTES = 1_000_000


class QuestionnaireError(ValueError):
    """A questionnaire file that cannot be used; `problems` lists each with its path."""

    def __init__(self, problems: list[str], source: str = "questionnaire"):
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(problems))


class _NoAliasLoader(yaml.SafeLoader):
    """Safe loading without anchors or aliases, which rules out alias bombs."""

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def _format_location(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _format_errors(error: ValidationError) -> list[str]:
    problems = []
    for detail in error.errors():
        path = _format_location(detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "missing":
            message = "missing"
        elif detail["type"] == "extra_forbidden":
            message = "unknown field"
        # Whole-questionnaire checks carry their own paths, joined by "; ".
        for part in message.split("; "):
            problems.append(f"{path}: {part}" if path else part)
    return problems


def parse_questionnaire(text: str | bytes, source: str = "questionnaire") -> Questionnaire:
    """Parse and validate YAML text; raise QuestionnaireError listing every problem."""
    if len(text) > MAX_FILE_BYTES:
        raise QuestionnaireError([f"file is larger than {MAX_FILE_BYTES} bytes"], source)
    if isinstance(text, bytes):
        if b"\x00" in text:
            raise QuestionnaireError(["file is not text (contains NUL bytes)"], source)
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise QuestionnaireError(["file is not UTF-8 text"], source) from None
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise QuestionnaireError([f"not valid YAML: {exc}".replace("\n", " ")], source) from None
    if not isinstance(data, dict):
        raise QuestionnaireError(["the file must be a YAML mapping (id, version, ...)"], source)
    try:
        return Questionnaire.model_validate(data)
    except ValidationError as exc:
        raise QuestionnaireError(_format_errors(exc), source) from None


def load_questionnaire_file(path: str | Path) -> Questionnaire:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise QuestionnaireError([f"cannot read file: {exc.strerror}"], str(path)) from None
    return parse_questionnaire(raw, str(path))


def canonical_json(questionnaire: Questionnaire) -> str:
    """The stored form of a definition: stable key order, so equal content compares equal."""
    return json.dumps(questionnaire.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


def checksum(questionnaire: Questionnaire) -> str:
    return hashlib.sha256(canonical_json(questionnaire).encode()).hexdigest()
