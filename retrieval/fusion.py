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
# Tuned on SciFact train (bench.retrieval --dump, 10..15 a plateau): below Cormack et al.'s 60, the top ranks of
# either side count for more than agreement deep in both lists.
RRF_K = 10


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


def cap_per_group(
    ranked: Sequence[tuple[Key, float]], group_of: dict[Key, Group], per_group: int | None
) -> list[tuple[Key, float]]:
    """`ranked` with the items past the `per_group`-th of their group moved behind all the others, in their own
    order (None: unchanged). They give their places to other groups, and still fill the list where there are not
    enough others: a tenant with one long document gets k passages of it, not `per_group`."""
    if per_group is None:
        return list(ranked)
    seen: dict[Group, int] = {}
    kept: list[tuple[Key, float]] = []
    extra: list[tuple[Key, float]] = []
    for key, score in ranked:
        group = group_of[key]
        seen[group] = seen.get(group, 0) + 1
        (kept if seen[group] <= per_group else extra).append((key, score))
    return kept + extra
