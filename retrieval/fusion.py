"""Pure ranking helpers: BM25 arithmetic, query building and reciprocal rank fusion. No database here."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)
Group = TypeVar("Group", bound=Hashable)

# Pyserini's BM25 defaults, which the published SciFact BM25 figure (nDCG@10 0.679) uses.
BM25_K1 = 0.9
BM25_B = 0.4
# Cormack et al.'s constant: the top few ranks of either list weigh about the same, deep ranks fade slowly.
RRF_K = 60


def bm25_idf(*, df: int, n: int) -> float:
    """Lucene's idf: never negative, even for a term in more than half of the chunks."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def tsquery_any(lexemes: Sequence[str]) -> str:
    """A tsquery text matching any of these lexemes, each quoted so that it is taken as it is (no re-parsing)."""
    quoted = ("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes)
    return " | ".join(quoted)


def sql_identifier(name: str) -> str:
    """A double-quoted SQL identifier: any text, taken literally."""
    return '"' + name.replace('"', '""') + '"'


def rrf_fuse(
    rankings: Sequence[Sequence[Key]], *, k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[Key, float]]:
    """Reciprocal rank fusion: each ranking gives weight / (k + rank) to its items (rank 1 first).

    Scores are divided by the best possible one (first in every ranking), so they lie in (0, 1]. Ties keep the order
    in which items first appear (the first ranking's first), so results are deterministic.
    """
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    best = sum(w / (k + 1) for w in weights) or 1.0
    scores: dict[Key, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    order = {key: i for i, key in enumerate(scores)}
    return sorted(((key, score / best) for key, score in scores.items()), key=lambda item: (-item[1], order[item[0]]))


def rrf_fuse_grouped(
    rankings: Sequence[Sequence[tuple[Key, Group]]],
    *,
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
    per_group: int | None = None,
) -> list[tuple[Key, float]]:
    """Reciprocal rank fusion of groups (documents), each ranking's items being (key, group) in rank order.

    A group ranks in each ranking where its first item does, so that several chunks of one document neither
    push other documents down nor add up to more than one document's worth of votes. A group's score is the RRF
    of those group ranks (divided by the best possible, as rrf_fuse). Its items are ordered by their own RRF
    score and scored as the group's score times their share of its best item's, so the best item carries the
    group's score; at most `per_group` items of a group are kept. Ties keep the first appearance's order.
    """
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    group_rankings: list[list[Group]] = []
    group_of: dict[Key, Group] = {}
    for ranking in rankings:
        group_rankings.append(list(dict.fromkeys(group for _, group in ranking)))
        for key, group in ranking:
            group_of.setdefault(key, group)
    group_score = dict(rrf_fuse(group_rankings, k=k, weights=weights))
    item_score = rrf_fuse([[key for key, _ in ranking] for ranking in rankings], k=k, weights=weights)
    best_item: dict[Group, float] = {}
    for key, score in item_score:  # best first
        best_item.setdefault(group_of[key], score)
    order = {key: i for i, (key, _) in enumerate(item_score)}
    scored = [
        (key, group_score[group_of[key]] * score / best_item[group_of[key]]) for key, score in item_score if score > 0
    ]
    scored.sort(key=lambda item: (-item[1], order[item[0]]))
    return cap_per_group(scored, group_of, per_group)


def cap_per_group(
    ranked: Sequence[tuple[Key, float]], group_of: dict[Key, Group], per_group: int | None
) -> list[tuple[Key, float]]:
    """`ranked` without the items past the `per_group`-th of their group (None: no cap)."""
    if per_group is None:
        return list(ranked)
    seen: dict[Group, int] = {}
    kept: list[tuple[Key, float]] = []
    for key, score in ranked:
        group = group_of[key]
        if seen.get(group, 0) < per_group:
            seen[group] = seen.get(group, 0) + 1
            kept.append((key, score))
    return kept
