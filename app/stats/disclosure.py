"""Disclosure control on published cells.

Primary suppression: a cell whose own value (``min_count``) or whose reference indicator
(``reference`` ≥ ``min``) falls below the threshold becomes ``confidential`` without a value.

Secondary suppression: the aggregates are computed from every member, suppressed or not, so
a parent with exactly one suppressed child would reveal it as parent minus siblings. Within
every group (a parent and its children, a regionalisation and its municipalities, a merged
municipality and its predecessors, a unit and its namesake of another version with the
municipalities they differ by) we therefore never leave exactly one suppressed cell: the
smallest remaining sibling is suppressed too, until no group has a single one.

Across revisions: every revision stays readable, so a pattern that moves gives values back
by comparing two revisions (a sector hidden beside the protected one in revision 1 and shown
in revision 2, once another sector took its place, turns revision 1's hidden sum into the
protected value). So a cell hidden before stays hidden while it is tied to a cell that is
primary now — in a group with one, or with another such cell; a pattern whose primary cells
are all gone is released whole (their values may be published now).

The groups are necessary, not sufficient: the geography holds more relations than any list
of groups (the Flemish Region is the sum of its provinces and of its referentieregio's, a
province of an arrondissement and two referentieregio's), and a hidden cell may be the
published total minus other published totals that no single group relates. So the pattern is
then audited as an attacker would: every unit with a value is the sum of its members with a
value (the incidence), a linear system in the hidden cells; a hidden cell that the system
determines gets another cell of the relations that determine it hidden (the smallest), until
none is determined.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from app.stats.aggregate import Cell, Incidence


def suppress(
    cells: Mapping[int, Cell],
    size: Mapping[int, float | None],
    minimum: float,
    groups: Sequence[Sequence[int]],
    hidden_before: Collection[int] = (),
    incidence: Incidence | None = None,
) -> dict[int, Cell]:
    """Apply primary and secondary suppression.

    ``size`` is what the threshold is compared with per unit (the cell's own value, or its
    reference indicator's value); it also decides which sibling is "smallest".
    ``hidden_before``: the units whose cells the slice's current revision hides; those tied
    to a primary cell stay hidden (see the module's docstring). ``incidence``: which member
    counts in which unit; given, the pattern is audited against it (see the module's
    docstring).
    """
    primary = {
        unit
        for unit, cell in cells.items()
        if cell.value is not None and (s := size.get(unit)) is not None and s < minimum
    }
    suppressed = primary | _still_tied(cells, primary, hidden_before, groups)
    _cover_groups(cells, size, groups, suppressed)
    if incidence is not None and suppressed:
        while more := exposed(cells, size, incidence, suppressed, hidden_before):
            suppressed.update(more)
            _cover_groups(cells, size, groups, suppressed)
    return {
        unit: (Cell(None, "confidential", cell.coverage) if unit in suppressed else cell)
        for unit, cell in cells.items()
    }


def _cover_groups(
    cells: Mapping[int, Cell],
    size: Mapping[int, float | None],
    groups: Sequence[Sequence[int]],
    suppressed: set[int],
) -> None:
    """Hide the smallest other cell of every group with exactly one hidden, to a fixpoint."""
    changed = bool(suppressed)
    while changed:
        changed = False
        for group in groups:
            hidden = [u for u in group if u in suppressed]
            if len(hidden) != 1:
                continue
            candidates = [
                u
                for u in group
                if u not in suppressed and u in cells and cells[u].value is not None
            ]
            if not candidates:
                continue
            smallest = min(candidates, key=lambda u: (_size_or_inf(size.get(u)), u))
            suppressed.add(smallest)
            changed = True


# A hidden cell is determined when no solution of the system can move it: its component in
# every null vector of the (0, ±1) relation matrix is zero, up to rounding of the SVD.
_TOLERANCE = 1e-8


def exposed(
    cells: Mapping[int, Cell],
    size: Mapping[int, float | None],
    incidence: Incidence,
    suppressed: Collection[int],
    hidden_before: Collection[int] = (),
) -> set[int]:
    """The cells to hide next so that no hidden cell stays determined by the published ones:
    for each determined hidden cell, the smallest published cell of the relations that
    determine it (empty: none is determined, or nothing more can be hidden) — one the current
    revision hides first, so that a pattern does not move between revisions (the earlier
    revision's choice, published now, would determine the cell again).

    The relations: every target with a value equals the sum of its members with a value
    (a ratio's numerator, a weighted mean's weighted sum: the structure is the same, and the
    denominators are published). A member without a published cell here is left out of the
    relations, as if an attacker knew it: the audit errs on the side of hiding more."""
    n_members = len(incidence.member_ids)
    n_targets = len(incidence.target_ids)
    units = [*incidence.member_ids, *incidence.target_ids]
    valued = np.array([(c := cells.get(u)) is not None and c.value is not None for u in units])
    hidden = np.array([u in suppressed for u in units]) & valued
    if not hidden.any():
        return set()
    em, et = incidence.edge_member, incidence.edge_target + n_members
    live = valued[em] & valued[et]
    em, et = em[live], et[live]
    # Rows: the targets with a value whose relation holds a hidden cell.
    involved = np.zeros(n_members + n_targets, dtype=bool)
    involved[et[hidden[em]]] = True
    involved[n_members:] |= hidden[n_members:]
    rows = np.flatnonzero(involved)
    if not len(rows):
        return set()  # no published unit holds a hidden cell
    columns = np.flatnonzero(hidden)
    row_of = np.full(len(units), -1)
    row_of[rows] = np.arange(len(rows))
    column_of = np.full(len(units), -1)
    column_of[columns] = np.arange(len(columns))
    matrix = np.zeros((len(rows), len(columns)))
    edge = hidden[em] & involved[et]
    np.add.at(matrix, (row_of[et[edge]], column_of[em[edge]]), -1.0)
    totals = rows[hidden[rows]]
    matrix[row_of[totals], column_of[totals]] = 1.0
    # Hidden cells in the same relations (the hidden sectors of one municipality) can trade
    # any amount between them: none of them is determined, and one column stands for them
    # all in telling whether the others are. Relations alike (a province and its namesake
    # referentieregio, a municipality in both versions) are one row. This makes the system
    # a few hundred rows and columns on the real data, not thousands.
    shapes, alike = np.unique(matrix.T, axis=0, return_counts=True)
    reduced, row_shape = np.unique(shapes.T, axis=0, return_inverse=True)
    row_shape = row_shape.ravel()
    # Every right singular vector is needed (the null space); the left ones only as many as
    # there are rows, which U of a tall matrix would be thousands of.
    _, singular, vt = np.linalg.svd(reduced, full_matrices=reduced.shape[0] < reduced.shape[1])
    rank = int((singular > _TOLERANCE).sum())
    null = vt[rank:]
    alone = [
        k
        for k in range(len(shapes))
        if alike[k] == 1 and (null.shape[0] == 0 or np.abs(null[:, k]).max() < 1e-6)
    ]
    if not alone:
        return set()
    # Which relations give each determined cell: w with wᵀ·reduced = its unit vector.
    unit_vectors = np.zeros((len(shapes), len(alone)))
    unit_vectors[alone, np.arange(len(alone))] = 1.0
    weights = np.linalg.lstsq(reduced.T, unit_vectors, rcond=None)[0]
    published = valued & ~hidden
    before = set(hidden_before)
    more: set[int] = set()
    for k in range(len(alone)):
        used = rows[np.isin(row_shape, np.flatnonzero(np.abs(weights[:, k]) > 1e-6))]
        candidates = _in_relations(used, em, et, published)
        if candidates:
            more.add(
                min(
                    (units[i] for i in candidates),
                    key=lambda u: (u not in before, _size_or_inf(size.get(u)), u),
                )
            )
    return more


def _in_relations(
    used: np.ndarray[Any, Any],
    em: np.ndarray[Any, Any],
    et: np.ndarray[Any, Any],
    published: np.ndarray[Any, Any],
) -> list[int]:
    """The published cells (indexes) of these relations: their totals and members."""
    of_used = np.isin(et, used)
    found = np.concatenate([used, em[of_used]])
    return sorted({int(i) for i in found if published[i]})


def _size_or_inf(value: float | None) -> float:
    return float("inf") if value is None else value


def _still_tied(
    cells: Mapping[int, Cell],
    primary: Collection[int],
    hidden_before: Collection[int],
    groups: Sequence[Sequence[int]],
) -> set[int]:
    """The cells hidden before (with a value) that a chain of groups, each holding two of
    them or one and a primary cell, ties to a primary cell."""
    kept = {
        u for u in hidden_before if (cell := cells.get(u)) is not None and cell.value is not None
    }
    if not kept or not primary:
        return set()
    parent = {unit: unit for unit in (*kept, *primary)}

    def root(unit: int) -> int:
        while parent[unit] != unit:
            parent[unit] = parent[parent[unit]]
            unit = parent[unit]
        return unit

    for group in groups:
        members = [u for u in group if u in parent]
        for other in members[1:]:
            parent[root(other)] = root(members[0])
    anchored = {root(unit) for unit in primary}
    return {unit for unit in kept if root(unit) in anchored}
