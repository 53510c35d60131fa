"""The report and national JSON: the single source every page, PDF and export renders."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, time

import pandas as pd
from sqlalchemy import BigInteger, cast, delete, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from .. import scoring
from ..db import utcnow
from ..models import (
    Answer,
    ComparisonVersion,
    Invitation,
    Network,
    NetworkBenchmark,
    Organization,
    OrganizationScore,
    Period,
    QuestionnaireVersion,
    Region,
    RenderedReport,
    Response,
    Round,
    RoundDimensionResult,
    RoundItemStat,
    RoundSummary,
)
from ..models.survey import CLOSED, SUBMITTED
from ..questionnaire import localized
from ..scoring import round1, settle
from ..scoring.agreement import agreement_by_type
from ..scoring.comparisons import round_trends
from .questionnaires import definition_of
from .results import ensure_current, insert_frame
from .targets import report_targets

#: Open-text answers are listed only for rounds with at least this many respondents, so
#: that a text is less easily traced to the one person who could have written it.
OPEN_ANSWERS_MIN_RESPONDENTS = 10
#: A region's median is shown only when that many of its networks have a score (rule 13).
MIN_REGION_NETWORKS = 3


class ReportError(LookupError):
    """The report cannot be made: an unknown network, period or questionnaire."""


def period_start(period: Period) -> datetime:
    """Periods order by their start; one made by an import starts at its first submission."""
    if period.starts_on is not None:
        return datetime.combine(period.starts_on, time.min)
    if period.first_submitted_at is not None:
        return period.first_submitted_at
    return datetime.max


def find_round(
    session: Session, network_name: str, period_label: str, questionnaire_slug: str | None = None
) -> Round:
    network = session.scalar(select(Network).where(Network.name == network_name))
    if network is None:
        raise ReportError(f"There is no network named '{network_name}'.")
    period = session.scalar(select(Period).where(Period.label == period_label))
    if period is None:
        raise ReportError(f"There is no period '{period_label}'.")
    query = (
        select(Round)
        .join(QuestionnaireVersion)
        .where(Round.network_id == network.id, Round.period_id == period.id)
    )
    if questionnaire_slug:
        query = query.where(QuestionnaireVersion.slug == questionnaire_slug)
    rounds = list(session.scalars(query.order_by(QuestionnaireVersion.version.desc())))
    if not rounds:
        raise ReportError(f"The network '{network_name}' has no round in {period_label}.")
    slugs = {r.questionnaire.slug for r in rounds}
    if len(slugs) > 1:
        raise ReportError(
            f"The network answered several questionnaires in {period_label} "
            f"({', '.join(sorted(slugs))}); choose one with --questionnaire."
        )
    return rounds[0]


def network_report(session: Session, round_: Round, lang: str | None = None, default_k: int = 5):
    """The maturity report of one round as plain data (see docs/methodology.md)."""
    questionnaire = definition_of(round_.questionnaire)
    lang = lang if lang in questionnaire.languages else questionnaire.default_language
    summary = ensure_current(session, round_, default_k)
    network = round_.network
    shows_scores = round_.state == CLOSED and not summary.suppressed
    report = {
        "network": network.name,
        "region": network.region.name,
        "period": round_.period.label,
        "questionnaire": {"id": questionnaire.id, "version": questionnaire.version},
        "state": round_.state,
        "language": lang,
        "min_respondents": questionnaire.suppression_threshold(default_k),
        "respondents": summary.respondents,
        "organizations": summary.organizations,
        "suppressed": summary.suppressed,
        **_response_rate(session, round_),
        "overall": round1(summary.overall) if shows_scores else None,
        "stage_reached": summary.stage_reached if shows_scores else None,
        "dimensions": [],
        "recommendations": [],
        # Added for the leaders' report (page, PDF, exports):
        "open_answers": {},
        "open_answers_shown": False,
        "open_answers_min_respondents": OPEN_ANSWERS_MIN_RESPONDENTS,
    }
    if not shows_scores:
        return report

    rows = session.execute(
        select(RoundDimensionResult).where(RoundDimensionResult.round_id == round_.id)
    ).scalars()
    results = {row.dimension_id: row for row in rows}
    benchmarks, region_medians = stored_benchmarks(session, round_)
    trends, previous = _trends(session, round_, default_k)
    for dim in questionnaire.dimensions:
        row = results.get(dim.id)
        score = row.score if row else None
        bench = benchmarks.get(dim.id)
        trend = trends.get(dim.id)
        report["dimensions"].append(
            {
                "id": dim.id,
                "kind": dim.kind,
                "stage": dim.stage,
                "title": dim.title.get(lang) or dim.title[questionnaire.default_language],
                "score": round1(score),
                "level": row.level if row else None,
                "respondents": row.respondents if row else 0,
                "organizations": row.organizations if row else 0,
                "sd": round1(row.sd) if row else None,
                "ci95": [round1(row.ci_low), round1(row.ci_high)]
                if row and row.ci_low is not None
                else None,
                "benchmark": bench,
                "trend": trend
                if trend is not None
                else ({"previous_period": previous, "delta": None, "significant": False}
                      if previous else None),
                # Added for the leaders' report:
                "description": localized(dim.description, lang, questionnaire.default_language)
                or None,
                **region_medians.get(dim.id, {"region_median": None, "region_networks": 0}),
            }
        )
    report["recommendations"] = _recommendations(session, round_, questionnaire, results, lang)
    report["discuss"] = _discuss(session, round_, questionnaire, lang)
    report["agreement_by_type"] = _agreement(session, round_, report["min_respondents"])
    # Added for the leaders' report:
    report["scale"] = {"min": questionnaire.scale.min, "max": questionnaire.scale.max}
    report["stage_threshold"] = questionnaire.stage_threshold
    report["item_texts"] = {
        item.id: localized(item.text, lang, questionnaire.default_language)
        for item in questionnaire.items
    }
    if summary.respondents >= OPEN_ANSWERS_MIN_RESPONDENTS:
        report["open_answers"] = _open_answers(session, round_, questionnaire)
        report["open_answers_shown"] = True
    report["targets"] = report_targets(
        session, round_, [d.id for d in questionnaire.dimensions], results, default_k
    )
    return report


def _open_answers(session: Session, round_: Round, questionnaire) -> dict[str, list[str]]:
    """Texts of the submitted responses per text item, sorted: nothing tells who wrote which."""
    text_items = [item.id for item in questionnaire.items if not item.is_scored]
    if not text_items:
        return {}
    rows = session.execute(
        select(Answer.item_id, Answer.text)
        .join(Response, Answer.response_id == Response.id)
        .where(Response.round_id == round_.id, Response.status == SUBMITTED,
               Answer.item_id.in_(text_items), Answer.text.is_not(None))
    ).all()
    answers: dict[str, list[str]] = {item_id: [] for item_id in text_items}
    for item_id, text in rows:
        if text.strip():
            answers[item_id].append(text.strip())
    # Sorted by text, never by response: the order must not follow submission or id.
    return {item_id: sorted(texts, key=lambda t: (t.casefold(), t))
            for item_id, texts in answers.items() if texts}


def _response_rate(session: Session, round_: Round) -> dict:
    """Invitations and the share answered; null for rounds without invitations (imports)."""
    invited, answered = session.execute(
        select(func.count(Invitation.id), func.count(Invitation.answered_at))
        .where(Invitation.round_id == round_.id)
    ).one()
    return {"invited": invited,
            "response_rate": round1(100 * answered / invited) if invited else None}


def round2(value) -> float | None:
    """Item means and spreads on the answer scale (1..5) keep two decimals."""
    rounded = round1(None if value is None else value * 10)
    return None if rounded is None else round(rounded / 10, 2)


def _discuss(session: Session, round_: Round, questionnaire, lang: str) -> list[dict]:
    """The five items where the organisations' means differ most: topics to talk through."""
    rows = session.execute(
        select(RoundItemStat.item_id, RoundItemStat.dimension_id, RoundItemStat.mean,
               RoundItemStat.organization_sd, RoundItemStat.organizations)
        .where(RoundItemStat.round_id == round_.id,
               RoundItemStat.organization_sd.is_not(None),
               RoundItemStat.organizations >= 2)
    ).all()
    rows = sorted(rows, key=lambda r: (-round(r.organization_sd, 9), r.item_id))[:5]
    return [
        {
            "item": row.item_id,
            "dimension": row.dimension_id,
            "text": localized(questionnaire.item(row.item_id).text, lang,
                              questionnaire.default_language),
            "mean": round2(row.mean),
            "organization_sd": round2(row.organization_sd),
            "organizations": row.organizations,
        }
        for row in rows
    ]


def _agreement(session: Session, round_: Round, k: int) -> list[dict]:
    """Mean organisation score per actor type; types below k respondents are pooled."""
    rows = session.execute(
        select(OrganizationScore.dimension_id, OrganizationScore.organization_key,
               OrganizationScore.score, OrganizationScore.respondents)
        .where(OrganizationScore.round_id == round_.id)
    ).all()
    frame = pd.DataFrame(rows, columns=["dimension_id", "organization_key", "score",
                                        "respondents"])
    org_ids = {int(key[4:]) for key in frame["organization_key"] if key.startswith("org:")}
    types = dict(session.execute(
        select(Organization.id, Organization.type).where(Organization.id.in_(org_ids))
    ).all()) if org_ids else {}
    frame["type"] = [
        types.get(int(key[4:])) if key.startswith("org:") else None
        for key in frame["organization_key"]
    ]
    frame["score"] = frame["score"].astype(float)
    result = agreement_by_type(frame, k)
    return [
        {"dimension": row.dimension_id, "type": row.type, "score": round1(row.score),
         "organizations": int(row.organizations), "respondents": int(row.respondents)}
        for row in result.itertuples()
    ]


def _recommendations(session, round_, questionnaire, results, lang) -> list[dict]:
    dims = pd.DataFrame(
        [{"round_id": round_.id, "dimension_id": d, "score": r.score, "level": r.level}
         for d, r in results.items()],
        columns=["round_id", "dimension_id", "score", "level"],
    )
    dims["score"] = dims["score"].astype(float)
    dims["level"] = dims["level"].astype("Int64")
    stats = session.execute(
        select(RoundItemStat.item_id, RoundItemStat.mean).where(RoundItemStat.round_id == round_.id)
    ).all()
    means = pd.DataFrame(stats, columns=["item_id", "mean"])
    return scoring.recommendations(dims, means, questionnaire, lang)


def _comparable_scores(session: Session, period_id: int, questionnaire_id: int) -> pd.DataFrame:
    """Network scores of the closed, unsuppressed rounds of one period and questionnaire version."""
    rows = session.execute(
        select(
            Round.network_id,
            Network.region_id,
            Region.name,
            RoundDimensionResult.dimension_id,
            RoundDimensionResult.score,
        )
        .join(Network, Round.network_id == Network.id)
        .join(Region, Network.region_id == Region.id)
        .join(RoundSummary, RoundSummary.round_id == Round.id)
        .join(RoundDimensionResult, RoundDimensionResult.round_id == Round.id)
        .where(
            Round.period_id == period_id,
            Round.questionnaire_id == questionnaire_id,
            Round.state == CLOSED,
            RoundSummary.suppressed.is_(False),
            RoundSummary.data_version == Round.data_version,
            RoundDimensionResult.score.is_not(None),
        )
    ).all()
    frame = pd.DataFrame(
        rows, columns=["network_id", "region_id", "region", "dimension_id", "score"]
    )
    frame["score"] = frame["score"].astype(float)
    return frame


# -- stored comparisons: computed once per data change, read per report ------------------------

#: Raised when what is stored per period changes (columns, rules), so it is recomputed.
COMPARISON_FORMAT = "cmp-2"
BENCHMARK_COLUMNS = ["network_id", "dimension_id", "national_percentile", "region_percentile",
                     "national_median", "networks", "region_median", "region_networks"]
#: A top quartile among fewer networks would single networks out (rule 13).
TOP_QUARTILE_MIN_NETWORKS = 3


def comparison_version(session: Session, period_id: int, questionnaire_id: int) -> str:
    """A fingerprint of everything the period's comparison depends on, in two small queries.

    Which rounds are closed and their data_version (every submission, close, reopen and
    import raises a round's data_version: surveys._results_changed, imports), and which
    region each network is in. Only closed rounds count: submissions to open rounds leave
    it unchanged, so a wave of answering does not invalidate every report's benchmarks.
    """
    count, versions, weighted, last = session.execute(
        select(func.count(Round.id), func.coalesce(func.sum(Round.data_version), 0),
               func.coalesce(func.sum(cast(Round.id, BigInteger) * Round.data_version), 0),
               func.coalesce(func.max(Round.id), 0))
        .where(Round.period_id == period_id, Round.questionnaire_id == questionnaire_id,
               Round.state == CLOSED)
    ).one()
    networks, placed = session.execute(
        select(func.count(Network.id),
               func.coalesce(func.sum(cast(Network.id, BigInteger) * Network.region_id), 0))
    ).one()
    return f"{COMPARISON_FORMAT}:{count}:{versions}:{weighted}:{last}:{networks}:{placed}"


def benchmark_frame(scores: pd.DataFrame) -> pd.DataFrame:
    """Rule 11 per network and dimension, with its region's median (rule 13's threshold).

    One row per comparable network and per dimension its region has scores in; the rule
    11 columns are null where the network itself has no score. Unrounded.
    """
    if scores.empty:
        return pd.DataFrame(columns=BENCHMARK_COLUMNS)
    bench = scoring.benchmark(scores[["network_id", "region_id", "dimension_id", "score"]])
    settled = scores.assign(score=settle(scores["score"]))
    regions = settled.groupby(["region_id", "dimension_id"]).agg(
        region_networks=("network_id", "nunique"), region_median=("score", "median"),
    ).reset_index()
    regions["region_median"] = regions["region_median"].where(
        regions["region_networks"] >= MIN_REGION_NETWORKS)
    networks = scores[["network_id", "region_id"]].drop_duplicates()
    frame = networks.merge(regions, on="region_id").merge(
        bench.drop(columns=["region_id", "score"]), on=["network_id", "dimension_id"],
        how="left")
    frame["networks"] = frame["networks"].astype("Int64")
    return frame[BENCHMARK_COLUMNS]


def _benchmark_dicts(rows) -> tuple[dict[str, dict], dict[str, dict]]:
    """The report's benchmark and region-median entries from stored (or fresh) rows."""
    benchmarks, medians = {}, {}
    for row in rows:
        if row.networks is not None and not pd.isna(row.networks):
            benchmarks[row.dimension_id] = {
                "national_percentile": round1(row.national_percentile),
                "region_percentile": round1(row.region_percentile),
                "national_median": round1(row.national_median),
                "networks": int(row.networks),
            }
        medians[row.dimension_id] = {"region_median": round1(row.region_median),
                                     "region_networks": int(row.region_networks)}
    return benchmarks, medians


def stored_benchmarks(session: Session, round_: Round) -> tuple[dict[str, dict], dict[str, dict]]:
    """The round's benchmarks (rule 11) and region medians, as network_report shows them.

    Read from NetworkBenchmark while the period's comparison_version is the stored one (a
    few rows, flat with the number of networks); otherwise computed for every network of
    the period at once and stored for the next report (the caller commits).
    """
    period_id, questionnaire_id = round_.period_id, round_.questionnaire_id
    version = comparison_version(session, period_id, questionnaire_id)
    stored = session.scalar(select(ComparisonVersion.version).where(
        ComparisonVersion.period_id == period_id,
        ComparisonVersion.questionnaire_id == questionnaire_id))
    if stored == version:
        return _benchmark_dicts(session.scalars(select(NetworkBenchmark).where(
            NetworkBenchmark.period_id == period_id,
            NetworkBenchmark.questionnaire_id == questionnaire_id,
            NetworkBenchmark.network_id == round_.network_id)))
    frame = store_benchmarks(session, period_id, questionnaire_id, version)
    own = frame[frame["network_id"] == round_.network_id]
    return _benchmark_dicts(own.itertuples())


def top_quartile_sets(scores: pd.DataFrame) -> dict[str, set[int]]:
    """Per dimension, the networks in its national top quartile (practices' suggestions).

    At or above the dimension's 75th percentile (linear interpolation) of the comparable
    networks' unrounded scores, compared settled; a dimension with fewer than
    TOP_QUARTILE_MIN_NETWORKS networks has no top quartile.
    """
    top: dict[str, set[int]] = {}
    for dim, part in scores.groupby("dimension_id"):
        if len(part) < TOP_QUARTILE_MIN_NETWORKS:
            continue
        cut = settle(float(part["score"].quantile(0.75)))
        top[dim] = {int(n) for n, s in zip(part["network_id"], part["score"], strict=True)
                    if settle(s) >= cut}
    return top


def store_benchmarks(session: Session, period_id: int, questionnaire_id: int,
                     version: str) -> pd.DataFrame:
    """Compute every network's benchmarks of the period and keep them under ``version``.

    Stale results of closed rounds are recomputed first. A concurrent writer of the same
    period wins: its rows are the same, and this request uses what it computed. The
    frame also says which networks are in a dimension's top quartile (``top_quartile``).
    """
    _refresh_stale_rounds(session, period_id, questionnaire_id, closed_only=True)
    scores = _comparable_scores(session, period_id, questionnaire_id)
    frame = benchmark_frame(scores)
    top = top_quartile_sets(scores)
    frame["top_quartile"] = [int(n) in top.get(d, ()) for n, d in
                             zip(frame["network_id"], frame["dimension_id"], strict=True)]
    try:
        with session.begin_nested():
            session.execute(delete(NetworkBenchmark).where(
                NetworkBenchmark.period_id == period_id,
                NetworkBenchmark.questionnaire_id == questionnaire_id))
            insert_frame(session, NetworkBenchmark,
                         frame.assign(period_id=period_id, questionnaire_id=questionnaire_id),
                         ["period_id", "questionnaire_id", *BENCHMARK_COLUMNS,
                          "top_quartile"])
            row = session.get(ComparisonVersion, (period_id, questionnaire_id))
            if row is None:
                session.add(ComparisonVersion(period_id=period_id,
                                              questionnaire_id=questionnaire_id,
                                              version=version))
            else:
                row.version, row.computed_at = version, utcnow()
            session.flush()
    except DBAPIError:
        pass  # another worker stored the same period meanwhile
    except Exception as error:  # noqa: BLE001 - COPY raises the driver's own errors
        if getattr(error, "sqlstate", None) not in ("23505", "40001", "40P01"):
            raise
    return frame


def previous_round(session: Session, round_: Round) -> Round | None:
    """The same network's latest earlier closed round of the same questionnaire id."""
    candidates = session.scalars(
        select(Round)
        .join(QuestionnaireVersion)
        .where(
            Round.network_id == round_.network_id,
            Round.id != round_.id,
            Round.state == CLOSED,
            QuestionnaireVersion.slug == round_.questionnaire.slug,
        )
    ).all()
    start = period_start(round_.period)
    earlier = [r for r in candidates if period_start(r.period) < start]
    return max(earlier, key=lambda r: period_start(r.period), default=None)


def _trends(session: Session, round_: Round, default_k: int) -> tuple[dict[str, dict], str | None]:
    previous = previous_round(session, round_)
    if previous is None:
        return {}, None
    previous_summary = ensure_current(session, previous, default_k)
    if previous_summary.suppressed:
        return {}, previous.period.label
    ids = [round_.id, previous.id]
    scores: dict[int, dict[str, float | None]] = {round_.id: {}, previous.id: {}}
    for round_id, dim_id, score in session.execute(
        select(RoundDimensionResult.round_id, RoundDimensionResult.dimension_id,
               RoundDimensionResult.score).where(RoundDimensionResult.round_id.in_(ids))
    ):
        scores[round_id][dim_id] = None if score is None else float(score)
    organizations: dict[int, dict[str, list[float]]] = {round_.id: {}, previous.id: {}}
    for round_id, dim_id, score in session.execute(
        select(OrganizationScore.round_id, OrganizationScore.dimension_id,
               OrganizationScore.score).where(OrganizationScore.round_id.in_(ids))
    ):
        organizations[round_id].setdefault(dim_id, []).append(
            None if score is None else float(score))
    # Rule 12 for this one pair (scoring.trends does many pairs at once with frames).
    result = round_trends(scores[round_.id], scores[previous.id], organizations[round_.id],
                          organizations[previous.id])
    label = previous.period.label
    return {
        dim_id: {
            "previous_period": label,
            "delta": round1(row["delta"]),
            "significant": row["significant"],
        }
        for dim_id, row in result.items()
    }, label


def national_report(
    session: Session, period_label: str, questionnaire_slug: str, version: int | None = None
) -> dict:
    """Rule 13: regions x dimensions over closed, unsuppressed rounds of one period.

    Kept in RenderedReport while the period's comparison_version is the same, so a warm
    request is three small queries (the caller commits what was computed).
    """
    from .questionnaires import find_version

    period = session.scalar(select(Period).where(Period.label == period_label))
    if period is None:
        raise ReportError(f"There is no period '{period_label}'.")
    qrow = find_version(session, questionnaire_slug, version)
    key = f"national-json:{period.id}:{qrow.id}"
    regions = session.execute(select(Region.id, Region.name).order_by(Region.id)).all()
    data_version = digest(comparison_version(session, period.id, qrow.id)
                          + repr([tuple(r) for r in regions]))
    cached = session.get(RenderedReport, key)
    if cached is not None and cached.data_version == data_version:
        return json.loads(cached.body.decode("utf-8"))
    report = _national_report(session, period, qrow)
    keep_rendered(session, key, data_version, "application/json",
                  json.dumps(report, ensure_ascii=False).encode("utf-8"))
    return report


def digest(text: str) -> str:
    """A cache version from a fingerprint of any length (RenderedReport keeps 64 chars)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:48]


def keep_rendered(session: Session, key: str, version: str, content_type: str,
                  body: bytes) -> None:
    """Store a computed or rendered result for every worker and host; the caller commits.

    A concurrent writer of the same key simply wins (the content is the same).
    """
    try:
        with session.begin_nested():
            cached = session.get(RenderedReport, key)
            if cached is None:
                session.add(RenderedReport(key=key, data_version=version,
                                           content_type=content_type, body=body))
            else:
                cached.data_version, cached.body = version, body
                cached.content_type, cached.created_at = content_type, utcnow()
            session.flush()
    except IntegrityError:
        pass


def _national_report(session: Session, period: Period, qrow: QuestionnaireVersion) -> dict:
    _refresh_stale_rounds(session, period.id, qrow.id)
    scores = _comparable_scores(session, period.id, qrow.id)
    questionnaire = definition_of(qrow)
    comparison = scoring.national_comparison(
        scores[["region", "network_id", "dimension_id", "score"]]
    )
    dimension_ids = [d.id for d in questionnaire.dimensions]
    return {
        "period": period.label,
        "questionnaire": {"id": qrow.slug, "version": qrow.version},
        "regions": [
            {
                "region": block["region"],
                "networks": block["networks"],
                "dimensions": _rounded_cells(block["dimensions"], dimension_ids),
            }
            for block in comparison["regions"]
        ],
        "national": {
            "networks": comparison["national"]["networks"],
            "dimensions": _rounded_cells(comparison["national"]["dimensions"], dimension_ids),
        },
    }


def _rounded_cells(cells: dict, dimension_ids: list[str]) -> dict:
    rounded = {}
    for dim_id in dimension_ids:
        cell = cells.get(dim_id)
        rounded[dim_id] = (
            None
            if cell is None
            else {
                "networks": int(cell["networks"]),
                **{key: round1(cell[key]) for key in ("mean", "median", "p25", "p75")},
            }
        )
    return rounded


def _refresh_stale_rounds(session: Session, period_id: int, questionnaire_id: int,
                          closed_only: bool = False) -> None:
    """Recompute results of rounds whose data changed since they were computed."""
    from .results import recompute_rounds

    query = (
        select(Round.id)
        .outerjoin(RoundSummary, RoundSummary.round_id == Round.id)
        .where(
            Round.period_id == period_id,
            Round.questionnaire_id == questionnaire_id,
            (RoundSummary.round_id.is_(None)) | (RoundSummary.data_version != Round.data_version),
        )
    )
    if closed_only:
        query = query.where(Round.state == CLOSED)
    stale = session.scalars(query).all()
    if stale:
        recompute_rounds(session, stale)
        session.flush()


# -- trends over all rounds (added for the leaders' trend page) --------------------------------


def network_trend_slugs(session: Session, network_id: int) -> list[str]:
    """Questionnaire ids the network has closed rounds of, the most recently used first."""
    rounds = session.scalars(
        select(Round).where(Round.network_id == network_id, Round.state == CLOSED)
    ).all()
    latest: dict[str, datetime] = {}
    for round_ in rounds:
        start = period_start(round_.period)
        slug = round_.questionnaire.slug
        latest[slug] = max(latest.get(slug, start), start)
    return sorted(latest, key=lambda slug: (latest[slug], slug), reverse=True)


def network_trends(session: Session, network: Network, questionnaire_slug: str | None = None,
                   lang: str | None = None, default_k: int = 5) -> dict:
    """Each dimension's score over the network's closed rounds of one questionnaire id.

    Dimensions are those of the latest round's questionnaire version. A round of another
    version has a point only for the dimension ids its version has too (rule 12: a
    dimension the earlier questionnaire did not have has no trend); dimensions an older
    version had and the latest has not are left out and listed. Suppressed rounds have
    no scores (rule 5) and leave a gap.
    """
    slugs = network_trend_slugs(session, network.id)
    slug = questionnaire_slug or (slugs[0] if slugs else None)
    result = {
        "network": network.name,
        "network_id": network.id,
        "region": network.region.name,
        "questionnaire": None,
        "questionnaires": slugs,
        "language": lang,
        "rounds": [],
        "dimensions": [],
        "versions": [],
        "left_out": [],
        "not_in_every_version": [],
        "stage_threshold": None,
    }
    if slug is None or slug not in slugs:
        return result
    rounds = session.scalars(
        select(Round).join(QuestionnaireVersion).where(
            Round.network_id == network.id, Round.state == CLOSED,
            QuestionnaireVersion.slug == slug)
    ).all()
    rounds = sorted(rounds, key=lambda r: period_start(r.period))
    latest = definition_of(rounds[-1].questionnaire)
    lang = lang if lang in latest.languages else latest.default_language
    definitions = {r.questionnaire_id: definition_of(r.questionnaire) for r in rounds}
    dimension_sets = {qid: {d.id for d in q.dimensions} for qid, q in definitions.items()}
    latest_ids = [d.id for d in latest.dimensions]
    result.update(
        questionnaire={"id": slug, "version": latest.version},
        language=lang,
        versions=sorted({q.version for q in definitions.values()}),
        left_out=sorted(set().union(*dimension_sets.values()) - set(latest_ids)),
        not_in_every_version=[d for d in latest_ids
                              if any(d not in ids for ids in dimension_sets.values())],
        stage_threshold=latest.stage_threshold,
    )
    summaries = {r.id: ensure_current(session, r, default_k) for r in rounds}
    round_ids = [r.id for r in rounds]
    rows = session.execute(
        select(RoundDimensionResult).where(RoundDimensionResult.round_id.in_(round_ids))
    ).scalars()
    scores = {(row.round_id, row.dimension_id): row for row in rows}
    for round_ in rounds:
        summary = summaries[round_.id]
        result["rounds"].append({
            "round_id": round_.id,
            "period": round_.period.label,
            "version": definitions[round_.questionnaire_id].version,
            "respondents": summary.respondents,
            "suppressed": summary.suppressed,
            "overall": None if summary.suppressed else round1(summary.overall),
            "stage_reached": None if summary.suppressed else summary.stage_reached,
        })
    for dim in latest.dimensions:
        points = []
        for round_ in rounds:
            if dim.id not in dimension_sets[round_.questionnaire_id]:
                points.append(None)  # not asked in that version
                continue
            row = scores.get((round_.id, dim.id))
            shown = not summaries[round_.id].suppressed and row is not None
            points.append({
                "period": round_.period.label,
                "score": round1(row.score) if shown else None,
                "level": row.level if shown else None,
                "ci95": [round1(row.ci_low), round1(row.ci_high)]
                if shown and row.ci_low is not None else None,
            })
        result["dimensions"].append({
            "id": dim.id,
            "kind": dim.kind,
            "stage": dim.stage,
            "title": localized(dim.title, lang, latest.default_language),
            "points": points,
        })
    return result
