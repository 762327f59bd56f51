"""Aggregation by an indicator's rule, from the finest level supplied to every unit above it.

Pure functions over plain mappings (no database): a member is a sector, a target is any unit
that contains it. Every derived value says how complete it is:

* A member with a value counts; ``confidential`` and ``missing`` members count as members
  without a value; ``not_applicable`` members do not count at all.
* All members have a value: the aggregate has their (worst) quality status and coverage 1.
* Some members lack a value: the aggregate is the value over the members that have one, with
  status ``incomplete`` and ``coverage`` = share of members with a value. It is never
  presented as complete.
* No member has a value: no value; ``confidential`` when a member was confidential, else
  ``missing``. Only not-applicable members: ``not_applicable``.

``ratio`` is Σnumerator / Σdenominator × scale over the members that have a value for
both (never an average of ratios); ``weighted_mean`` is Σ(value × weight) / Σweight;
``none`` is not aggregated.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

VALUE_STATUSES = ("normal", "provisional", "estimated")
# An aggregate over some of its members has a value too (an ad-hoc area's units may be one).
WITH_VALUE = (*VALUE_STATUSES, "incomplete")
# Quality order: an aggregate is as weak as its weakest member.
_QUALITY_RANK = {"normal": 0, "estimated": 1, "provisional": 2}


def complete_value(value: float | None, status: str) -> float | None:
    """The value when it holds over all its members: a value, and not ``incomplete``."""
    return value if value is not None and status in VALUE_STATUSES else None


class Cell(NamedTuple):
    """A value with its status (and, for a derived value, its coverage). A tuple: millions
    are made per publication, and tuples are the cheapest immutable records Python has."""

    value: float | None
    status: str
    coverage: float | None = None


@dataclass(slots=True)
class Accumulator:
    """Running sums of (a, b) pairs: (value, 0) for sums, (numerator, denominator) for ratios,
    (value × weight, weight) for weighted means."""

    a: float = 0.0
    b: float = 0.0
    members: float = 0
    with_value: float = 0
    confidential: float = 0
    quality: int = 0

    def add(
        self,
        pair: tuple[float, float] | None,
        status: str,
        covered: float = 1.0,
        weight: float = 1.0,
    ) -> None:
        """A member's pair. ``weight`` and ``covered`` are for members that are aggregates
        themselves (an ad-hoc area's units): how many members it stands for, and the share
        of them that had a value (its coverage, when it is incomplete)."""
        if status == "not_applicable":
            return
        self.members += weight
        if pair is None:
            if status == "confidential":
                self.confidential += weight
            return
        self.with_value += weight * covered
        self.a += pair[0]
        self.b += pair[1]
        self.quality = max(self.quality, _QUALITY_RANK.get(status, 0))

    def status(self) -> tuple[str, float | None]:
        """The status of the aggregate and its coverage; value is available unless the status
        is confidential, missing or not_applicable."""
        if self.members == 0:
            return "not_applicable", None
        if self.with_value == 0:
            return ("confidential" if self.confidential else "missing"), 0.0
        coverage = self.with_value / self.members
        if self.with_value < self.members:
            return "incomplete", coverage
        quality = next(s for s, r in _QUALITY_RANK.items() if r == self.quality)
        return quality, coverage


MemberPairs = Mapping[int, tuple[tuple[float, float] | None, str]]


def accumulate_area(
    pairs: MemberPairs, covered: Mapping[int, float], weights: Mapping[int, float]
) -> Accumulator | None:
    """An ad-hoc area from its units' published cells: each unit counts for ``weights`` members
    (its sectors), of which the ``covered`` share had a value (1 unless it is incomplete)."""
    if not pairs:
        return None
    acc = Accumulator()
    for member, (pair, status) in pairs.items():
        acc.add(pair, status, covered.get(member, 1.0), weights.get(member, 1.0))
    return acc


class Incidence:
    """Which member contributes to which target, as arrays: built once per publication, so
    that each indicator and period is summed by numpy instead of a Python loop per edge."""

    def __init__(self, of_member: Mapping[int, Sequence[int]]) -> None:
        self.member_index = {member: i for i, member in enumerate(of_member)}
        self.target_ids = sorted({t for targets in of_member.values() for t in targets})
        self.target_array = np.array(self.target_ids, dtype=np.int64)
        target_index = {t: i for i, t in enumerate(self.target_ids)}
        members: list[int] = []
        targets: list[int] = []
        for member, member_targets in of_member.items():
            i = self.member_index[member]
            for target in member_targets:
                members.append(i)
                targets.append(target_index[target])
        self.edge_member = np.array(members, dtype=np.int64)
        self.edge_target = np.array(targets, dtype=np.int64)
        self.member_ids = list(of_member)

    def members_of(self, units: Collection[int]) -> set[int]:
        """The members whose values ``units`` are computed from: those of them that are
        members, and every member contributing to one of them."""
        wanted = np.isin(self.target_array, list(units))
        reaching = np.unique(self.edge_member[wanted[self.edge_target]])
        found = {self.member_ids[i] for i in reaching.tolist()}
        found.update(unit for unit in units if unit in self.member_index)
        return found


def accumulate_many(
    pairs: MemberPairs, incidence: Incidence, only: Collection[int] | None = None
) -> dict[int, Accumulator]:
    """The same as :func:`accumulate`, vectorised over an :class:`Incidence`; with ``only``,
    for those targets alone."""
    n = len(incidence.member_index)
    a, b = np.zeros(n), np.zeros(n)
    present = np.zeros(n, dtype=bool)  # has a row for this indicator and period
    counted = np.zeros(n, dtype=bool)  # ... that is not "not applicable"
    valued = np.zeros(n, dtype=bool)
    confidential = np.zeros(n, dtype=bool)
    quality = np.zeros(n, dtype=np.int64)
    for member, (pair, status) in pairs.items():
        i = incidence.member_index.get(member)
        if i is None:
            continue
        present[i] = True
        if status == "not_applicable":
            continue
        counted[i] = True
        if pair is None:
            confidential[i] = status == "confidential"
            continue
        valued[i] = True
        a[i], b[i] = pair
        quality[i] = _QUALITY_RANK.get(status, 0)
    em, et = incidence.edge_member, incidence.edge_target
    size = len(incidence.target_ids)

    def total(weights: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.bincount(et, weights=weights[em], minlength=size)

    touched = total(present.astype(np.float64))
    members, with_value = total(counted.astype(np.float64)), total(valued.astype(np.float64))
    secret, sum_a, sum_b = total(confidential.astype(np.float64)), total(a), total(b)
    worst = np.zeros(size, dtype=np.int64)
    np.maximum.at(worst, et, quality[em])
    wanted = np.flatnonzero(touched)
    if only is not None:
        wanted = wanted[np.isin(incidence.target_array[wanted], list(only))]
    # Converted a column at a time: a float() and an int() per field and target cost more.
    counts = [np.rint(x[wanted]).astype(np.int64).tolist() for x in (members, with_value, secret)]
    return {
        target: Accumulator(a, b, m, v, c, q)
        for target, a, b, m, v, c, q in zip(
            incidence.target_array[wanted].tolist(),
            sum_a[wanted].tolist(),
            sum_b[wanted].tolist(),
            *counts,
            worst[wanted].tolist(),
            strict=True,
        )
    }


def sum_pairs(values: Mapping[int, Cell]) -> dict[int, tuple[tuple[float, float] | None, str]]:
    return {
        member: (((cell.value, 0.0) if cell.value is not None else None), cell.status)
        for member, cell in values.items()
    }


def combine_parts(
    parts: Sequence[Mapping[int, Cell]],
) -> dict[int, tuple[float | None, str]]:
    """Per member, the sum of several indicators (e.g. 65+ plus under 65). A part the member
    has no row for contributes nothing; a part it has without a value (missing,
    confidential) leaves the member without a value."""
    if len(parts) == 1:  # the common case: no sum to make
        return {
            member: (cell.value if cell.status in WITH_VALUE else None, cell.status)
            for member, cell in parts[0].items()
        }
    members: set[int] = set()
    for part in parts:
        members.update(part)
    result: dict[int, tuple[float | None, str]] = {}
    for member in members:
        total = 0.0
        statuses = []
        for part in parts:
            cell = part.get(member)
            if cell is None:
                continue
            statuses.append(cell.status)
            if cell.value is not None:
                total += cell.value
        available = all(s in WITH_VALUE for s in statuses)
        result[member] = (total if available else None, _weakest(statuses))
    return result


def _weakest(statuses: Sequence[str]) -> str:
    """The status of a value built from parts with these statuses."""
    if statuses and all(s in WITH_VALUE for s in statuses):
        if "incomplete" in statuses:
            return "incomplete"
        return max(statuses, key=lambda s: _QUALITY_RANK[s])
    if "confidential" in statuses:
        return "confidential"
    if statuses and all(s == "not_applicable" for s in statuses):
        return "not_applicable"
    return "missing"


def ratio_pairs(
    numerator: Mapping[int, tuple[float | None, str]],
    denominator: Mapping[int, tuple[float | None, str]],
) -> dict[int, tuple[tuple[float, float] | None, str]]:
    """(numerator, denominator) per member. A side the member has no row for counts as 0 (a
    "…ZZZZ" sector has residents but no area: it adds to the population, not to the area);
    a side without a value leaves the member out of both sums, so the ratio is not biased.
    A side that does not apply to the member makes the member's ratio not apply: it does not
    count at all (a sector whose population is not applicable has no density to miss)."""
    absent: tuple[float | None, str | None] = (0.0, None)
    result: dict[int, tuple[tuple[float, float] | None, str]] = {}
    for member in numerator.keys() | denominator.keys():
        num, num_status = numerator.get(member, absent)
        den, den_status = denominator.get(member, absent)
        if "not_applicable" in (num_status, den_status):
            result[member] = (None, "not_applicable")
            continue
        if num_status == den_status or den_status is None:
            status = num_status or "missing"
        elif num_status is None:
            status = den_status
        else:
            status = _weakest([num_status, den_status])
        if num is not None and den is not None:
            result[member] = ((num, den), status)
        else:
            result[member] = (None, status)
    return result


def weighted_pairs(
    values: Mapping[int, Cell], weights: Mapping[int, Cell]
) -> dict[int, tuple[tuple[float, float] | None, str]]:
    result: dict[int, tuple[tuple[float, float] | None, str]] = {}
    for member, cell in values.items():
        weight = weights.get(member)
        if cell.value is not None and weight is not None and weight.value is not None:
            result[member] = ((cell.value * weight.value, weight.value), cell.status)
        else:
            status = cell.status if cell.value is None else (weight.status if weight else "missing")
            result[member] = (None, status)
    return result


def sum_cell(acc: Accumulator) -> Cell:
    status, coverage = acc.status()
    value = acc.a if status not in ("confidential", "missing", "not_applicable") else None
    return Cell(value, status, coverage)


def quotient_cell(acc: Accumulator, scale: float = 1.0) -> Cell:
    """Σa / Σb × scale; a zero denominator has no meaningful ratio (not applicable)."""
    status, coverage = acc.status()
    if status in ("confidential", "missing", "not_applicable"):
        return Cell(None, status, coverage)
    if acc.b == 0:
        return Cell(None, "not_applicable", coverage)
    return Cell(acc.a / acc.b * scale, status, coverage)


def member_cells(
    pairs: Mapping[int, tuple[tuple[float, float] | None, str]],
    *,
    quotient: bool,
    scale: float,
    only: Collection[int] | None = None,
    measured: Collection[int] | None = None,
) -> dict[int, Cell]:
    """The value of each member itself (a sector's own ratio, say); no coverage. ``only``
    limits a ratio to the members that have a denominator at all (a "…ZZZZ" sector has
    residents but no area: it has no density of its own). ``measured``: the members with a
    numerator row; the others' own ratio is missing, not 0. In a sum above them the absent
    part counts as 0 (see :func:`ratio_pairs`), but of the member itself it says nothing:
    Fluvius books the consumption of a sector whose code it does not know in its
    municipality's "…ZZZZ", and the sector's own ratio would read as no consumption."""
    result: dict[int, Cell] = {}
    for member, (pair, status) in pairs.items():
        if only is not None and member not in only:
            continue
        if measured is not None and member not in measured:
            result[member] = Cell(None, "missing")
        elif pair is None:
            result[member] = Cell(None, status)
        elif not quotient:
            result[member] = Cell(pair[0], status)
        elif pair[1] == 0:
            result[member] = Cell(None, "not_applicable")
        else:
            result[member] = Cell(pair[0] / pair[1] * scale, status)
    return result
