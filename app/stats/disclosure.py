"""Disclosure control on published cells.

Primary suppression: a cell whose own value (``min_count``) or whose reference indicator
(``reference`` ≥ ``min``) falls below the threshold becomes ``confidential`` without a value.

Secondary suppression: the aggregates are computed from every member, suppressed or not, so
a parent with exactly one suppressed child would reveal it as parent minus siblings. Within
every group (a parent and its children, a regionalisation and its municipalities, a merged
municipality and its predecessors) we therefore never leave exactly one suppressed cell: the
smallest remaining sibling is suppressed too, until no group has a single one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from app.stats.aggregate import Cell


def suppress(
    cells: Mapping[int, Cell],
    size: Mapping[int, float | None],
    minimum: float,
    groups: Sequence[Sequence[int]],
) -> dict[int, Cell]:
    """Apply primary and secondary suppression.

    ``size`` is what the threshold is compared with per unit (the cell's own value, or its
    reference indicator's value); it also decides which sibling is "smallest".
    """
    suppressed = {
        unit
        for unit, cell in cells.items()
        if cell.value is not None and (s := size.get(unit)) is not None and s < minimum
    }
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
