"""Questionnaire versions in the database: loaded once, never changed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
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


@lru_cache(maxsize=64)
def _parse_cached(definition_checksum: str, definition: str) -> Questionnaire:
    # Keyed on the checksum: a loaded version is immutable, so the parse never goes stale.
    return Questionnaire.model_validate_json(definition)


def definition_of(row: QuestionnaireVersion) -> Questionnaire:
    return _parse_cached(row.checksum, row.definition)


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
    "find_version",
    "list_versions",
    "load_directory",
    "load_into_db",
    "parse_questionnaire",
]
