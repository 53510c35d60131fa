"""Report charts with matplotlib's object API: SVG to inline in a page, PNG for print.

Pure drawing: callers pass plain numbers and already translated texts; nothing
here imports Flask or queries. ``matplotlib.figure.Figure`` is used directly,
never ``pyplot`` (no global figure state, safe in a threaded server), and PNGs
are drawn by the Agg canvas.

Colours come from the Okabe-Ito palette, which stays apart for the common
colour-vision deficiencies; each series also differs by line style and marker,
so the charts survive greyscale printing.

The inline SVG is made to live inside an HTML page:

* text stays text (``svg.fonttype = "none"``): smaller, selectable, translatable;
* every id is prefixed, so several charts on one page never share an id;
* ``style="..."`` attributes become presentation attributes (``fill="..."``), because
  the app's Content-Security-Policy (``style-src 'self'``) blocks inline styles;
* it carries ``role="img"`` and ``aria-labelledby`` pointing at its own ``<title>``
  and ``<desc>``.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

#: Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: The order series take their style in: colour, line style and marker all differ.
SERIES_STYLES = (
    {"color": OKABE_ITO["blue"], "linestyle": "-", "marker": "o", "linewidth": 2.2},
    {"color": OKABE_ITO["vermillion"], "linestyle": "--", "marker": "s", "linewidth": 1.6},
    {"color": OKABE_ITO["black"], "linestyle": ":", "marker": "^", "linewidth": 1.6},
    {"color": OKABE_ITO["bluish_green"], "linestyle": "-.", "marker": "D", "linewidth": 1.6},
)
#: The 95 % band: sky blue at 30 % opacity (its hatch stays opaque).
BAND_FACE = (0x56 / 255, 0xB4 / 255, 0xE9 / 255, 0.3)
INK = "#1a1a1a"
MUTED = "#4a4a4a"
GRID = "#b8bcc2"
#: Font stack written into the SVG: "Report Sans" is the PDF's @font-face (DejaVu Sans),
#: and matplotlib measured the text with DejaVu Sans, which the browser falls back to.
SVG_FONT_FAMILY = "Report Sans, DejaVu Sans, Verdana, sans-serif"
PNG_DPI = 150

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "assess-report",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "text.color": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "hatch.linewidth": 0.6,
}


#: rcParams are global: one lock keeps a thread's rc_context from undoing another's.
_RC_LOCK = threading.RLock()


@contextmanager
def _style() -> Iterator[None]:
    with _RC_LOCK, matplotlib.rc_context(_RC):
        yield


@dataclass(frozen=True)
class Series:
    """One line of a chart: a name for the legend and a value per axis (None = no value)."""

    name: str
    values: Sequence[float | None]
    filled: bool = False


@dataclass(frozen=True)
class TrendPanel:
    """One small chart of a trend figure: a dimension's scores and 95 % intervals per round."""

    title: str
    scores: Sequence[float | None]
    ci_low: Sequence[float | None]
    ci_high: Sequence[float | None]


def _array(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def plain(text: str) -> str:
    """Text as given: matplotlib would read a pair of "$" as mathematics."""
    return str(text).replace("$", r"\$")


def wrap_label(text: str, width: int = 18, lines: int = 3) -> str:
    """Break a label into at most `lines` lines of about `width` characters."""
    wrapped = "\n".join(textwrap.wrap(text, width, max_lines=lines, placeholder="…")) or text
    return plain(wrapped)


# -- figures -----------------------------------------------------------------------------------


def radar_figure(labels: Sequence[str], series: Sequence[Series], *, title: str,
                 width: float = 6.6, height: float = 5.6) -> Figure:
    """Scores 0..100 of every dimension on its own spoke; rings at the level boundaries.

    With fewer than three dimensions a radar has no area, so the same data is drawn as
    a dot plot instead.
    """
    if len(labels) < 3:
        return dot_figure(labels, series, title=title, width=width)
    with _style():
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot(projection="polar")
        ax.set_theta_offset(math.pi / 2)
        ax.set_theta_direction(-1)
        angles = np.linspace(0, 2 * math.pi, len(labels), endpoint=False)
        closed = np.append(angles, angles[0])
        for number, line in enumerate(series):
            style = SERIES_STYLES[number % len(SERIES_STYLES)]
            values = _array(line.values)
            loop = np.append(values, values[0])
            ax.plot(closed, loop, label=plain(line.name), markersize=6, zorder=3 + number, **style)
            if line.filled and np.isfinite(values).all():
                ax.fill(closed, loop, color=style["color"], alpha=0.12, zorder=2)
        ax.set_ylim(0, 100)
        ax.set_yticks([20, 40, 60, 80, 100])
        ax.set_yticklabels(["20", "40", "60", "80", ""], fontsize=7, color=MUTED)
        ax.set_rlabel_position(360 / len(labels) / 2)
        for ring_label in ax.get_yticklabels():
            # Readable where a data line crosses the ring values.
            ring_label.set_bbox({"facecolor": "white", "edgecolor": "none", "pad": 0.6,
                                 "alpha": 0.85})
            ring_label.set_zorder(10)
        ax.set_xticks(angles)
        ax.set_xticklabels([wrap_label(label, 16) for label in labels], fontsize=8.5)
        ax.tick_params(axis="x", pad=10)
        ax.grid(color=GRID, linewidth=0.7)
        ax.spines["polar"].set_color(GRID)
        fig.suptitle(plain(title), fontsize=11, fontweight="bold")
        fig.legend(loc="outside lower center", ncols=min(3, len(series)), frameon=False,
                   fontsize=8.5)
    return fig


def dot_figure(labels: Sequence[str], series: Sequence[Series], *, title: str,
               width: float = 6.6) -> Figure:
    """Horizontal dot plot, one row per dimension: the radar's fallback for 1-2 dimensions."""
    with _style():
        fig = Figure(figsize=(width, 1.4 + 0.45 * len(labels)), layout="constrained")
        ax = fig.add_subplot()
        rows = np.arange(len(labels))
        for number, line in enumerate(series):
            style = dict(SERIES_STYLES[number % len(SERIES_STYLES)])
            style.pop("linestyle")
            ax.plot(_array(line.values), rows, linestyle="none", label=plain(line.name),
                    markersize=8, **style)
        ax.set_yticks(rows, [wrap_label(label, 24, 2) for label in labels])
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 20, 40, 60, 80, 100])
        ax.grid(axis="x", color=GRID, linewidth=0.7)
        ax.spines[["top", "right"]].set_visible(False)
        fig.suptitle(plain(title), fontsize=11, fontweight="bold")
        fig.legend(loc="outside lower center", ncols=min(3, len(series)), frameon=False,
                   fontsize=8.5)
    return fig


def trend_figure(periods: Sequence[str], panels: Sequence[TrendPanel], *, title: str,
                 score_label: str, interval_label: str, threshold: float | None = None,
                 threshold_label: str = "", stages: Sequence[int | None] | None = None,
                 stage_title: str = "", columns: int = 2, width: float = 7.0) -> Figure:
    """Small multiples: each dimension's score per round with its 95 % interval as a band.

    ``stages`` adds a last panel with the formation stage reached per round (0..4).
    A missing score (suppressed round, dimension not asked) leaves a gap.
    """
    count = len(panels) + (1 if stages is not None else 0)
    rows = max(1, math.ceil(count / columns))
    with _style():
        fig = Figure(figsize=(width, 0.9 + 1.9 * rows), layout="constrained")
        axes = fig.subplots(rows, columns, squeeze=False, sharex=True)
        x = np.arange(len(periods))
        style = SERIES_STYLES[0]
        for index, ax in enumerate(axes.flat):
            if index >= count:
                ax.set_visible(False)
                continue
            if index < len(panels):
                panel = panels[index]
                low, high = _array(panel.ci_low), _array(panel.ci_high)
                has_band = np.isfinite(low) & np.isfinite(high)
                if has_band.any():
                    # Transparent face, opaque hatch: the band stays visible in greyscale.
                    ax.fill_between(x, np.where(has_band, low, np.nan),
                                    np.where(has_band, high, np.nan),
                                    facecolor=BAND_FACE, edgecolor=OKABE_ITO["sky_blue"],
                                    hatch="///", linewidth=0)
                ax.plot(x, _array(panel.scores), color=style["color"], marker="o",
                        linewidth=2, markersize=5)
                if threshold is not None:
                    ax.axhline(threshold, color=OKABE_ITO["vermillion"], linestyle="--",
                               linewidth=1.1)
                ax.set_ylim(0, 100)
                ax.set_yticks([0, 20, 40, 60, 80, 100])
                ax.set_title(wrap_label(panel.title, 42, 2), fontsize=8.5, loc="left")
            else:
                ax.step(x, _array(stages), where="mid", color=OKABE_ITO["black"],
                        marker="s", linewidth=1.8, markersize=5)
                ax.set_ylim(-0.3, 4.3)
                ax.set_yticks([0, 1, 2, 3, 4])
                ax.set_title(plain(stage_title), fontsize=8.5, loc="left")
            ax.set_xlim(-0.4, max(len(periods) - 0.6, 0.4))
            ax.set_xticks(x, [plain(p) for p in periods], rotation=30, ha="right", fontsize=7.5)
            ax.tick_params(axis="y", labelsize=7.5)
            ax.tick_params(axis="x", labelbottom=True)
            ax.grid(axis="y", color=GRID, linewidth=0.6)
            ax.spines[["top", "right"]].set_visible(False)
        handles = [
            Line2D([], [], color=style["color"], marker="o", linewidth=2, label=plain(score_label)),
            Patch(facecolor=BAND_FACE, edgecolor=OKABE_ITO["sky_blue"], hatch="///",
                  label=plain(interval_label)),
        ]
        if threshold is not None:
            handles.append(Line2D([], [], color=OKABE_ITO["vermillion"], linestyle="--",
                                  label=plain(threshold_label)))
        fig.suptitle(plain(title), fontsize=11, fontweight="bold")
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles),
                   frameon=False, fontsize=8)
    return fig


# -- output ------------------------------------------------------------------------------------

_ID = re.compile(r'\bid="([^"]+)"')
_STYLE = re.compile(r'\sstyle="([^"]*)"')
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


def _presentation_attributes(match: re.Match) -> str:
    """style="fill: #fff; stroke: none" -> fill="#fff" stroke="none" (CSP-safe)."""
    attributes = []
    for declaration in match.group(1).split(";"):
        prop, sep, value = declaration.partition(":")
        if not sep:
            continue
        prop, value = prop.strip(), value.strip()
        if prop == "font-family":
            value = SVG_FONT_FAMILY
        attributes.append(f' {prop}="{html.escape(value, quote=True)}"')
    return "".join(attributes)


def svg_markup(fig: Figure, id_prefix: str, title: str, description: str) -> str:
    """The figure as an SVG element to inline in HTML: accessible, CSP-safe, unique ids."""
    with _style():
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<style[^>]*>.*?</style>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<defs>\s*</defs>\s*", "", svg)
    ids = set(_ID.findall(svg))

    def prefixed(name: str) -> str:
        return f"{id_prefix}-{name}" if name in ids else name

    svg = _ID.sub(lambda m: f'id="{prefixed(m.group(1))}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefixed(m.group(1))})", svg)
    svg = re.sub(r'((?:xlink:)?href)="#([^"]+)"',
                 lambda m: f'{m.group(1)}="#{prefixed(m.group(2))}"', svg)
    svg = _STYLE.sub(_presentation_attributes, svg)
    opening = _SVG_OPEN.search(svg).group(0)
    view_box = re.search(r'viewBox="([^"]+)"', opening).group(1)
    new_opening = (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="{view_box}" version="1.1" class="chart-svg" role="img" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc" '
        f'stroke-linejoin="round" stroke-linecap="butt">'
        f'<title id="{id_prefix}-title">{html.escape(title)}</title>'
        f'<desc id="{id_prefix}-desc">{html.escape(description)}</desc>'
    )
    return svg.replace(opening, new_opening, 1).strip()


def svg_document(fig: Figure) -> str:
    """The figure as a standalone SVG document (an image of its own), text kept as text.

    Its text names "Report Sans" first, the PDF's @font-face (DejaVu Sans), with which
    matplotlib measured it.
    """
    with _style():
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue().replace("'DejaVu Sans'", "'Report Sans', 'DejaVu Sans'")


def png_bytes(fig: Figure, dpi: int = PNG_DPI) -> bytes:
    """The figure drawn by the Agg canvas."""
    with _style():
        FigureCanvasAgg(fig)  # draws with Agg; attaches itself to the figure
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def print_png_bytes(fig: Figure, dpi: int = PNG_DPI) -> bytes:
    """The figure as an opaque RGB PNG, quickly compressed: the PDF's chart image.

    WeasyPrint decodes every PNG and compresses it again into the PDF, splitting off
    the alpha channel as a mask of its own first; an opaque image on white skips that
    split, and a light compression here (level 1) costs less than the default.
    """
    from PIL import Image

    with _style():
        canvas = FigureCanvasAgg(fig)
        fig.set_dpi(dpi)
        canvas.draw()
        image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def png_data_uri(fig: Figure, dpi: int = PNG_DPI) -> str:
    """A data: URI to put in <img src>; the PDF renderer fetches nothing else."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(fig, dpi)).decode("ascii")
