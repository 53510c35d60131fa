"""Questionnaire versions in the database: loaded once, never changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from .. import PROJECT_ROOT
from ..models import QuestionnaireVersion
from ..questionnaire import (
    Questionnaire,
    QuestionnaireError,
    canonical_json,
    checksum,
    load_questionnaire_file,
    parse_questionnaire,
)

QUESTIONNAIRE_DIR = PROJECT_ROOT / "questionnaires"


@dataclass(frozen=True)
class LoadResult:
    row: QuestionnaireVersion
    created: bool


def load_into_db(session: Session, questionnaire: Questionnaire) -> LoadResult:
    """Store a questionnaire version; identical content is a no-op, changed content an error."""
    digest = checksum(questionnaire)
    existing = session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.slug == questionnaire.id,
            QuestionnaireVersion.version == questionnaire.version,
        )
    )
    if existing is not None:
        if existing.checksum != digest:
            raise QuestionnaireError(
                [
                    f"version {questionnaire.version} of '{questionnaire.id}' is already loaded "
                    "with different content; a loaded version never changes, so give the "
                    f"changed questionnaire version {questionnaire.version + 1}"
                ],
                questionnaire.id,
            )
        return LoadResult(existing, created=False)
    row = QuestionnaireVersion(
        slug=questionnaire.id,
        version=questionnaire.version,
        definition=canonical_json(questionnaire),
        checksum=digest,
    )
    session.add(row)
    session.flush()
    return LoadResult(row, created=True)


def load_directory(session: Session, directory: Path = QUESTIONNAIRE_DIR) -> list[LoadResult]:
    """Load every questionnaire file in a folder, all or nothing (the caller commits)."""
    results = []
    for path in sorted(directory.glob("*.y*ml")):
        results.append(load_into_db(session, load_questionnaire_file(path)))
    return results


#: Parsed questionnaires by checksum (the SHA-256 of the definition text). A loaded
#: version never changes and the key is its content, so an entry never goes stale,
#: whichever database or worker it came from; each process parses a version once.
_PARSED: dict[str, Questionnaire] = {}
_MAX_PARSED = 64


def _remember(definition_checksum: str, definition: str) -> Questionnaire:
    parsed = Questionnaire.model_validate_json(definition)
    if len(_PARSED) >= _MAX_PARSED:
        _PARSED.clear()
    _PARSED[definition_checksum] = parsed
    return parsed


def definition_of(row: QuestionnaireVersion) -> Questionnaire:
    """The parsed questionnaire of a row; its definition text is read only on a cache miss,
    so rows loaded with the definition deferred cost no extra query once parsed."""
    parsed = _PARSED.get(row.checksum)
    if parsed is None:
        parsed = _remember(row.checksum, row.definition)
    return parsed


def questionnaire_by_checksum(session: Session, questionnaire_id: int,
                              definition_checksum: str) -> Questionnaire:
    """The parsed questionnaire of version `questionnaire_id`, whose checksum the caller has
    already read (e.g. joined into its own query): no query at all once parsed."""
    parsed = _PARSED.get(definition_checksum)
    if parsed is None:
        definition = session.scalar(
            select(QuestionnaireVersion.definition).where(
                QuestionnaireVersion.id == questionnaire_id)
        )
        parsed = _remember(definition_checksum, definition)
    return parsed


def questionnaire_by_id(session: Session, questionnaire_id: int) -> Questionnaire:
    """The parsed questionnaire of a version id; reads the small checksum, not the definition."""
    row = session.identity_map.get(Session.identity_key(QuestionnaireVersion, questionnaire_id))
    if row is not None and "checksum" not in inspect(row).unloaded:
        return definition_of(row)
    definition_checksum = session.scalar(
        select(QuestionnaireVersion.checksum).where(QuestionnaireVersion.id == questionnaire_id)
    )
    if definition_checksum is None:
        raise QuestionnaireError([f"questionnaire version {questionnaire_id} is not loaded"],
                                 str(questionnaire_id))
    return questionnaire_by_checksum(session, questionnaire_id, definition_checksum)


def find_version(session: Session, slug: str, version: int | None = None) -> QuestionnaireVersion:
    """The given version, or the newest one; QuestionnaireError when there is none."""
    query = select(QuestionnaireVersion).where(QuestionnaireVersion.slug == slug)
    if version is not None:
        query = query.where(QuestionnaireVersion.version == version)
    row = session.scalars(query.order_by(QuestionnaireVersion.version.desc())).first()
    if row is None:
        wanted = f"'{slug}' version {version}" if version is not None else f"'{slug}'"
        raise QuestionnaireError([f"questionnaire {wanted} is not loaded"], slug)
    return row


def list_versions(session: Session) -> list[QuestionnaireVersion]:
    return list(
        session.scalars(
            select(QuestionnaireVersion).order_by(
                QuestionnaireVersion.slug, QuestionnaireVersion.version
            )
        )
    )


__all__ = [
    "LoadResult",
    "definition_of",
    "questionnaire_by_checksum",
    "questionnaire_by_id",
    "find_version",
    "list_versions",
    "load_directory",
    "load_into_db",
    "parse_questionnaire",
]
