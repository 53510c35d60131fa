"""Administration: the loaded questionnaire versions."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import get_locale

from ..auth import roles_required
from ..db import get_session
from ..questionnaire import localized
from ..services.questionnaires import definition_of, list_versions

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/questionnaires")
@roles_required("admin")
def list_questionnaires():
    lang = str(get_locale())
    rows = []
    for row in list_versions(get_session()):
        definition = definition_of(row)
        rows.append(
            {
                "slug": row.slug,
                "version": row.version,
                "title": localized(definition.title, lang, definition.default_language),
                "dimensions": len(definition.dimensions),
                # Not "items": in Jinja row.items would be dict.items, not this count.
                "item_count": len(definition.items),
                "checksum": row.checksum[:12],
                "loaded_at": row.loaded_at,
            }
        )
    return render_template("admin/questionnaires.html", rows=rows)
