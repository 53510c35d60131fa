"""The national dashboard, the regional view and instrument quality as plain data.

``national_dashboard`` is what `/national`, its CSV/XLSX/PDF downloads and
`assess national --format json` all render, so they cannot disagree. Its unfiltered
region x dimension table is ``reports.national_report`` unchanged (rule 13); the rest
(filters, stages, distributions, funnel plot, trends) is derived here from stored round
results of closed, unsuppressed rounds only: never from answers. Instrument quality is
the one exception: it is about the questions, so it reads the answers of one period.

Anonymity beyond rule 13 (regions with fewer than 3 networks are suppressed):

* **Complementary suppression (rule 13a).** The national row minus the shown regions
  would give the withheld regions' sum; when that is over 1-2 networks, the smallest
  shown regions are withheld too (``scoring.comparisons.shown_groups``), in every view.
* **Filters and differencing.** With a theme filter, "all networks of region R" minus
  "networks of R with theme T" would give the figures of R's other networks. A filtered
  cell is shown only when the filtered group has at least 3 networks and so has its
  complement in the unfiltered cell (or the group is the whole cell); then, because an
  analyst can open every theme in turn and combine them with the unfiltered table, the
  cells of *all* themes are audited together as a linear system: no sum over fewer than
  3 networks may be derivable from the shown cells that the unfiltered table alone does
  not already give. Cells are suppressed (smallest first) until none is. The decision
  depends on the data only, never on which theme is asked for, so every view agrees.
* **Charts** draw only groups whose cell is shown; the funnel plot's points are the
  networks of shown region cells, listed by value, never by region or name.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.orm import Session

from .. import scoring
from ..labels import period_label as readable_period
from ..models import (
    Answer,
    Network,
    Period,
    QuestionnaireVersion,
    Region,
    RenderedReport,
    Response,
    Round,
    RoundDimensionResult,
    RoundSummary,
)
from ..models.survey import CLOSED, SUBMITTED
from ..questionnaire import localized
from ..scoring import instrument, round1, settle
from ..scoring.comparisons import shown_groups
from .questionnaires import definition_of, find_version
from .reports import (
    ReportError,
    _refresh_stale_rounds,
    keep_rendered,
    national_report,
    period_start,
)

#: Rule 13: no group of fewer networks is shown.
MIN_NETWORKS = 3
#: Networks without a theme form a group that no filter selects.
NO_THEME = ""
#: The key of the stages-reached table in visibility decisions, beside dimension ids.
STAGE_KEY = "__stage__"
#: Two-sided normal quantiles of the funnel plot's control limits (95 % and 99.8 %).
#: scipy.stats.norm.ppf(0.975) and (0.999), written out so that importing this module does
#: not import scipy (tests/unit/test_round_trends.py checks them against scipy).
Z95 = 1.959963984540054
Z998 = 3.090232306167813
#: Raised when what the dashboard holds or how it is computed changes (cached dashboards).
DASHBOARD_FORMAT = "dashboard-1:rule-13a"
#: Raised when the charts change, so cached chart SVGs are drawn again.
CHARTS_FORMAT = "charts-2"  # 2: periods in words on the trend axis
#: Raised when the PDF's layout changes, so cached PDFs are rendered again.
PDF_LAYOUT_VERSION = "national-pdf-1"
STAGES = (0, 1, 2, 3, 4)


class NationalError(ReportError):
    """The comparison cannot be made: an unknown period, questionnaire or theme."""


# -- choices for the filters ------------------------------------------------------------------


def periods_newest_first(session: Session) -> list[Period]:
    periods = list(session.scalars(select(Period)))
    return sorted(periods, key=lambda p: (period_start(p), p.label), reverse=True)


def questionnaire_versions(session: Session) -> list[tuple[str, int]]:
    return [
        (slug, version)
        for slug, version in session.execute(
            select(QuestionnaireVersion.slug, QuestionnaireVersion.version).order_by(
                QuestionnaireVersion.slug, QuestionnaireVersion.version
            )
        ).all()
    ]


def default_period(session: Session, slug: str, version: int | None = None) -> str | None:
    """The newest period with a closed round of the questionnaire; else the newest period."""
    try:
        qrow = find_version(session, slug, version)
    except Exception:  # noqa: BLE001 - an unknown questionnaire has no default period
        qrow = None
    periods = periods_newest_first(session)
    if qrow is not None:
        with_rounds = set(session.scalars(
            select(Round.period_id).where(Round.questionnaire_id == qrow.id,
                                          Round.state == CLOSED).distinct()
        ))
        for period in periods:
            if period.id in with_rounds:
                return period.label
    return periods[0].label if periods else None


def region_lookup(session: Session) -> dict[str, dict]:
    """Region name -> id and code, for links and the tile map."""
    return {
        name: {"id": region_id, "code": code}
        for region_id, name, code in session.execute(select(Region.id, Region.name, Region.code))
    }


# -- stored round results as frames ------------------------------------------------------------

SCORE_COLUMNS = ["period_id", "network_id", "region_id", "region", "theme", "dimension_id",
                 "score", "organizations", "sd"]


def _comparable(query, period_ids: list[int], questionnaire_id: int):
    """The selection of reports._comparable_scores: closed, unsuppressed, current results."""
    return (
        query.join(RoundSummary, RoundSummary.round_id == Round.id)
        .where(
            Round.period_id.in_(period_ids),
            Round.questionnaire_id == questionnaire_id,
            Round.state == CLOSED,
            RoundSummary.suppressed.is_(False),
            RoundSummary.data_version == Round.data_version,
        )
    )


def network_frame(session: Session) -> pd.DataFrame:
    """Every network's region and theme: merged into the results instead of joined in SQL,
    which keeps the big queries on the rounds' own indexes."""
    frame = pd.DataFrame(
        session.execute(select(Network.id, Network.region_id, Region.name, Network.theme)
                        .join(Region, Network.region_id == Region.id)).all(),
        columns=["network_id", "region_id", "region", "theme"],
    )
    frame["theme"] = frame["theme"].fillna(NO_THEME).astype(str)
    return frame


def score_frame(
    session: Session, period_ids: list[int], questionnaire_id: int,
    dimension_ids: list[str] | None = None, networks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Network dimension scores with region, theme, organisations and the organisations' sd."""
    if not period_ids:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    query = _comparable(
        select(Round.period_id, Round.network_id, RoundDimensionResult.dimension_id,
               RoundDimensionResult.score, RoundDimensionResult.organizations,
               RoundDimensionResult.sd)
        .join(RoundDimensionResult, RoundDimensionResult.round_id == Round.id),
        period_ids, questionnaire_id,
    ).where(RoundDimensionResult.score.is_not(None))
    if dimension_ids is not None:
        query = query.where(RoundDimensionResult.dimension_id.in_(dimension_ids))
    frame = pd.DataFrame(session.execute(query).all(),
                         columns=["period_id", "network_id", "dimension_id", "score",
                                  "organizations", "sd"])
    networks = network_frame(session) if networks is None else networks
    frame = frame.merge(networks, on="network_id", how="inner")[SCORE_COLUMNS]
    frame["score"] = frame["score"].astype("float64")
    frame["sd"] = pd.to_numeric(frame["sd"], errors="coerce").astype("float64")
    frame["organizations"] = frame["organizations"].astype("int64")
    return frame


def stage_frame(session: Session, period_id: int, questionnaire_id: int,
                networks: pd.DataFrame | None = None) -> pd.DataFrame:
    """Stage reached of every comparable network of the period."""
    query = _comparable(select(Round.network_id, RoundSummary.stage_reached),
                        [period_id], questionnaire_id).where(
        RoundSummary.stage_reached.is_not(None))
    frame = pd.DataFrame(session.execute(query).all(), columns=["network_id", "stage"])
    networks = network_frame(session) if networks is None else networks
    frame = frame.merge(networks, on="network_id", how="inner")[
        ["network_id", "region", "theme", "stage"]]
    frame["stage"] = frame["stage"].astype("int64")
    return frame


# -- what a view may show ----------------------------------------------------------------------


@dataclass(frozen=True)
class Visibility:
    """The region cells and the national cell that one view (one theme or none) may show."""

    regions: frozenset[str]
    national: bool

    def shows(self, region: str | None) -> bool:
        return self.national if region is None else region in self.regions


def _shown_themes(sizes: Mapping[str, int], k: int = MIN_NETWORKS) -> set[str]:
    """The themes whose filtered cell may be shown within one cell of ``sizes`` networks.

    A theme's group and its complement both need k networks (or the group is the whole
    cell); then, while the networks outside every shown theme number 1 .. k-1 (their sum
    would follow from the unfiltered cell minus the shown themes), the smallest shown
    theme is withdrawn too.
    """
    total = sum(sizes.values())
    shown = {
        theme for theme, n in sizes.items()
        if theme != NO_THEME and n >= k and (total - n == 0 or total - n >= k)
    }
    while shown:
        residual = total - sum(sizes[t] for t in shown)
        if residual == 0 or residual >= k:
            break
        shown.remove(min(shown, key=lambda t: (sizes[t], t)))
    return shown


def _row_reduce(matrix: np.ndarray, tolerance: float = 1e-9):
    """Reduced row echelon form of ``matrix`` as (R, T, pivots) with R = T @ matrix.

    Plain numpy elimination: the matrices are small (regions x themes), and LAPACK's
    threads cost more than the work on a busy server. T tells which original rows
    make each row of R: the certificate of a derivable sum.
    """
    rows, width = matrix.shape
    work = np.hstack([matrix.astype("float64"), np.eye(rows)])
    pivots: list[int] = []
    top = 0
    for column in range(width):
        if top == rows:
            break
        best = top + int(np.argmax(np.abs(work[top:, column])))
        if abs(work[best, column]) < tolerance:
            continue
        work[[top, best]] = work[[best, top]]
        work[top] /= work[top, column]
        others = np.abs(work[:, column]) > tolerance
        others[top] = False
        if others.any():
            work[others] -= np.outer(work[others, column], work[top])
        pivots.append(column)
        top += 1
    return work[:top, :width], work[:top, width:], pivots


def _small_sums(matrix: np.ndarray, sizes: np.ndarray, k: int) -> dict[frozenset[int], np.ndarray]:
    """Sets of atoms with fewer than k networks whose sum the rows of ``matrix`` determine.

    Returns each set with its certificate (coefficients on the rows). For k = 3 the small
    sets are single atoms of 1-2 networks and pairs of single-network atoms. A vector v
    is in the row space iff v = sum of v[pivot] * (that pivot's row of the RREF), so
    only the rows pivoting on the atoms themselves need checking.
    """
    found: dict[frozenset[int], np.ndarray] = {}
    if matrix.size == 0:
        return found
    reduced, transform, pivots = _row_reduce(matrix)
    tolerance = 1e-9
    support = np.abs(reduced) > tolerance
    counts = support.sum(axis=1)
    pivot_of = {column: row for row, column in enumerate(pivots)}
    for row, column in enumerate(pivots):
        if counts[row] == 1 and sizes[column] < k:
            found[frozenset([column])] = transform[row]
        elif counts[row] == 2 and sizes[column] == 1:
            other = int(np.flatnonzero(support[row] & (np.arange(len(sizes)) != column))[0])
            if other not in pivot_of and abs(reduced[row, other] - 1) < tolerance \
                    and sizes[column] + sizes[other] < k:
                found[frozenset([column, other])] = transform[row]
    ones = [row for row, column in enumerate(pivots) if 2 * sizes[column] < k and counts[row] > 1]
    if len(ones) > 1:
        free = np.ones(len(sizes), dtype=bool)
        free[pivots] = False
        seen: dict[tuple, int] = {}
        for row in ones:
            rest = reduced[row, free]
            match = seen.get(tuple(np.round(-rest, 7) + 0.0))
            if match is not None:
                pair = frozenset([pivots[row], pivots[match]])
                found.setdefault(pair, transform[row] + transform[match])
            seen.setdefault(tuple(np.round(rest, 7) + 0.0), row)
    return found


def audit_theme_cells(
    sizes: Mapping[tuple[str, str], int], k: int = MIN_NETWORKS
) -> tuple[set[tuple[str, str]], set[str]]:
    """The (region, theme) cells and national theme rows that filtered views may show.

    ``sizes``: networks per (region, theme), NO_THEME for networks without one. The
    unfiltered table (the regions rule 13a shows, and the whole country) is given; the
    filtered cells are chosen so that, together with it and with each other, they
    determine no sum over fewer than k networks that the unfiltered table does not
    determine already. Same input, same answer, whichever theme is being looked at.
    """
    atoms = sorted((region, theme) for (region, theme), n in sizes.items() if n > 0)
    if not atoms:
        return set(), set()
    counts = np.array([sizes[a] for a in atoms], dtype="int64")
    region_of = np.array([r for r, _t in atoms], dtype=object)
    theme_of = np.array([t for _r, t in atoms], dtype=object)
    position = {atom: i for i, atom in enumerate(atoms)}
    by_region: dict[str, dict[str, int]] = defaultdict(dict)
    by_theme: dict[str, int] = defaultdict(int)
    for (region, theme), n in zip(atoms, counts, strict=True):
        by_region[region][theme] = int(n)
        by_theme[theme] += int(n)

    fixed = []
    if counts.sum() >= k:
        fixed.append(np.ones(len(atoms)))
    regions_shown = shown_groups({region: sum(row.values()) for region, row in by_region.items()},
                                 k)
    for region in sorted(regions_shown):
        fixed.append((region_of == region).astype("float64"))
    known = set(_small_sums(np.array(fixed).reshape(len(fixed), len(atoms)), counts, k))

    cells = {(region, theme) for region, row in by_region.items()
             for theme in _shown_themes(row, k)}
    themes = _shown_themes(by_theme, k)
    while True:
        candidates = [("cell", cell) for cell in sorted(cells)]
        candidates += [("theme", theme) for theme in sorted(themes)]
        rows = list(fixed)
        for kind, value in candidates:
            if kind == "cell":
                unit = np.zeros(len(atoms))
                unit[position[value]] = 1.0
                rows.append(unit)
            else:
                rows.append((theme_of == value).astype("float64"))
        leaks = _small_sums(np.array(rows).reshape(len(rows), len(atoms)), counts, k)
        new = sorted((sorted(leak), certificate) for leak, certificate in leaks.items()
                     if leak not in known)
        if not new:
            return cells, themes
        certificate = new[0][1][len(fixed):]
        used = [c for c, weight in zip(candidates, certificate, strict=True)
                if abs(weight) > 1e-7]

        def cost(candidate):
            kind, value = candidate
            size = sizes[value] if kind == "cell" else by_theme[value]
            return (kind == "theme", size, str(value))

        kind, value = min(used or candidates, key=cost)
        (cells if kind == "cell" else themes).discard(value)


def _sizes_by_key(frame: pd.DataFrame, key: str) -> dict[str, dict[tuple[str, str], int]]:
    """key value (dimension) -> (region, theme) -> networks; one row per network and key."""
    if frame.empty:
        return {}
    sizes: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for (value, region, theme), n in frame.groupby([key, "region", "theme"]).size().items():
        sizes[value][(region, theme)] = int(n)
    return sizes


def visibility_from_sizes(sizes: Mapping[tuple[str, str], int], theme: str | None) -> Visibility:
    """What a view may show, from the networks per (region, theme) of one dimension."""
    if theme is None:
        per_region: dict[str, int] = defaultdict(int)
        for (region, _theme), n in sizes.items():
            per_region[region] += n
        return Visibility(frozenset(shown_groups(per_region, MIN_NETWORKS)),
                          sum(sizes.values()) >= MIN_NETWORKS)
    cells, themes = _audit_cached(tuple(sorted(sizes.items())))
    return Visibility(frozenset(r for r, t in cells if t == theme), theme in themes)


@lru_cache(maxsize=512)
def _audit_cached(sizes: tuple) -> tuple[frozenset, frozenset]:
    """audit_theme_cells is pure: dimensions with the same networks share one audit."""
    cells, themes = audit_theme_cells(dict(sizes))
    return frozenset(cells), frozenset(themes)


def visibility(frame: pd.DataFrame, theme: str | None) -> Visibility:
    """What a view of ``frame`` (one key: a dimension or the stages) may show.

    ``frame``: network_id, region, theme; one row per network with a value.
    """
    if frame.empty:
        return Visibility(frozenset(), False)
    sizes = {key: int(n) for key, n in frame.groupby(["region", "theme"]).size().items()}
    return visibility_from_sizes(sizes, theme)


def _split(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, np.ndarray]:
    """Scores grouped by ``keys`` as numpy arrays: fast where pandas is slow per group."""
    if frame.empty:
        return {}
    values = frame["score"].to_numpy(dtype="float64")
    groups = frame.groupby(keys, sort=False).indices
    return {(key if isinstance(key, tuple) else (key,)): values[index]
            for key, index in groups.items()}


# -- the dashboard -----------------------------------------------------------------------------


def _cell(scores: np.ndarray) -> dict:
    """Rule 13's figures of one cell (quantiles: linear interpolation, as pandas and R)."""
    p25, p75 = np.quantile(scores, [0.25, 0.75])
    return {
        "networks": int(len(scores)),
        "mean": round1(scores.mean()),
        "median": round1(np.median(scores)),
        "p25": round1(p25),
        "p75": round1(p75),
    }


def _trend_periods(session: Session, questionnaire_id: int, period: Period) -> list[Period]:
    """Periods with rounds of this questionnaire version up to ``period``, oldest first."""
    ids = set(session.scalars(
        select(Round.period_id).where(Round.questionnaire_id == questionnaire_id).distinct()
    ))
    ids.add(period.id)
    periods = list(session.scalars(select(Period).where(Period.id.in_(ids))))
    start = period_start(period)
    chosen = [p for p in periods if p.id == period.id or period_start(p) < start]
    return sorted(chosen, key=lambda p: (period_start(p), p.label))


def national_dashboard(
    session: Session,
    period_label: str,
    questionnaire_slug: str,
    version: int | None = None,
    theme: str | None = None,
    dimension_ids: Iterable[str] | None = None,
) -> dict:
    """Everything the national dashboard shows, for one period, questionnaire version and theme.

    Kept in RenderedReport per (period, questionnaire version, theme, dimensions) while
    dashboard_version is the same, so a warm request reads one row (the caller commits).

    Without a theme, ``regions`` and ``national`` are national_report's, unchanged. With
    one, they are the same table over the networks of that theme, with the cells the
    differencing audit withholds set to None (listed in ``protected``). ``stages``,
    ``distribution``, ``funnel`` and ``trends`` follow the same visibility; the last three
    are computed for ``dimension_ids`` (default: every dimension). Numbers are rounded
    for output (round1); figures of suppressed cells are never in the result.
    """
    period = session.scalar(select(Period).where(Period.label == period_label))
    if period is None:
        raise ReportError(f"There is no period '{period_label}'.")
    qrow = find_version(session, questionnaire_slug, version)
    questionnaire = definition_of(qrow)
    all_dims = [d.id for d in questionnaire.dimensions]
    chart_dims = all_dims if dimension_ids is None else [d for d in all_dims if d in
                                                         set(dimension_ids)]
    theme = theme or None
    what = json.dumps([period.id, qrow.id, theme, chart_dims], ensure_ascii=False)
    key = "national-dashboard:" + hashlib.sha256(what.encode()).hexdigest()[:40]
    data_version = dashboard_version(session, qrow.id)
    cached = session.get(RenderedReport, key)
    if cached is not None and cached.data_version == data_version:
        return json.loads(cached.body.decode("utf-8"))
    data = _national_dashboard(session, period, qrow, questionnaire, theme, all_dims,
                               chart_dims)
    keep_rendered(session, key, data_version, "application/json",
                  json.dumps(data, ensure_ascii=False).encode("utf-8"))
    return data


def dashboard_version(session: Session, questionnaire_id: int) -> str:
    """What the dashboards of a questionnaire version depend on, as a short digest.

    The closed rounds of every period (the trends reach back) with their data_version,
    which periods have rounds and when they start, and each network's region and theme.
    A submission to an open round changes none of it; closing, reopening or an import do.
    """
    closed = session.execute(
        select(func.count(Round.id), func.coalesce(func.sum(Round.data_version), 0),
               func.coalesce(func.sum(cast(Round.id, BigInteger) * Round.data_version), 0),
               func.coalesce(func.max(Round.id), 0))
        .where(Round.questionnaire_id == questionnaire_id, Round.state == CLOSED)
    ).one()
    with_rounds = sorted(session.scalars(
        select(Round.period_id).where(Round.questionnaire_id == questionnaire_id).distinct()))
    periods = session.execute(
        select(Period.id, Period.label, Period.starts_on, Period.first_submitted_at)
        .order_by(Period.id)).all()
    networks = session.execute(
        select(Network.id, Network.region_id, Network.theme, Region.name)
        .join(Region, Network.region_id == Region.id).order_by(Network.id)).all()
    digest = hashlib.sha256(DASHBOARD_FORMAT.encode())
    for part in (tuple(closed), with_rounds, [tuple(p) for p in periods],
                 [tuple(n) for n in networks]):
        digest.update(repr(part).encode())
    return digest.hexdigest()[:48]


def _national_dashboard(session: Session, period: Period, qrow: QuestionnaireVersion,
                        questionnaire, theme: str | None, all_dims: list[str],
                        chart_dims: list[str]) -> dict:
    base = national_report(session, period.label, qrow.slug, qrow.version)

    networks = network_frame(session)
    current = score_frame(session, [period.id], qrow.id, networks=networks)
    themes = sorted(set(current["theme"]) - {NO_THEME}, key=lambda t: (t.casefold(), t))
    sizes = _sizes_by_key(current, "dimension_id")
    views = {dim: visibility_from_sizes(sizes.get(dim, {}), theme) for dim in all_dims}
    group = current if theme is None else current[current["theme"] == theme]

    if theme is None:
        regions, national = base["regions"], base["national"]
        protected = {"regions": _complementary(sizes, all_dims, views), "national": []}
    else:
        regions, national, protected = _filtered_table(
            group, [b["region"] for b in base["regions"]], all_dims, views)

    data = {
        "period": base["period"],
        "questionnaire": base["questionnaire"],
        "theme": theme,
        "themes": themes,
        "stage_threshold": questionnaire.stage_threshold,
        "dimensions": all_dims,
        "regions": regions,
        "national": national,
        "protected": protected,
        "stages": None,
        "distribution": {},
        "funnel": {},
        "trends": {},
    }
    if questionnaire.stage_dimensions:
        stages = stage_frame(session, period.id, qrow.id, networks)
        names = sorted({b["region"] for b in base["regions"]} | set(stages["region"]))
        data["stages"] = _stages(stages, names, theme)
    for dim in chart_dims:
        scores = group[group["dimension_id"] == dim]
        data["distribution"][dim] = _distribution(scores, views[dim])
        data["funnel"][dim] = _funnel(scores, views[dim])
    if chart_dims:
        data["trends"] = _trends(session, qrow.id, period, current, chart_dims, theme, networks)
    return data


def _complementary(sizes: Mapping[str, Mapping[tuple[str, str], int]], dims: list[str],
                   views: Mapping[str, Visibility]) -> dict[str, list[str]]:
    """Region cells of MIN_NETWORKS or more that rule 13a withholds: region -> dimensions."""
    protected: dict[str, list[str]] = {}
    for dim in dims:
        per_region: dict[str, int] = defaultdict(int)
        for (region, _theme), n in sizes.get(dim, {}).items():
            per_region[region] += n
        for region in sorted(per_region):
            if per_region[region] >= MIN_NETWORKS and not views[dim].shows(region):
                protected.setdefault(region, []).append(dim)
    return protected


def _filtered_table(group: pd.DataFrame, region_names: list[str], dims: list[str],
                    views: Mapping[str, Visibility]):
    cells = _split(group, ["region", "dimension_id"])
    national_cells = _split(group, ["dimension_id"])
    networks = group.groupby("region")["network_id"].nunique().to_dict() if len(group) else {}
    protected: dict = {"regions": {}, "national": []}
    empty = np.array([], dtype="float64")

    def block(region: str | None) -> dict:
        shown = {}
        for dim in dims:
            scores = (national_cells.get((dim,), empty) if region is None
                      else cells.get((region, dim), empty))
            if views[dim].shows(region) and len(scores) >= MIN_NETWORKS:
                shown[dim] = _cell(scores)
            else:
                shown[dim] = None
                if len(scores) >= MIN_NETWORKS:
                    target = (protected["national"] if region is None
                              else protected["regions"].setdefault(region, []))
                    target.append(dim)
        count = (int(group["network_id"].nunique()) if region is None
                 else int(networks.get(region, 0)))
        return {"networks": count, "dimensions": shown}

    regions = [{"region": name, **block(name)} for name in region_names]
    return regions, block(None), protected


def _stages(frame: pd.DataFrame, region_names: list[str], theme: str | None) -> dict:
    """Networks at each stage reached (0..4) per region and nationally."""
    view = visibility(frame, theme)
    group = frame if theme is None else frame[frame["theme"] == theme]

    def row(part: pd.DataFrame, region: str | None) -> dict:
        counts = part["stage"].value_counts().reindex(STAGES, fill_value=0)
        return {
            "networks": int(len(part)),
            "counts": [int(c) for c in counts] if view.shows(region) else None,
        }

    by_region = dict(tuple(group.groupby("region"))) if not group.empty else {}
    empty = group.iloc[0:0]
    return {
        "regions": [{"region": name, **row(by_region.get(name, empty), name)}
                    for name in region_names],
        "national": row(group, None),
    }


def _distribution(scores: pd.DataFrame, view: Visibility) -> list[dict]:
    """The networks' scores per shown region, sorted: the dots of the strip plot."""
    return [
        {"region": region, "scores": sorted(round1(s) for s in values)}
        for (region,), values in sorted(_split(scores, ["region"]).items())
        if view.shows(region)
    ]


def funnel_limits(mean: float, sd: float, organizations: Iterable[int]) -> list[dict]:
    """Control limits mean ± z·sd/√n for each n, clipped to 0..100 (see methodology)."""
    rows = []
    for n in organizations:
        half95, half998 = Z95 * sd / math.sqrt(n), Z998 * sd / math.sqrt(n)
        rows.append({
            "organizations": int(n),
            "lower95": round1(max(0.0, mean - half95)),
            "upper95": round1(min(100.0, mean + half95)),
            "lower998": round1(max(0.0, mean - half998)),
            "upper998": round1(min(100.0, mean + half998)),
        })
    return rows


def pooled_sd(organizations: pd.Series, sd: pd.Series) -> float | None:
    """√(Σ(mᵢ−1)·sᵢ² / Σ(mᵢ−1)) over networks with 2+ organisations: the spread of
    organisation scores within a network, i.e. between its organisations."""
    usable = sd.notna() & (organizations >= 2)
    weights = (organizations[usable] - 1).astype("float64")
    if weights.sum() <= 0:
        return None
    return float(math.sqrt(float((weights * sd[usable] ** 2).sum() / weights.sum())))


def _funnel(scores: pd.DataFrame, view: Visibility) -> dict | None:
    """Funnel plot data: national mean, pooled sd, limits, and the shown networks' points."""
    if not view.national or scores.empty:
        return None
    mean = float(scores["score"].mean())
    sd = pooled_sd(scores["organizations"], scores["sd"])
    drawn = scores[scores["region"].isin(view.regions)]
    points = []
    counts = {"above998": 0, "above95": 0, "inside": 0, "below95": 0, "below998": 0}
    for n, score in sorted(zip(drawn["organizations"], drawn["score"], strict=True)):
        band = "inside"
        if sd is not None:
            gap = settle(score - mean)
            spread = sd / math.sqrt(n)
            if gap > Z998 * spread:
                band = "above998"
            elif gap > Z95 * spread:
                band = "above95"
            elif gap < -Z998 * spread:
                band = "below998"
            elif gap < -Z95 * spread:
                band = "below95"
        counts[band] += 1
        points.append({"organizations": int(n), "score": round1(score), "band": band})
    top = max([p["organizations"] for p in points] + [2])
    return {
        "networks": int(len(scores)),
        "drawn": len(points),
        "mean": round1(mean),
        "sd": round1(sd),
        "limits": funnel_limits(mean, sd, range(1, top + 1)) if sd is not None else [],
        "points": points,
        "counts": counts,
    }


def _trends(session: Session, questionnaire_id: int, period: Period, current: pd.DataFrame,
            dims: list[str], theme: str | None, networks: pd.DataFrame) -> dict:
    """National and regional medians over the periods up to this one, per dimension."""
    periods = _trend_periods(session, questionnaire_id, period)
    earlier = [p for p in periods if p.id != period.id]
    for p in earlier:
        _refresh_stale_rounds(session, p.id, questionnaire_id)
    parts = [current[current["dimension_id"].isin(dims)]]
    if earlier:
        parts.append(score_frame(session, [p.id for p in earlier], questionnaire_id, dims,
                                 networks))
    parts = [part for part in parts if not part.empty]
    history = pd.concat(parts, ignore_index=True) if parts else current.iloc[0:0]
    labels = [p.label for p in periods]
    sizes = {
        (period_id, dim): part
        for (period_id, dim), part in (
            ((pid, dim), s) for pid, by_dim in _sizes_by_period(history).items()
            for dim, s in by_dim.items())
    }
    group = history if theme is None else history[history["theme"] == theme]
    national_scores = _split(group, ["period_id", "dimension_id"])
    regional_scores = _split(group, ["period_id", "dimension_id", "region"])
    result = {}
    for dim in dims:
        regions = sorted(set(history.loc[history["dimension_id"] == dim, "region"]))
        national: dict[str, list] = {"median": [], "p25": [], "p75": []}
        medians: dict[str, list] = {region: [] for region in regions}
        for p in periods:
            view = visibility_from_sizes(sizes.get((p.id, dim), {}), theme)
            values = national_scores.get((p.id, dim))
            shown = view.national and values is not None and len(values) >= MIN_NETWORKS
            p25, p75 = np.quantile(values, [0.25, 0.75]) if shown else (None, None)
            national["median"].append(round1(np.median(values)) if shown else None)
            national["p25"].append(round1(p25))
            national["p75"].append(round1(p75))
            for region in regions:
                values = regional_scores.get((p.id, dim, region))
                medians[region].append(
                    round1(np.median(values))
                    if values is not None and view.shows(region) and len(values) >= MIN_NETWORKS
                    else None)
        result[dim] = {
            "periods": labels,
            "national": national["median"],
            "national_p25": national["p25"],
            "national_p75": national["p75"],
            "regions": [{"region": region, "medians": medians[region]} for region in regions
                        if any(m is not None for m in medians[region])],
        }
    return result


def _sizes_by_period(frame: pd.DataFrame) -> dict[int, dict[str, dict]]:
    if frame.empty:
        return {}
    return {int(pid): _sizes_by_key(part, "dimension_id")
            for pid, part in frame.groupby("period_id")}


# -- the regional view -------------------------------------------------------------------------


def anonymous_label(index: int) -> str:
    """A, B, ..., Z, AA, AB, ...: spreadsheet-style letters for anonymised networks."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def regional_overview(
    session: Session,
    region: Region,
    period_label: str,
    questionnaire_slug: str,
    version: int | None = None,
    *,
    shows_name: Callable[[Network], bool],
    readable: set[int] | None,
) -> dict:
    """One region's networks side by side, against the national distribution.

    Closed, unsuppressed rounds only. ``shows_name(network)`` decides whether the viewer
    sees a network's name (else "Network A", "B", ... in order of overall score, best
    first); ``readable`` holds the network ids whose report the viewer may open (None:
    every network). Networks below the stage threshold come with practice suggestions.
    """
    from .practices import suggestions_for_rounds

    base = national_report(session, period_label, questionnaire_slug, version)
    period = session.scalar(select(Period).where(Period.label == period_label))
    qrow = find_version(session, questionnaire_slug, base["questionnaire"]["version"])
    questionnaire = definition_of(qrow)
    threshold = questionnaire.stage_threshold
    dims = [d.id for d in questionnaire.dimensions]

    rounds = session.execute(
        select(Round, Network, RoundSummary)
        .join(Network, Round.network_id == Network.id)
        .outerjoin(RoundSummary, RoundSummary.round_id == Round.id)
        .where(Network.region_id == region.id, Round.period_id == period.id,
               Round.questionnaire_id == qrow.id)
    ).all()
    comparable = [
        (round_, network, summary) for round_, network, summary in rounds
        if round_.state == CLOSED and summary is not None and not summary.suppressed
        and summary.data_version == round_.data_version
    ]
    results: dict[int, dict[str, RoundDimensionResult]] = defaultdict(dict)
    if comparable:
        for row in session.scalars(select(RoundDimensionResult).where(
                RoundDimensionResult.round_id.in_([r.id for r, _n, _s in comparable]))):
            results[row.round_id][row.dimension_id] = row

    stage_dims = {d.stage: d.id for d in questionnaire.stage_dimensions}
    networks = []
    for round_, network, summary in comparable:
        scores = {dim: (round1(results[round_.id][dim].score)
                        if dim in results[round_.id] else None) for dim in dims}
        below = [
            dim for dim in dims
            if dim in results[round_.id] and results[round_.id][dim].score is not None
            and settle(results[round_.id][dim].score) < threshold
        ]
        gap = None
        if summary.stage_reached is not None and summary.stage_reached < len(stage_dims):
            next_stage = summary.stage_reached + 1
            gap = {"stage": next_stage, "dimension": stage_dims[next_stage],
                   "score": scores.get(stage_dims[next_stage])}
        named = shows_name(network)
        networks.append({
            "network_id": network.id if named else None,
            "name": network.name if named else None,
            "theme": network.theme if named else None,
            "label": None,
            "round_id": round_.id if named and (readable is None or network.id in readable)
            else None,
            "respondents": summary.respondents if named else None,
            "organizations": summary.organizations if named else None,
            "overall": round1(summary.overall),
            "stage_reached": summary.stage_reached,
            "scores": scores,
            "below": below,
            "next_stage": gap,
            "suggestions": {},
            "_round": round_,
            "_overall": summary.overall,
        })
    networks.sort(key=lambda n: (-(n["_overall"] if n["_overall"] is not None else -1),
                                 n["name"] or "", n["_round"].id))
    for position, row in enumerate(r for r in networks if r["name"] is None):
        row["label"] = anonymous_label(position)

    suggestions = suggestions_for_rounds(
        session, [(row["_round"], row["below"]) for row in networks if row["below"]]
    )
    for row in networks:
        row["suggestions"] = {dim: found for dim, found in
                              suggestions.get(row["_round"].id, {}).items() if found}
    support = sorted(
        (row for row in networks if row["below"]),
        key=lambda r: (r["stage_reached"] if r["stage_reached"] is not None else 99,
                       -len(r["below"]),
                       r["_overall"] if r["_overall"] is not None else 100,
                       r["label"] or r["name"] or ""),
    )
    for row in networks:
        row.pop("_overall")
        row.pop("_round")

    region_block = next((b for b in base["regions"] if b["region"] == region.name), None)
    stage_counts = [0] * 5
    for row in networks:
        if row["stage_reached"] is not None:
            stage_counts[row["stage_reached"]] += 1
    return {
        "region": {"id": region.id, "name": region.name, "code": region.code},
        "period": base["period"],
        "questionnaire": base["questionnaire"],
        "stage_threshold": threshold,
        "has_stages": bool(stage_dims),
        "dimensions": dims,
        "networks": networks,
        "support": support,
        "without_results": len(rounds) - len(comparable),
        "region_cells": region_block["dimensions"] if region_block else dict.fromkeys(dims),
        "national": base["national"],
        "stage_counts": stage_counts if stage_dims else None,
    }


# -- instrument quality ------------------------------------------------------------------------


def _round2(value: float | None) -> float | None:
    """Coefficients (alpha, r) with two decimals, halves up, like round1 does for scores."""
    rounded = round1(None if value is None else value * 10)
    return None if rounded is None else round(rounded / 10, 2)


def _plain_rows(session: Session, statement) -> list[tuple]:
    """Rows as plain tuples straight from the driver: for the hundreds of thousands of
    answers of a period, Row objects (and pandas probing them) cost more than the query."""
    connection = session.connection()
    sql = str(statement.compile(dialect=connection.dialect,
                                compile_kwargs={"literal_binds": True}))
    result = connection.exec_driver_sql(sql)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _instrument_version(session: Session, period_id: int, questionnaire_id: int) -> str:
    """Changes whenever a response of the period changes (rounds raise data_version)."""
    rounds, versions = session.execute(
        select(func.count(Round.id), func.coalesce(func.sum(Round.data_version), 0))
        .where(Round.period_id == period_id, Round.questionnaire_id == questionnaire_id)
    ).one()
    return f"instrument-1:{rounds}:{versions}"


def instrument_report(
    session: Session, period_label: str, questionnaire_slug: str, version: int | None = None,
    default_k: int = 5,
) -> dict:
    """Alpha, item-total correlations, distributions and don't-know rates of one period.

    Over every submitted response of the period and questionnaire version (open and
    suppressed rounds included: the figures are about the questions, pooled nationally).
    Nothing is shown when the period has fewer than k responses in all. One SQL query;
    the result is kept in RenderedReport until a response of the period changes (the
    caller commits).
    """
    period = session.scalar(select(Period).where(Period.label == period_label))
    if period is None:
        raise NationalError(f"There is no period '{period_label}'.")
    qrow = find_version(session, questionnaire_slug, version)
    questionnaire = definition_of(qrow)
    k = questionnaire.suppression_threshold(default_k)
    key = f"instrument:{period.id}:{qrow.id}:{k}"
    data_version = _instrument_version(session, period.id, qrow.id)
    cached = session.get(RenderedReport, key)
    if cached is not None and cached.data_version == data_version:
        return json.loads(cached.body.decode("utf-8"))

    rows = _plain_rows(session, (
        select(Response.id, Answer.item_id, Answer.value, Answer.dont_know)
        .select_from(Response)
        .join(Round, Response.round_id == Round.id)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(Round.period_id == period.id, Round.questionnaire_id == qrow.id,
               Response.status == SUBMITTED)
    ))
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    answers = pd.DataFrame({
        "response_id": np.asarray(columns[0], dtype="int64"),
        "item_id": pd.Series(columns[1], dtype="object"),
        "value": pd.to_numeric(pd.Series(columns[2], dtype="object"), errors="coerce")
        .astype("float64"),
        "dont_know": pd.Series(columns[3], dtype="object").fillna(False).astype(bool),
    })
    responses = int(answers["response_id"].nunique())
    report = {
        "period": period.label,
        "questionnaire": {"id": qrow.slug, "version": qrow.version},
        "responses": responses,
        "min_respondents": k,
        "scale": [questionnaire.scale.min, questionnaire.scale.max],
        "thresholds": {"alpha": instrument.ALPHA_THRESHOLD,
                       "item_total": instrument.ITEM_TOTAL_THRESHOLD},
        "suppressed": responses < k,
        "dimensions": [],
    }
    if not report["suppressed"]:
        for dim in instrument.assess_instrument(answers, questionnaire):
            report["dimensions"].append({
                **dim,
                "alpha": _round2(dim["alpha"]),
                "items": [
                    {**item, "item_total": _round2(item["item_total"]),
                     "dont_know_rate": round1(100 * item["dont_know_rate"])
                     if item["dont_know_rate"] is not None else None,
                     "distribution": {str(v): c for v, c in item["distribution"].items()}}
                    for item in dim["items"]
                ],
            })
    _keep(session, key, data_version, "application/json",
          json.dumps(report, ensure_ascii=False).encode("utf-8"))
    return report


def _keep(session: Session, key: str, version: str, content_type: str, body: bytes) -> None:
    """Store a rendered result; a concurrent writer of the same key simply wins."""
    keep_rendered(session, key, version, content_type, body)


# -- presentation: what the page and the PDF draw -----------------------------------------------

#: (row, column) of each wellbeing services county on a 6 x 5 tile grid shaped like Finland.
TILE_POSITIONS = {
    "LAP": (1, 3),
    "KP": (2, 2), "PP": (2, 3), "KAI": (2, 4),
    "POH": (3, 1), "EP": (3, 2), "KS": (3, 3), "PS": (3, 4), "PK": (3, 5),
    "SATA": (4, 1), "PIR": (4, 2), "PH": (4, 3), "ES": (4, 4), "EK": (4, 5),
    "VS": (5, 1), "KH": (5, 2), "KU": (5, 3), "ITU": (5, 4), "KYM": (5, 5),
    "LU": (6, 2), "HEL": (6, 3), "VAKE": (6, 4),
}
TILE_COLUMNS = 5


def _abbreviation(name: str, taken: set) -> str:
    """A short label for a region without a code: its words' initials, unique on the map
    ("Etelä-Karjala" EK and "Etelä-Pohjanmaa" EP, where the first letters would not do)."""
    words = [w for w in re.split(r"[\s\-–]+", name) if w]
    base = "".join(w[0] for w in words).upper()[:4] if len(words) > 1 else name[:4]
    label, number = base, 2
    while label in taken:
        label, number = f"{base}{number}", number + 1
    taken.add(label)
    return label


def tile_map(data: dict, dimension_id: str, regions: Mapping[str, dict]) -> list[dict]:
    """One tile per region, placed like the map, with the median of ``dimension_id``.

    ``regions``: region_lookup(). State "value" (coloured by the median's maturity
    level), "suppressed" (a group too small to show) or "empty" (no comparable network).
    Regions without a known code follow in rows below the map.
    """
    blocks = {b["region"]: b for b in data["regions"]}
    tiles, extra = [], 0
    taken = {info.get("code") for info in regions.values() if info.get("code")}
    for name, info in sorted(regions.items(), key=lambda pair: pair[0]):
        code = info.get("code")
        position = TILE_POSITIONS.get(code) if code else None
        code = code or _abbreviation(name, taken)  # a made-up label is never a map place
        if position is None:
            position = (7 + extra // TILE_COLUMNS, 1 + extra % TILE_COLUMNS)
            extra += 1
        block = blocks.get(name)
        cell = block["dimensions"].get(dimension_id) if block else None
        networks = block["networks"] if block else 0
        state = "value" if cell else ("suppressed" if networks else "empty")
        tiles.append({
            "name": name, "code": code, "region_id": info.get("id"),
            "row": position[0], "col": position[1], "state": state,
            "median": cell["median"] if cell else None,
            "level": scoring.level_for(cell["median"]) if cell else None,
            "networks": networks,
        })
    return sorted(tiles, key=lambda t: (t["row"], t["col"]))


def chart_set(data: dict, dimension_id: str, title: str,
              trend: bool = True) -> dict[str, str | None]:
    """The dashboard's charts of one dimension as SVG strings (None: nothing to draw).

    The PDF leaves out the trend chart (its table has the figures; every chart costs
    WeasyPrint a few tenths of a second).
    """
    from flask_babel import gettext as _

    from ..reports import national_charts as charts

    blocks = {b["region"]: b for b in data["regions"]}
    national = data["national"]["dimensions"].get(dimension_id)
    rows = [
        {"label": row["region"], "scores": row["scores"],
         **{k: blocks[row["region"]]["dimensions"][dimension_id][k]
            for k in ("p25", "median", "p75")}}
        for row in data["distribution"].get(dimension_id, [])
        if blocks.get(row["region"]) and blocks[row["region"]]["dimensions"].get(dimension_id)
    ]
    result: dict[str, str | None] = {"distribution": None, "stages": None, "funnel": None,
                                     "trend": None}
    score_label = _("%(dimension)s, score 0–100", dimension=title)
    if rows:
        result["distribution"] = charts.distribution_chart(
            rows, national, score_label=score_label,
            national_label=_("Whole country: median and p25–p75"),
            threshold=data["stage_threshold"])
    stages = data.get("stages")
    if stages:
        stage_rows = [{"label": r["region"], "counts": r["counts"]}
                      for r in stages["regions"] if r["counts"]]
        if stages["national"]["counts"]:
            stage_rows.append({"label": _("Whole country"),
                               "counts": stages["national"]["counts"]})
        if stage_rows:
            result["stages"] = charts.stage_chart(
                stage_rows, [_("Stage %(stage)d", stage=s) if s else _("Not yet stage 1")
                             for s in STAGES],
                share_label=_("Share of networks, %"))
    funnel = data["funnel"].get(dimension_id)
    if funnel and funnel["points"]:
        result["funnel"] = charts.funnel_chart(
            funnel, x_label=_("Organisations with a score (n)"), y_label=_("Score 0–100"),
            mean_label=_("National mean"), limit95_label=_("95 % limits"),
            limit998_label=_("99.8 % limits"))
    series = data["trends"].get(dimension_id) if trend else None
    if series and any(v is not None for v in series["national"]):
        result["trend"] = charts.trend_chart(
            [readable_period(p) for p in series["periods"]],
            [{"label": _("National median"), "values": series["national"], "emphasis": True}],
            y_label=_("Score 0–100"), band=(series["national_p25"], series["national_p75"]),
            band_label=_("p25–p75"))
    return result


def cached_chart_set(data: dict, dimension_id: str, title: str, lang: str,
                     trend: bool = True, session: Session | None = None
                     ) -> dict[str, str | None]:
    """chart_set, kept in RenderedReport for the same figures, title and language.

    Drawing a dimension's charts at 2,000 networks takes about a second; the figures
    change only when a round does. Keyed by what is shown (period, questionnaire,
    theme, dimension, language), valid while a digest of everything drawn is the same,
    so a kept SVG is never stale and each view keeps one row; every worker and host
    shares it (the caller commits). Without a session the charts are drawn.
    """
    payload = json.dumps(
        # The renderer digest: a new translation or label redraws the kept charts too.
        [CHARTS_FORMAT, _page_renderer_digest(), data["regions"], data["national"],
         data["stages"],
         data["stage_threshold"], data["distribution"].get(dimension_id),
         data["funnel"].get(dimension_id), data["trends"].get(dimension_id),
         dimension_id, title, lang, trend],
        sort_keys=True, ensure_ascii=False,
    )
    what = json.dumps([data.get("period"), data.get("questionnaire"), data.get("theme"),
                       dimension_id, lang, trend], ensure_ascii=False)
    key = "national-charts:" + hashlib.sha256(what.encode()).hexdigest()[:48]
    version = hashlib.sha256(payload.encode()).hexdigest()[:48]
    if session is not None:
        cached = session.get(RenderedReport, key)
        if cached is not None and cached.data_version == version:
            return _svg_markup(json.loads(cached.body.decode("utf-8")))
    charts = chart_set(data, dimension_id, title, trend)
    if session is not None:
        keep_rendered(session, key, version, "application/json",
                      json.dumps(charts, ensure_ascii=False).encode("utf-8"))
    return _svg_markup(charts)


def _svg_markup(charts: dict[str, str | None]) -> dict:
    """The charts as Markup, so that templates inline them without `|safe`.

    Safe to mark: national_charts draws every label (region names, titles) as glyph paths
    (svg.fonttype "path"), and matplotlib escapes the one place their text remains, the
    XML comment before each label (tests/security checks a hostile region name).
    """
    from markupsafe import Markup

    return {name: Markup(svg) if svg else None  # noqa: S704 - our own SVG, see above
            for name, svg in charts.items()}


#: Files whose change changes the dashboard page's content: part of its cache version.
PAGE_RENDERER_FILES = (
    "templates/national/_dashboard.html",
    "templates/national/_macros.html",
    "templates/national/_tiles.html",
    "templates/reports/_chart.html",
    "assess/reports/national_charts.py",
    "assess/i18n.py",
    "assess/labels.py",
    "assess/translations/en/LC_MESSAGES/messages.mo",
    "assess/translations/fi/LC_MESSAGES/messages.mo",
    "assess/translations/sv/LC_MESSAGES/messages.mo",
)


def _files_digest(seed: str, names: tuple[str, ...]) -> str:
    """Digest of a format version and the deployed files that render something."""
    from .. import PROJECT_ROOT

    digest = hashlib.sha256(seed.encode())
    for name in names:
        path = PROJECT_ROOT / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _page_renderer_digest() -> str:
    """Digest of the deployed templates and catalogs (they change only with a deploy)."""
    return _files_digest(CHARTS_FORMAT, PAGE_RENDERER_FILES)


def cached_page(session: Session, what: list, inputs: list, render: Callable[[], str]) -> str:
    """A rendered page fragment from RenderedReport, or ``render()``ed and kept.

    ``what`` names the view (the key); ``inputs`` is everything the fragment shows
    (figures, selection, language): its digest, with the templates', is the version,
    so a kept fragment is never stale. For the dashboard, whose content depends on no
    user: drawing and formatting it costs more than the figures (the caller commits).
    """
    key = "national-page:" + hashlib.sha256(
        json.dumps(what, ensure_ascii=False, default=str).encode()).hexdigest()[:48]
    version = hashlib.sha256((_page_renderer_digest() + json.dumps(
        inputs, sort_keys=True, ensure_ascii=False, default=str)).encode()).hexdigest()[:48]
    cached = session.get(RenderedReport, key)
    if cached is not None and cached.data_version == version:
        return cached.body.decode("utf-8")
    body = render()
    keep_rendered(session, key, version, "text/html", body.encode("utf-8"))
    return body


def dimension_titles(questionnaire_slug: str, version: int, session: Session,
                     lang: str) -> dict[str, str]:
    qrow = find_version(session, questionnaire_slug, version)
    definition = definition_of(qrow)
    return {d.id: localized(d.title, lang, definition.default_language)
            for d in definition.dimensions}


def _tile_css() -> str:
    """The tile map's palette from static/assess.css, so screen and paper colours agree."""
    import re

    from ..reports.pdf import STATIC_DIR

    text = (STATIC_DIR / "assess.css").read_text(encoding="utf-8")
    rules = re.findall(r"^\.tile-(?:level-\d|state-suppressed|state-empty)[^{]*\{[^}]*\}", text,
                       flags=re.M)
    return "\n".join(rules) + "\n"


def render_national_pdf(session: Session, data: dict, lang: str) -> bytes:
    """The national report as PDF, in the leaders' report's look: cover, contents, page
    numbers; the tables, tile maps and charts of every dimension.

    Renders ``data`` (national_dashboard with every dimension) in ``lang`` through the
    app's templates and the safe PDF renderer. Needs an app context.
    """
    from flask import current_app, render_template
    from flask_babel import force_locale
    from markupsafe import Markup

    from ..db import utcnow
    from ..reports.pdf import render_pdf
    from .report_render import page_counter_css, print_css

    titles = dimension_titles(data["questionnaire"]["id"], data["questionnaire"]["version"],
                              session, lang)
    lookup = region_lookup(session)
    with current_app.test_request_context(), force_locale(lang):
        sections = [
            {"id": dim, "title": titles[dim], "tiles": tile_map(data, dim, lookup),
             "charts": cached_chart_set(data, dim, titles[dim], lang, trend=False,
                                        session=session)}
            for dim in data["dimensions"]
        ]
        national_css = _tile_css() + render_template("national/pdf/report.css")
        html = render_template(
            "national/pdf/report.html", data=data, titles=titles, sections=sections,
            stage_charts=sections[0]["charts"]["stages"] if sections else None,
            generated=utcnow().date(), lang=lang,
            print_css=Markup(print_css()),  # noqa: S704 - our own stylesheet file
            page_counter=Markup(page_counter_css()),  # noqa: S704 - escaped there
            national_css=Markup(national_css),  # noqa: S704 - our own stylesheets
        )
    return render_pdf(html)


# -- the PDF -----------------------------------------------------------------------------------


#: Files whose change changes the national PDF; their digest is part of the cache version.
PDF_RENDERER_FILES = (
    "templates/national/pdf/report.html",
    "templates/national/pdf/report.css",
    "templates/national/pdf/_tiles.html",
    "static/report-print.css",
    "static/assess.css",
    "assess/reports/national_charts.py",
    "assess/i18n.py",
    "assess/labels.py",
    "assess/translations/en/LC_MESSAGES/messages.mo",
    "assess/translations/fi/LC_MESSAGES/messages.mo",
    "assess/translations/sv/LC_MESSAGES/messages.mo",
)


@lru_cache(maxsize=1)
def _renderer_digest() -> str:
    return _files_digest(PDF_LAYOUT_VERSION, PDF_RENDERER_FILES)


def _cache_key(data: dict, lang: str) -> tuple[str, str]:
    """(key, version) of a rendered national PDF: the key names what it shows; the version
    hashes the figures and the renderer's files, so any change renders a new PDF."""
    what = json.dumps([data["period"], data["questionnaire"], data["theme"], lang],
                      ensure_ascii=False)
    key = "national:" + hashlib.sha256(what.encode()).hexdigest()[:40] + f":pdf:{lang}"
    figures = json.dumps([_renderer_digest(), data], sort_keys=True, ensure_ascii=False)
    return key, hashlib.sha256(figures.encode()).hexdigest()


def national_pdf(session: Session, data: dict, lang: str, render: Callable[[], bytes]) -> bytes:
    """The national report PDF from the cache, or ``render()``ed and kept (the caller commits).

    Kept in RenderedReport keyed by what it shows and valid while the figures are the same.
    """
    key, version = _cache_key(data, lang)
    cached = session.get(RenderedReport, key)
    if cached is not None and cached.data_version == version:
        return cached.body
    body = render()
    _keep(session, key, version, "application/pdf", body)
    return body


def count_rendered(session: Session) -> int:
    """Rendered national PDFs kept (for tests and housekeeping)."""
    return session.scalar(select(func.count()).select_from(RenderedReport).where(
        RenderedReport.key.like("national:%")))


__all__ = [
    "MIN_NETWORKS",
    "NationalError",
    "Visibility",
    "audit_theme_cells",
    "default_period",
    "funnel_limits",
    "instrument_report",
    "national_dashboard",
    "national_pdf",
    "periods_newest_first",
    "pooled_sd",
    "questionnaire_versions",
    "region_lookup",
    "regional_overview",
    "visibility",
]
