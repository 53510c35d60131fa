"""Good-practice examples: how a network works, written by its leader, published for others.

A practice is a draft until its leader publishes it; a draft is visible to the leaders of
its network only. ``suggest_practices`` matches published practices to a round's
recommendations: practices of networks in the national top quartile of the dimension.

A network whose leader keeps its name out of national views (``is_named_nationally``
off) publishes its practices without the network's name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import ComparisonVersion, Network, NetworkBenchmark, Practice, Region, Round, User
from .reports import TOP_QUARTILE_MIN_NETWORKS, comparison_version, store_benchmarks

PRACTICE_LANGUAGES = ("sv", "fi", "en")
#: Suggestions per dimension.
SUGGESTIONS = 3
#: A top quartile among fewer networks would single networks out (rule 13).
MIN_NETWORKS = TOP_QUARTILE_MIN_NETWORKS


class PracticeError(ValueError):
    """The practice cannot be saved; the message says why."""


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


def paragraphs(text: str | None) -> list[list[str]]:
    """``text`` as paragraphs (split at blank lines), each a list of its lines.

    Plain strings, so that the template escapes every piece and joins the lines with <br>
    and the paragraphs as <p>: the user's text itself is never marked safe.
    """
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return []
    return [[line.rstrip() for line in paragraph.split("\n")]
            for paragraph in _PARAGRAPH_BREAK.split(text)]


def led_networks(session: Session, user: User) -> list[Network]:
    ids = user.network_ids("leader") if user.is_authenticated else set()
    if not ids:
        return []
    return list(session.scalars(select(Network).where(Network.id.in_(ids)).order_by(Network.name)))


def practice_dict(practice: Practice, network: Network, region_name: str | None = None) -> dict:
    """A practice as plain data; the network is named only when its leader allows it."""
    named = network.is_named_nationally
    return {
        "id": practice.id,
        "title": practice.title,
        "body": practice.body,
        "language": practice.language,
        "network": network.name if named else None,
        "region": region_name if named else None,
        "theme": network.theme,
        "is_published": practice.is_published,
        "published_at": practice.published_at.isoformat() if practice.published_at else None,
    }


def published_practices(session: Session) -> list[dict]:
    """Every published practice, the most recently published first."""
    rows = session.execute(
        select(Practice, Network, Region.name)
        .join(Network, Practice.network_id == Network.id)
        .join(Region, Network.region_id == Region.id)
        .where(Practice.is_published.is_(True))
        .order_by(Practice.published_at.desc(), Practice.id.desc())
    ).all()
    return [practice_dict(practice, network, region) for practice, network, region in rows]


def draft_practices(session: Session, user: User) -> list[tuple[Practice, Network]]:
    """The drafts of the networks ``user`` leads: nobody else sees them."""
    ids = user.network_ids("leader")
    if not ids:
        return []
    return list(session.execute(
        select(Practice, Network)
        .join(Network, Practice.network_id == Network.id)
        .where(Practice.network_id.in_(ids), Practice.is_published.is_(False))
        .order_by(Practice.updated_at.desc(), Practice.id.desc())
    ).all())


def readable_practice(session: Session, user: User, practice_id: int) -> Practice | None:
    """The practice if ``user`` may read it: published, or a draft of a network they lead."""
    practice = session.get(Practice, practice_id)
    if practice is None:
        return None
    if practice.is_published or practice.network_id in user.network_ids("leader"):
        return practice
    return None


def editable_practice(session: Session, user: User, practice_id: int) -> Practice | None:
    """The practice if ``user`` leads its network; None otherwise (the view answers 404)."""
    practice = session.get(Practice, practice_id)
    if practice is None or practice.network_id not in user.network_ids("leader"):
        return None
    return practice


def save_practice(
    session: Session, user: User, practice: Practice | None, *, network_id: int, title: str,
    body: str, language: str, publish: bool,
) -> Practice:
    """Create or update a practice of a network ``user`` leads (the caller commits).

    Publishing sets published_at the first time; withdrawing keeps the text as a draft.
    """
    if network_id not in user.network_ids("leader"):
        raise PracticeError("You can only write practices for a network you lead.")
    if language not in PRACTICE_LANGUAGES:
        raise PracticeError(f"Unknown language '{language}'.")
    if practice is None:
        practice = Practice(network_id=network_id, author_user_id=user.id)
        session.add(practice)
    elif practice.network_id != network_id:
        raise PracticeError("A practice stays with its network.")
    practice.title = title.strip()
    practice.body = body.strip()
    practice.language = language
    if publish and not practice.is_published:
        practice.published_at = utcnow()
    practice.is_published = publish
    practice.updated_at = utcnow()
    session.flush()
    return practice


def delete_practice(session: Session, practice: Practice) -> None:
    session.delete(practice)
    session.flush()


def set_named_nationally(session: Session, user: User, network_id: int, named: bool) -> Network:
    """The leader's choice: show the network's name in national and regional views or not."""
    if network_id not in user.network_ids("leader"):
        raise PracticeError("You can only change the settings of a network you lead.")
    network = session.get(Network, network_id)
    network.is_named_nationally = named
    session.flush()
    return network


# -- suggestions -------------------------------------------------------------------------------


def top_quartile_networks(session: Session, period_id: int, questionnaire_id: int) -> dict:
    """Per dimension, the networks scoring at or above the national 75th percentile.

    Among the closed, unsuppressed rounds of the period and questionnaire version
    (as rule 11); p75 as in rule 13 (linear interpolation); compared unrounded and
    settled. A dimension with fewer than 3 networks has no top quartile.

    Computed once per data change with the stored benchmarks (reports.store_benchmarks,
    NetworkBenchmark.top_quartile) and read from them while the period's
    comparison_version is the stored one (the caller commits what was computed).
    """
    return _top_quartile(session, period_id, questionnaire_id)


def _top_quartile(session: Session, period_id: int, questionnaire_id: int,
                  dimension_ids: set[str] | None = None, publishing_only: bool = False) -> dict:
    """top_quartile_networks, narrowed for the suggestions when read from the stored rows.

    ``dimension_ids`` keeps only those dimensions; ``publishing_only`` only networks with
    a published practice (the only ones a suggestion can come from): two indexed
    queries driven by the few publishing networks, flat with the number of networks. Freshly
    computed sets are not narrowed by ``publishing_only`` (a superset: the same picks).
    """
    version = comparison_version(session, period_id, questionnaire_id)
    stored = session.scalar(select(ComparisonVersion.version).where(
        ComparisonVersion.period_id == period_id,
        ComparisonVersion.questionnaire_id == questionnaire_id))
    if stored == version:
        query = select(NetworkBenchmark.dimension_id, NetworkBenchmark.network_id).where(
            NetworkBenchmark.period_id == period_id,
            NetworkBenchmark.questionnaire_id == questionnaire_id,
            NetworkBenchmark.top_quartile.is_(True))
        if dimension_ids is not None:
            query = query.where(NetworkBenchmark.dimension_id.in_(sorted(dimension_ids)))
        if publishing_only:
            # The publishing networks first, then their rows by primary key: a semi-join
            # is planned as a scan of the period's rows (thousands) when they are fresh.
            publishing = sorted(set(session.scalars(select(Practice.network_id).where(
                Practice.is_published.is_(True)))))
            query = query.where(NetworkBenchmark.network_id.in_(publishing))
        pairs = session.execute(query).all() if not publishing_only or publishing else []
    else:
        frame = store_benchmarks(session, period_id, questionnaire_id, version)
        chosen = frame[frame["top_quartile"]]
        pairs = zip(chosen["dimension_id"], chosen["network_id"], strict=True)
    top: dict[str, set[int]] = {}
    for dim, network_id in pairs:
        if dimension_ids is None or dim in dimension_ids:
            top.setdefault(dim, set()).add(int(network_id))
    return top


def suggestions_for_rounds(
    session: Session, wanted: Iterable[tuple[Round, Iterable[str]]]
) -> dict[int, dict[str, list[dict]]]:
    """suggest_practices for many rounds at once: round id -> dimension -> practices."""
    wanted = [(round_, list(dims)) for round_, dims in wanted]
    result: dict[int, dict[str, list[dict]]] = {}
    by_comparison: dict[tuple[int, int], list] = defaultdict(list)
    for round_, dims in wanted:
        by_comparison[(round_.period_id, round_.questionnaire_id)].append((round_, dims))
    for (period_id, questionnaire_id), items in by_comparison.items():
        asked = {dim for _round, dims in items for dim in dims}
        top = _top_quartile(session, period_id, questionnaire_id, asked, publishing_only=True)
        network_ids = set().union(*top.values()) if top else set()
        practices = _published_of(session, network_ids)
        for round_, dims in items:
            result[round_.id] = {
                dim: _pick(practices, top.get(dim, set()), round_.network_id) for dim in dims
            }
    return result


def _published_of(session: Session, network_ids: set[int]) -> list[tuple[Practice, Network, str]]:
    if not network_ids:
        return []
    return list(session.execute(
        select(Practice, Network, Region.name)
        .join(Network, Practice.network_id == Network.id)
        .join(Region, Network.region_id == Region.id)
        .where(Practice.is_published.is_(True), Practice.network_id.in_(network_ids))
        .order_by(Practice.published_at.desc(), Practice.id.desc())
    ).all())


def _pick(practices, top: set[int], own_network_id: int) -> list[dict]:
    """Up to SUGGESTIONS practices, one per network, the most recently published first."""
    chosen, seen = [], set()
    for practice, network, region in practices:
        if network.id not in top or network.id == own_network_id or network.id in seen:
            continue
        seen.add(network.id)
        chosen.append(practice_dict(practice, network, region))
        if len(chosen) == SUGGESTIONS:
            break
    return chosen


def suggest_practices(session: Session, round_: Round, dimension_ids: Iterable[str]) -> dict:
    """Published practices to learn from, for each dimension with a recommendation.

    For each of ``dimension_ids``: up to three published practices of other networks
    that score in the national top quartile of that dimension in the round's period
    (same questionnaire version, closed unsuppressed rounds), one per network, the most
    recently published first. Returns {dimension_id: [practice dicts]} with a key for
    every dimension asked for (an empty list when there is nothing to suggest).
    """
    return suggestions_for_rounds(session, [(round_, dimension_ids)]).get(round_.id, {})


__all__ = [
    "PRACTICE_LANGUAGES",
    "PracticeError",
    "delete_practice",
    "draft_practices",
    "editable_practice",
    "led_networks",
    "paragraphs",
    "practice_dict",
    "published_practices",
    "readable_practice",
    "save_practice",
    "set_named_nationally",
    "suggest_practices",
    "suggestions_for_rounds",
    "top_quartile_networks",
]
