"""Secondary suppression is audited as an attacker would: no hidden cell may be the
published total minus published parts, through any combination of the geography's relations
(small hand-made cases; the API cases are in test_disclosure_attacks.py)."""

from __future__ import annotations

from app.stats.aggregate import Cell, Incidence
from app.stats.disclosure import exposed, suppress
from tests.stats.sdc_attack import determined

# Sectors 1–4. Municipalities: 11 = {1}, 12 = {2}, 13 = {3, 4}. Province 20 = {1, 2};
# a referentieregio 30 = {2, 3, 4} (crossing the province's border); region 40 = all.
OF_MEMBER = {1: [11, 20, 40], 2: [12, 20, 30, 40], 3: [13, 30, 40], 4: [13, 30, 40]}
# The groups the parent links give (each with its total): no group says that the region
# is the province plus municipality 13, nor that 30 is 12 plus 13.
GROUPS = [[1, 11], [2, 12], [3, 4, 13], [11, 12, 20], [13, 20, 40], [12, 13, 30]]
SIZE = {1: 3.0, 2: 40.0, 3: 50.0, 4: 60.0, 11: 3.0, 12: 40.0, 13: 110.0, 20: 43.0}
SIZE |= {30: 150.0, 40: 153.0}


def relations() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for member, targets in OF_MEMBER.items():
        for target in targets:
            found.setdefault(target, []).append(member)
    return found


def cells() -> dict[int, Cell]:
    return {unit: Cell(value, "normal") for unit, value in SIZE.items()}


def hidden(result: dict[int, Cell]) -> set[int]:
    return {u for u, c in result.items() if c.status == "confidential"}


def test_the_groups_alone_leave_a_cell_determined() -> None:
    """Sector 1 is primary. Every group then holds 0 or at least 2 hidden cells, and yet
    the region minus the referentieregio is sector 1 (40 − 30 = 1), both published."""
    pattern = hidden(suppress(cells(), SIZE, 5.0, GROUPS))
    assert 1 in determined(relations(), set(SIZE), pattern)


def test_the_audited_pattern_leaves_no_cell_determined() -> None:
    pattern = hidden(suppress(cells(), SIZE, 5.0, GROUPS, incidence=Incidence(OF_MEMBER)))
    assert 1 in pattern
    assert determined(relations(), set(SIZE), pattern) == set()


def test_the_audit_hides_nothing_more_where_nothing_is_determined() -> None:
    """Sectors 3 and 4 are hidden together: 13 − (3 + 4) has two unknowns, and so does
    every other relation; nothing is added."""
    size = {**SIZE, 1: 30.0, 11: 30.0, 3: 2.0, 4: 1.0}
    result = suppress(cells(), size, 5.0, GROUPS, incidence=Incidence(OF_MEMBER))
    assert hidden(result) == {3, 4}
    assert exposed(cells(), size, Incidence(OF_MEMBER), {3, 4}) == set()


def test_a_cell_hidden_before_is_preferred_to_a_smaller_one() -> None:
    """Between revisions the pattern should not move: a cell the current revision hides is
    hidden again before a smaller one, whose choice would give the earlier revision's
    pattern away."""
    incidence = Incidence(OF_MEMBER)
    first = exposed(cells(), SIZE, incidence, {1})
    again = exposed(cells(), SIZE, incidence, {1}, hidden_before={1, 40})
    assert first != {40}
    assert again == {40}
