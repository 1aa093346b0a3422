"""Covering arrays: a few rows of answers in which every pair of values of two questions occurs.

Rendering every combination of the questions multiplies (4 backends x 4 trackers x 2 x 2 x 2 is
128 projects); rendering a covering array of strength 2 catches every fault that needs two
answers to show, in a handful. ``all_pairs`` builds one greedily, from rows that must be in it
(the defaults the suite renders anyway) and then, each time, the row of the full product that
covers the most pairs not covered yet (the first such row in the product's order, so the array
is the same every run).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Row = dict[str, Any]
Pair = tuple[tuple[str, Any], tuple[str, Any]]


def pairs_of(row: Mapping[str, Any], names: Sequence[str]) -> set[Pair]:
    """The pairs of (question, answer) a row covers."""
    return {((a, row[a]), (b, row[b])) for a, b in itertools.combinations(names, 2)}


def all_pairs_needed(factors: Mapping[str, Sequence[Any]]) -> set[Pair]:
    """Every pair of values of two different questions."""
    names = list(factors)
    return {
        ((a, x), (b, y))
        for a, b in itertools.combinations(names, 2)
        for x in factors[a]
        for y in factors[b]
    }


def all_pairs(factors: Mapping[str, Sequence[Any]], seed_rows: Iterable[Row] = ()) -> list[Row]:
    """A covering array of strength 2 over ``factors`` that starts with ``seed_rows``."""
    names = list(factors)
    rows = [dict(row) for row in seed_rows]
    uncovered = all_pairs_needed(factors)
    for row in rows:
        uncovered -= pairs_of(row, names)
    candidates = [
        dict(zip(names, values, strict=True)) for values in itertools.product(*factors.values())
    ]
    while uncovered:
        best = max(candidates, key=lambda row: len(pairs_of(row, names) & uncovered))
        rows.append(best)
        uncovered -= pairs_of(best, names)
    return rows
