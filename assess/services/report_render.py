"""The leaders' report rendered: charts, the print document (HTML/PDF) and the PDF cache.

Everything shown comes from the report dict of ``reports.network_report`` (and the
trend dict of ``reports.network_trends``); this module only arranges it. The page,
the PDF and ``assess report --format html|pdf`` use the same section templates
(``templates/reports/_report_sections.html``).

A rendered PDF is kept in the database (``RenderedReport``), so every worker and
host shares it. Its version is the round's ``data_version`` plus a digest of the
report dict and of the renderer's own files: any change of what the PDF would show
(an answer, another network's round moving the benchmark, a target, a translation,
a template) gives a new version, and the PDF is rendered again on the next request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

from flask import render_template
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import PROJECT_ROOT
from ..i18n import format_score
from ..labels import period_label
from ..models import RenderedReport, Round
from ..render_slots import waiting_for_slots
from ..reports import pdf as pdf_renderer
from .reports import network_report

logger = logging.getLogger(__name__)

#: Chart format inside the PDF. benchmarks/report_pdf.py renders the report with each in
#: the same run, taking turns (2 shared CPUs, 25 renders each, 2026-11-28): inline SVG
#: 0.69 s CPU, 150-dpi PNG 0.68 s, SVG as an <img> 0.73 s, no chart at all 0.61 s. PNG
#: and inline SVG cost the same for this report's one chart, and SVG keeps the chart's
#: text as text (the PDF's text is the same as the page's) in a PDF 3.5 times smaller
#: (49 vs 171 KB, stored per round and language in rendered_reports). So: SVG. "png"
#: and "svg-image" stay available (served through pdf.py's assess-image: URLs).
PDF_CHART_FORMAT = "svg"
PRINT_CSS = PROJECT_ROOT / "static" / "report-print.css"
#: Files whose change changes a rendered PDF; their digest is part of the cache version.
RENDERER_FILES = (
    "templates/reports/pdf/report.html",
    "templates/reports/_report_sections.html",
    "templates/reports/_chart.html",
    "static/report-print.css",
    "assess/reports/charts.py",
    "assess/reports/pdf.py",
    "assess/services/report_render.py",
    "assess/i18n.py",
    "assess/labels.py",
)


# -- presentation: lookups the templates need, derived from the report dict only ---------------


def short_title(title: str) -> str:
    """ "Stage 1: Challenge identified ..." -> "Stage 1"; other titles stay whole."""
    head, sep, _rest = title.partition(":")
    return head.strip() if sep and head.strip() else title


def presentation(report: dict) -> dict:
    """Lookups for the templates: titles, stage staircase, targets and agreement by dimension."""
    dims = report.get("dimensions", [])
    titles = {d["id"]: d["title"] for d in dims}
    stage_dims = sorted((d for d in dims if d["kind"] == "stage"), key=lambda d: d["stage"])
    reached = report.get("stage_reached")
    stages = []
    for dim in stage_dims:
        if reached is not None and dim["stage"] <= reached:
            status = "reached"
        elif reached is not None and dim["stage"] == reached + 1:
            status = "next"
        else:
            status = "not_yet"
        stages.append({"stage": dim["stage"], "title": dim["title"], "score": dim["score"],
                       "dimension": dim["id"], "status": status})
    targets = report.get("targets") or {}
    baselines = {t["baseline_period"] for t in targets.get("dimensions", [])
                 if t["progress"] is not None}
    agreement = report.get("agreement_by_type") or []
    types = sorted({row["type"] for row in agreement}, key=lambda t: (t == "other", t))
    agreement_rows = []
    for dim in dims:
        cells = {row["type"]: row for row in agreement if row["dimension"] == dim["id"]}
        if cells:
            agreement_rows.append({"dimension": dim["id"], "title": dim["title"],
                                   "score": dim["score"], "cells": cells})
    previous = next((d["trend"]["previous_period"] for d in dims if d.get("trend")), None)
    shows_scores = report["state"] == "closed" and not report["suppressed"]
    return {
        "sections": report_sections(shows_scores),
        "glance": at_a_glance(report) if shows_scores else None,
        "titles": titles,
        "short_titles": {d["id"]: short_title(d["title"]) for d in dims},
        "stages": stages,
        "targets": {t["dimension"]: t for t in targets.get("dimensions", [])},
        #: The baseline period when every target's progress is measured from the same one.
        "targets_baseline": baselines.pop() if len(baselines) == 1 else None,
        "agreement_types": types,
        "agreement_rows": agreement_rows,
        "previous_period": previous,
        "shows_scores": shows_scores,
    }


def at_a_glance(report: dict) -> dict:
    """The answers a steering group looks for first, picked from the report's own figures."""
    titles = {d["id"]: d["title"] for d in report["dimensions"]}
    scored = [d for d in report["dimensions"] if d["score"] is not None]
    compared = [d for d in scored
                if d["benchmark"] and d["benchmark"]["national_median"] is not None]
    changes = [d for d in scored if d["trend"] and d["trend"]["delta"] is not None]
    return {
        "strongest": max(scored, key=lambda d: (d["score"], d["id"])) if scored else None,
        "weakest": min(scored, key=lambda d: (d["score"], d["id"])) if scored else None,
        "above_national": sum(d["score"] > d["benchmark"]["national_median"] for d in compared),
        "compared": len(compared),
        "improved": sum(d["trend"]["delta"] > 0 for d in changes),
        "declined": sum(d["trend"]["delta"] < 0 for d in changes),
        "changed": len(changes),
        "significant_up": [d for d in changes
                           if d["trend"]["significant"] and d["trend"]["delta"] > 0],
        "significant_down": [d for d in changes
                             if d["trend"]["significant"] and d["trend"]["delta"] < 0],
        "next": [titles[r["dimension"]] for r in report["recommendations"][:3]],
        "discuss": (report.get("discuss") or [None])[0],
    }


def report_sections(shows_scores: bool) -> list[tuple[str, str]]:
    """(id, title) of the report's sections in order: the page's and the PDF's contents."""
    if not shows_scores:
        return [("status", _("Status of the round"))]
    return [
        ("summary", _("Summary")),
        ("profile", _("Strengths and weaknesses compared with others")),
        ("dimensions", _("Dimension by dimension")),
        ("targets", _("Targets")),
        ("recommendations", _("What to do next")),
        ("discuss", _("Discuss together")),
        ("agreement", _("Agreement by actor type")),
        ("open-answers", _("Open answers")),
        ("method", _("How to read the figures")),
    ]


# -- charts ------------------------------------------------------------------------------------


def _charts():
    """matplotlib is imported on first use, so the app (and `assess --help`) starts fast."""
    from ..reports import charts

    return charts


def _chart(fig, fmt: str, chart_id: str, title: str, description: str) -> dict:
    """The figure as inline SVG markup, or as PNG bytes (`png`, the img src, is set later)."""
    charts = _charts()
    chart = {"id": chart_id, "title": title, "description": description, "svg": None,
             "png": None, "image": None}
    if fmt == "png":
        chart["image"] = (charts.print_png_bytes(fig), "image/png", "png")
    elif fmt == "svg-image":
        chart["image"] = (charts.svg_document(fig).encode(), "image/svg+xml", "svg")
    else:
        chart["svg"] = Markup(charts.svg_markup(fig, chart_id, title, description))  # noqa: S704 - built from escaped parts
    fig.clear()
    return chart


def describe_radar(report: dict) -> str:
    """The chart's text alternative: strongest and weakest dimension, standing nationally."""
    scored = [d for d in report["dimensions"] if d["score"] is not None]
    if not scored:
        return _("No dimension has a score.")
    strong = max(scored, key=lambda d: (d["score"], d["id"]))
    weak = min(scored, key=lambda d: (d["score"], d["id"]))
    compared = [d for d in scored if d["benchmark"] and d["benchmark"]["national_median"]
                is not None]
    text = _("Strongest: %(strong)s (%(strong_score)s). Weakest: %(weak)s (%(weak_score)s).",
             strong=strong["title"], strong_score=format_score(strong["score"]),
             weak=weak["title"], weak_score=format_score(weak["score"]))
    if compared:
        above = sum(d["score"] > d["benchmark"]["national_median"] for d in compared)
        text += " " + _("Above the national median in %(above)d of %(total)d dimensions.",
                        above=above, total=len(compared))
    return text


def radar_chart(report: dict, fmt: str = "svg", chart_id: str = "chart-profile") -> dict | None:
    """This network, the national median and the region's median on one radar."""
    dims = report.get("dimensions") or []
    if not dims:
        return None
    charts = _charts()
    labels = [short_title(d["title"]) for d in dims]
    national = [d["benchmark"]["national_median"] if d["benchmark"] else None for d in dims]
    region = [d.get("region_median") for d in dims]
    series = [charts.Series(_("This network"), [d["score"] for d in dims], filled=True)]
    if any(v is not None for v in national):
        series.append(charts.Series(_("National median"), national))
    if any(v is not None for v in region):
        series.append(charts.Series(_("Region median"), region))
    title = _("Scores by dimension, compared with others")
    fig = charts.radar_figure(labels, series, title=title)
    return _chart(fig, fmt, chart_id, title, describe_radar(report))


def trend_chart(trends: dict, fmt: str = "svg", chart_id: str = "chart-trend") -> dict | None:
    """Small multiples of every dimension's score over the network's closed rounds."""
    rounds = trends.get("rounds") or []
    if not rounds or not trends.get("dimensions"):
        return None
    charts = _charts()
    periods = [period_label(r["period"]) for r in rounds]
    panels = []
    for dim in trends["dimensions"]:
        points = dim["points"]
        panels.append(charts.TrendPanel(
            short_title(dim["title"]) if dim["kind"] == "stage" else dim["title"],
            [p["score"] if p else None for p in points],
            [p["ci95"][0] if p and p["ci95"] else None for p in points],
            [p["ci95"][1] if p and p["ci95"] else None for p in points],
        ))
    has_stages = any(r["stage_reached"] is not None for r in rounds)
    title = _("Scores over time")
    description = _("Each dimension's score per closed round, with its 95 %% interval as a "
                    "band and the stage threshold %(threshold)s as a dashed line; the table "
                    "below gives the same figures.",
                    threshold=format_score(trends["stage_threshold"]))
    fig = charts.trend_figure(
        periods, panels, title=title, score_label=_("Score"),
        interval_label=_("95 %% interval") % {}, threshold=trends["stage_threshold"],
        threshold_label=_("Stage threshold"),
        stages=[r["stage_reached"] for r in rounds] if has_stages else None,
        stage_title=_("Formation stage reached (0–4)"),
    )
    return _chart(fig, fmt, chart_id, title, description)


def report_charts(report: dict, fmt: str = "svg") -> dict:
    if report["state"] != "closed" or report["suppressed"]:
        return {}
    return {"radar": radar_chart(report, fmt)}


# -- the print document and the PDF ------------------------------------------------------------


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def page_counter_css() -> str:
    """@page footer with "page X of Y" in the reader's language, as CSS content."""
    marker = "\x00"
    text = _("Page %(page)s of %(pages)s", page=marker + "page" + marker,
             pages=marker + "pages" + marker)
    parts = []
    for index, piece in enumerate(text.split(marker)):
        if index % 2:
            parts.append(f"counter({piece})")
        elif piece:
            parts.append(_css_string(piece))
    return " ".join(parts)


def page_rule_css() -> str:
    """The footer's "page X of Y" rule; after print_css(), whose `@page :first` hides it."""
    return "@page { @bottom-right { content: " + page_counter_css() + "; } }"


@lru_cache(maxsize=1)
def print_css() -> str:
    return PRINT_CSS.read_text(encoding="utf-8")


def render_report_document(report: dict, *, chart_format: str = "svg",
                           generated_on: date | None = None,
                           images: dict[str, tuple[bytes, str]] | None = None) -> str:
    """The report as one print HTML document (the PDF's source).

    Without `images` the document is self-contained (`assess report --format html`): its
    stylesheet inline, PNG charts as data: URIs. With `images` (the PDF), PNG charts are
    put there and referenced as assess-image: URLs, and the stylesheet is left out: the
    PDF renderer applies its parsed copy (print_css()), made once per process.
    """
    charts = report_charts(report, chart_format)
    for chart in charts.values():
        if chart and chart["image"] is not None:
            body, content_type, extension = chart["image"]
            if images is None:
                chart["png"] = f"data:{content_type};base64," + base64.b64encode(
                    body).decode("ascii")
            else:
                name = f"{chart['id']}.{extension}"
                images[name] = (body, content_type)
                chart["png"] = pdf_renderer.IMAGE_SCHEME + name
    return render_template(
        "reports/pdf/report.html",
        report=report,
        view=presentation(report),
        charts=charts,
        medium="print",
        generated_on=generated_on or date.today(),
        # The PDF renderer applies both stylesheets itself, parsed once (see render_report_pdf).
        print_css=Markup(print_css() if images is None else ""),  # noqa: S704 - our own file
        page_rule=Markup(page_rule_css()),  # noqa: S704 - escaped by _css_string
    )


def render_report_pdf(report: dict, *, chart_format: str = PDF_CHART_FORMAT) -> bytes:
    """Render the PDF now, without the cache.

    Charts, template and WeasyPrint all run in pdf.py's low-priority thread, so the
    answering pages of the other workers win the CPU meanwhile.
    """

    def render() -> bytes:
        images: dict[str, tuple[bytes, str]] = {}
        html = render_report_document(report, chart_format=chart_format, images=images)
        return pdf_renderer.render_pdf(html, stylesheets=(print_css(), page_rule_css()),
                                       images=images)

    return pdf_renderer.run_at_low_priority(render)


@lru_cache(maxsize=8)
def renderer_fingerprint(lang: str) -> str:
    """Digest of the files that shape a PDF, and of the language's translations."""
    digest = hashlib.sha256()
    paths = [PROJECT_ROOT / name for name in RENDERER_FILES]
    paths.append(PROJECT_ROOT / "assess" / "translations" / lang / "LC_MESSAGES" / "messages.mo")
    for path in paths:
        digest.update(path.name.encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(round_id: int, lang: str) -> str:
    return f"round:{round_id}:pdf:{lang}"


def cache_version(round_: Round, report: dict, lang: str) -> str:
    """Changes whenever the PDF's content would: data, benchmark, targets, texts, templates."""
    digest = hashlib.sha256()
    digest.update(json.dumps(report, sort_keys=True, ensure_ascii=False, default=str).encode())
    digest.update(renderer_fingerprint(lang).encode())
    digest.update(PDF_CHART_FORMAT.encode())
    return f"{round_.data_version}:{digest.hexdigest()[:40]}"


def report_pdf(session: Session, round_: Round, lang: str, default_k: int = 5) -> bytes:
    """The round's report as PDF, from the database cache when its content is unchanged.

    Needs an app context with the reader's language forced or selected; the caller commits
    (the cache row, and any results recomputed on the way).
    """
    return _cached_or_rendered_pdf(session, round_, lang, default_k)[0]


def _cached_or_rendered_pdf(session: Session, round_: Round, lang: str,
                            default_k: int) -> tuple[bytes, bool]:
    """report_pdf(), and whether the PDF was rendered now (False: it came from the cache)."""
    report = network_report(session, round_, lang, default_k)
    key = cache_key(round_.id, lang)
    version = cache_version(round_, report, lang)
    cached = session.get(RenderedReport, key)
    if cached is not None and cached.data_version == version:
        return cached.body, False
    body = render_report_pdf(report)
    store_rendered(session, key, version, "application/pdf", body)
    return body, True


def missing_pdfs(session: Session, round_ids: Sequence[int],
                 languages: Sequence[str]) -> list[tuple[int, str]]:
    """(round id, language) of the rounds' PDFs that the cache lacks for their current data.

    Only the data_version part of the cached version is compared (cache_version starts
    with it), so no report has to be built to know. A PDF cached for the current data but
    an older benchmark, target or template is not missing here: its first download
    renders it again (report_pdf compares the whole version).
    """
    if not round_ids or not languages:
        return []
    versions = dict(session.execute(
        select(Round.id, Round.data_version).where(Round.id.in_(list(round_ids)))).all())
    keys = [cache_key(round_id, lang) for round_id in versions for lang in languages]
    cached = dict(session.execute(
        select(RenderedReport.key, RenderedReport.data_version)
        .where(RenderedReport.key.in_(keys))).all())
    return [(round_id, lang) for round_id in round_ids if round_id in versions
            for lang in languages
            if not cached.get(cache_key(round_id, lang), "").startswith(
                f"{versions[round_id]}:")]


def prerender_pdfs(session: Session, round_ids: Sequence[int], languages: Sequence[str],
                   default_k: int = 5, limit: int | None = None) -> int:
    """Render the closed rounds' PDFs that the cache lacks (missing_pdfs), in `round_ids`
    order and at most `limit` of them; returns how many this run rendered.

    Run by `assess rounds tick` (never inside a web request), so the leaders' downloads
    the morning after a round closes come from the cache. A PDF that another run cached
    meanwhile is not rendered again, nor counted. Needs an app context; commits after
    each PDF. A PDF that fails is logged and left to be rendered on its first download.
    """
    from flask import current_app
    from flask_babel import force_locale

    from ..models.survey import CLOSED

    rendered = 0
    for round_id, lang in missing_pdfs(session, round_ids, languages)[:limit]:
        round_ = session.get(Round, round_id, populate_existing=True)
        if round_ is None or round_.state != CLOSED:  # reopened meanwhile
            continue
        try:
            # A command: wait for one of the host's render slots rather than fail.
            with (waiting_for_slots(), current_app.test_request_context(),
                  force_locale(lang)):
                _body, fresh = _cached_or_rendered_pdf(session, round_, lang, default_k)
            session.commit()
        except Exception:  # the round stays closed; its PDF renders on demand instead
            session.rollback()
            logger.exception("report PDF of round %s (%s) not rendered", round_id, lang)
            continue
        rendered += fresh
    return rendered


def store_rendered(session: Session, key: str, version: str, content_type: str,
                   body: bytes) -> None:
    """Insert or replace a cached rendering; another host storing it first is fine."""
    from ..db import utcnow

    cached = session.get(RenderedReport, key)
    if cached is not None:
        cached.data_version, cached.content_type = version, content_type
        cached.body, cached.created_at = body, utcnow()
        session.flush()
        return
    try:
        with session.begin_nested():
            session.add(RenderedReport(key=key, data_version=version,
                                       content_type=content_type, body=body))
    except IntegrityError:  # a concurrent request stored the same key: keep theirs
        pass
