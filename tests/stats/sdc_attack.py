"""An attacker's check, independent of the code under test: is any hidden cell determined by
the published cells and the relations "a unit is the sum of its members"?

Exact linear algebra on the structure alone (the values do not matter for whether a cell is
determined): the unknowns are the hidden cells, each relation a row (+1 for its total when
hidden, −1 for each hidden member). A cell is determined when every solution of the system
gives it the same value: its unit vector lies in the row space."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np


def determined(
    relations: Mapping[int, Sequence[int]], valued: Collection[int], hidden: Collection[int]
) -> set[int]:
    """``relations``: total → its members; ``valued``: the cells with a (true) value (those
    without take part in no relation); ``hidden``: the published-as-confidential ones."""
    unknown = sorted(u for u in hidden if u in valued)
    column = {u: i for i, u in enumerate(unknown)}
    rows: list[np.ndarray] = []
    for total, members in relations.items():
        if total not in valued:
            continue
        row = np.zeros(len(unknown))
        if total in column:
            row[column[total]] = 1.0
        for member in members:
            if member in column and member in valued:
                row[column[member]] -= 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return set()
    matrix = np.array(rows)
    rank = np.linalg.matrix_rank(matrix)
    found = set()
    for unit, i in column.items():
        unit_row = np.zeros(len(unknown))
        unit_row[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([matrix, unit_row])) == rank:
            found.add(unit)
    return found
