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
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from app.stats.aggregate import Cell


def suppress(
    cells: Mapping[int, Cell],
    size: Mapping[int, float | None],
    minimum: float,
    groups: Sequence[Sequence[int]],
    hidden_before: Collection[int] = (),
) -> dict[int, Cell]:
    """Apply primary and secondary suppression.

    ``size`` is what the threshold is compared with per unit (the cell's own value, or its
    reference indicator's value); it also decides which sibling is "smallest".
    ``hidden_before``: the units whose cells the slice's current revision hides; those tied
    to a primary cell stay hidden (see the module's docstring).
    """
    primary = {
        unit
        for unit, cell in cells.items()
        if cell.value is not None and (s := size.get(unit)) is not None and s < minimum
    }
    suppressed = primary | _still_tied(cells, primary, hidden_before, groups)
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
    return {
        unit: (Cell(None, "confidential", cell.coverage) if unit in suppressed else cell)
        for unit, cell in cells.items()
    }


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
