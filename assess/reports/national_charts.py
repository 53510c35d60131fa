"""Charts of the national and regional comparison, drawn with matplotlib's object API.

Each function takes plain, already rounded and already suppressed data (what the page
and the exports show) and returns an SVG string. Labels arrive translated. Nothing here
queries, and nothing is drawn for a group the caller did not pass: suppression is decided
upstream (services/national.py).

``matplotlib.figure.Figure`` only, never pyplot: pyplot keeps global state that leaks
between requests and threads.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Sequence

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

INK = "#1a1a1a"
MUTED = "#6b6f75"
ACCENT = "#0b4f8a"
LIGHT = "#c9d7e6"
GRID = "#d5d8dc"
#: Stage 0..4: from "not yet at stage 1" (light) to "stage 4" (dark); colour-blind safe.
STAGE_COLOURS = ("#f0f0f0", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
STAGE_HATCHES = ("//", "", "", "", "")
OUTSIDE_COLOURS = {"above998": "#1d6b36", "above95": "#1d6b36",
                   "below95": "#a4161a", "below998": "#a4161a", "inside": ACCENT}
OUTSIDE_MARKERS = {"above998": "^", "above95": "^", "below95": "v", "below998": "v",
                   "inside": "o"}

_RC = {
    "svg.hashsalt": "assess-national",  # stable ids: the same data gives the same SVG
    "svg.fonttype": "path",
    # Region names and titles are text, never mathematics: "$5 and $6" must not fail.
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
}


def _svg(fig: Figure) -> str:
    """The figure as SVG without XML prolog, its ids made unique to this chart.

    Several charts are inlined in one PDF document: matplotlib's ids (glyphs, markers,
    clip paths) repeat from chart to chart, so each chart's get a prefix of its own.
    """
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    prefix = "c" + hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = text.replace('href="#', f'href="#{prefix}-').replace("url(#", f"url(#{prefix}-")
    return text


def data_uri(svg: str) -> str:
    """The SVG as a data: URI for <img>: the page's CSP forbids inline style attributes,
    which matplotlib's SVG uses, but an image is a document of its own."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.patch.set_facecolor("white")
    return fig


def _score_axis(ax, label: str, horizontal: bool = True) -> None:
    if horizontal:
        ax.set_xlim(0, 100)
        ax.set_xlabel(label)
        ax.xaxis.grid(True, color=GRID, linewidth=0.6)
    else:
        ax.set_ylim(0, 100)
        ax.set_ylabel(label)
        ax.yaxis.grid(True, color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _spread(count: int, width: float = 0.5) -> list[float]:
    """Deterministic vertical offsets for the dots of a strip: no random jitter."""
    if count <= 1:
        return [0.0] * count
    step = width / (count - 1)
    return [-width / 2 + i * step for i in range(count)]


def distribution_chart(
    rows: Sequence[dict], national: dict | None, *, score_label: str, national_label: str,
    threshold: float | None = None,
) -> str:
    """Network scores per region: a box from p25 to p75 with the median, and a dot per network.

    ``rows``: label, scores (the networks' rounded scores), p25, median, p75; one per
    region, top to bottom. ``national``: median, p25, p75 of the whole group, or None.
    """
    with matplotlib.rc_context(_RC):
        height = max(1.6, 0.32 * len(rows) + 0.9)
        fig = _figure(7.2, height)
        ax = fig.subplots()
        if national is not None:
            ax.axvspan(national["p25"], national["p75"], color=LIGHT, alpha=0.45, linewidth=0)
            ax.axvline(national["median"], color=ACCENT, linestyle="--", linewidth=1.2)
        if threshold is not None:
            ax.axvline(threshold, color=MUTED, linestyle=":", linewidth=1)
        for position, row in enumerate(rows):
            y = len(rows) - 1 - position
            ax.add_patch(Rectangle((row["p25"], y - 0.3), row["p75"] - row["p25"], 0.6,
                                   facecolor="white", edgecolor=INK, linewidth=0.9, zorder=2))
            ax.plot([row["median"], row["median"]], [y - 0.3, y + 0.3], color=INK,
                    linewidth=2, zorder=3)
            scores = list(row["scores"])
            offsets = _spread(len(scores), 0.44)
            ax.scatter(scores, [y + o for o in offsets], s=12, color=ACCENT, alpha=0.8,
                       linewidths=0, zorder=4)
        ax.set_yticks(range(len(rows)), labels=[r["label"] for r in reversed(rows)])
        ax.set_ylim(-0.7, max(len(rows), 1) - 0.3)
        _score_axis(ax, score_label)
        handles = [Patch(facecolor="white", edgecolor=INK, label="p25–p75")]
        if national is not None:
            handles.append(Patch(facecolor=LIGHT, edgecolor=ACCENT, label=national_label))
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2,
                  frameon=False, fontsize=8)
        return _svg(fig)


def stage_chart(rows: Sequence[dict], stage_labels: Sequence[str], *, share_label: str) -> str:
    """Share of networks at each stage reached (0..4) per region, as 100 % stacked bars.

    ``rows``: label and counts (five numbers, stage 0..4), top to bottom.
    """
    with matplotlib.rc_context(_RC):
        height = max(1.6, 0.3 * len(rows) + 1.0)
        fig = _figure(7.2, height)
        ax = fig.subplots()
        labels = [r["label"] for r in rows]
        ys = list(range(len(rows) - 1, -1, -1))
        left = [0.0] * len(rows)
        for stage in range(5):
            shares = [
                100 * r["counts"][stage] / sum(r["counts"]) if sum(r["counts"]) else 0
                for r in rows
            ]
            ax.barh(ys, shares, left=left, color=STAGE_COLOURS[stage], edgecolor="white",
                    hatch=STAGE_HATCHES[stage], linewidth=0.6, height=0.7,
                    label=stage_labels[stage])
            left = [a + b for a, b in zip(left, shares, strict=True)]
        ax.set_yticks(ys, labels=labels)
        ax.set_xlim(0, 100)
        ax.set_xlabel(share_label)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=5, frameon=False,
                  fontsize=8)
        return _svg(fig)


def funnel_chart(
    funnel: dict, *, x_label: str, y_label: str, mean_label: str, limit95_label: str,
    limit998_label: str,
) -> str:
    """A funnel plot: network score against its number of organisations, with control limits.

    ``funnel``: mean, limits (organizations, lower95, upper95, lower998, upper998) and
    points (organizations, score, band). No names: points are anonymous by design.
    """
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 4.2)
        ax = fig.subplots()
        limits = funnel.get("limits") or []
        if limits:
            n = [row["organizations"] for row in limits]
            ax.plot(n, [r["upper998"] for r in limits], color=MUTED, linestyle=":",
                    linewidth=1.2, label=limit998_label)
            ax.plot(n, [r["lower998"] for r in limits], color=MUTED, linestyle=":",
                    linewidth=1.2)
            ax.plot(n, [r["upper95"] for r in limits], color=MUTED, linestyle="--",
                    linewidth=1.1, label=limit95_label)
            ax.plot(n, [r["lower95"] for r in limits], color=MUTED, linestyle="--",
                    linewidth=1.1)
        ax.axhline(funnel["mean"], color=ACCENT, linewidth=1.4, label=mean_label)
        for band in ("inside", "above95", "below95", "above998", "below998"):
            points = [p for p in funnel["points"] if p["band"] == band]
            if points:
                ax.scatter([p["organizations"] for p in points], [p["score"] for p in points],
                           s=18, marker=OUTSIDE_MARKERS[band], color=OUTSIDE_COLOURS[band],
                           alpha=0.8, linewidths=0, zorder=3)
        top = max([p["organizations"] for p in funnel["points"]] + [2])
        ax.set_xlim(0.5, top + 0.5)
        ax.set_xlabel(x_label)
        _score_axis(ax, y_label, horizontal=False)
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        return _svg(fig)


def trend_chart(
    periods: Sequence[str], series: Sequence[dict], *, y_label: str,
    band: tuple[Sequence[float | None], Sequence[float | None]] | None = None,
    band_label: str = "",
) -> str:
    """Medians over periods: one line per series (label, values, emphasis); gaps where None."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 3.0)
        ax = fig.subplots()
        xs = list(range(len(periods)))
        if band is not None:
            pairs = [(x, lo, hi) for x, lo, hi in zip(xs, band[0], band[1], strict=True)
                     if lo is not None and hi is not None]
            if pairs:
                ax.fill_between([p[0] for p in pairs], [p[1] for p in pairs],
                                [p[2] for p in pairs], color=LIGHT, alpha=0.5, linewidth=0,
                                label=band_label)
        for line in series:
            points = [(x, v) for x, v in zip(xs, line["values"], strict=True) if v is not None]
            if not points:
                continue
            emphasis = line.get("emphasis", False)
            ax.plot([p[0] for p in points], [p[1] for p in points],
                    color=ACCENT if emphasis else line.get("colour", MUTED),
                    linewidth=2.2 if emphasis else 1.4, marker="o", markersize=4,
                    label=line["label"])
        ax.set_xticks(xs, labels=list(periods))
        ax.set_xlim(-0.3, max(len(periods) - 1, 0) + 0.3)
        _score_axis(ax, y_label, horizontal=False)
        handles, _labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(loc="lower left", frameon=False, fontsize=8, ncols=3)
        return _svg(fig)


def profile_chart(
    rows: Sequence[dict], *, score_label: str, national_label: str, region_label: str,
    threshold: float | None = None,
) -> str:
    """A region against the national distribution, one row per dimension.

    ``rows``: label, national (p25, median, p75, or None), scores (the region's networks).
    """
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, max(1.8, 0.42 * len(rows) + 0.9))
        ax = fig.subplots()
        if threshold is not None:
            ax.axvline(threshold, color=MUTED, linestyle=":", linewidth=1)
        for position, row in enumerate(rows):
            y = len(rows) - 1 - position
            national = row.get("national")
            if national is not None:
                ax.add_patch(Rectangle((national["p25"], y - 0.3),
                                       national["p75"] - national["p25"], 0.6,
                                       facecolor=LIGHT, edgecolor=ACCENT, linewidth=0.8,
                                       zorder=2))
                ax.plot([national["median"]] * 2, [y - 0.3, y + 0.3], color=ACCENT,
                        linewidth=2, zorder=3)
            scores = list(row["scores"])
            offsets = _spread(len(scores), 0.4)
            ax.scatter(scores, [y + o for o in offsets], s=16, color=INK, marker="D",
                       linewidths=0, zorder=4)
        ax.set_yticks(range(len(rows)), labels=[r["label"] for r in reversed(rows)])
        ax.set_ylim(-0.7, max(len(rows), 1) - 0.3)
        _score_axis(ax, score_label)
        handles = [Patch(facecolor=LIGHT, edgecolor=ACCENT, label=national_label),
                   ax.scatter([], [], s=16, color=INK, marker="D", label=region_label)]
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2,
                  frameon=False, fontsize=8)
        return _svg(fig)


__all__ = [
    "data_uri",
    "distribution_chart",
    "funnel_chart",
    "profile_chart",
    "stage_chart",
    "trend_chart",
]
