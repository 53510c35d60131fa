"""Questionnaire model and loader: pure, no Flask, no database."""

from .loader import (
    QuestionnaireError,
    canonical_json,
    checksum,
    load_questionnaire_file,
    parse_questionnaire,
)
from .model import Dimension, Item, Questionnaire, Recommendation, Scale, localized

__all__ = [
    "Dimension",
    "Item",
    "Questionnaire",
    "QuestionnaireError",
    "Recommendation",
    "Scale",
    "canonical_json",
    "checksum",
    "load_questionnaire_file",
    "localized",
    "parse_questionnaire",
]
