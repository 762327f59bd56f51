"""Aggregation rules and disclosure control on small hand-made cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from app.stats.aggregate import (
    Accumulator,
    Cell,
    MemberPairs,
    accumulate_area,
    combine_parts,
    member_cells,
    quotient_cell,
    ratio_pairs,
    sum_cell,
    sum_pairs,
    weighted_pairs,
)
from app.stats.disclosure import suppress


def accumulate(pairs: MemberPairs, targets: Mapping[int, Sequence[int]]) -> dict[int, Accumulator]:
    """The rule member by member: the reference that publication's arrays must equal."""
    result: dict[int, Accumulator] = {}
    for member, (pair, status) in pairs.items():
        for target in targets.get(member, ()):
            result.setdefault(target, Accumulator()).add(pair, status)
    return result


# Sectors 1, 2, 3 lie in municipality 10; sector 4 in municipality 11; all in province 100.
TARGETS = {1: [10, 100], 2: [10, 100], 3: [10, 100], 4: [11, 100]}


def sums(values: dict[int, Cell]) -> dict[int, Cell]:
    return {u: sum_cell(a) for u, a in accumulate(sum_pairs(values), TARGETS).items()}


def test_a_complete_sum() -> None:
    result = sums(
        {1: Cell(1, "normal"), 2: Cell(2, "normal"), 3: Cell(3, "normal"), 4: Cell(4, "normal")}
    )
    assert result[10] == Cell(6, "normal", 1.0)
    assert result[100] == Cell(10, "normal", 1.0)


def test_a_sum_with_a_confidential_member_is_incomplete_not_understated_silently() -> None:
    result = sums(
        {
            1: Cell(1, "normal"),
            2: Cell(None, "confidential"),
            3: Cell(3, "normal"),
            4: Cell(4, "normal"),
        }
    )
    assert result[10] == Cell(4, "incomplete", pytest.approx(2 / 3))
    assert result[11] == Cell(4, "normal", 1.0)
    assert result[100].status == "incomplete"
    assert result[100].coverage == pytest.approx(3 / 4)


def test_no_member_with_a_value() -> None:
    result = sums(
        {1: Cell(None, "confidential"), 2: Cell(None, "missing"), 4: Cell(None, "missing")}
    )
    assert result[10] == Cell(None, "confidential", 0.0)
    assert result[11] == Cell(None, "missing", 0.0)


def test_not_applicable_members_do_not_count() -> None:
    result = sums(
        {1: Cell(5, "normal"), 2: Cell(None, "not_applicable"), 4: Cell(None, "not_applicable")}
    )
    assert result[10] == Cell(5, "normal", 1.0)
    assert result[11] == Cell(None, "not_applicable", None)


def test_quality_of_the_weakest_member() -> None:
    result = sums({1: Cell(1, "normal"), 2: Cell(2, "provisional"), 3: Cell(3, "estimated")})
    assert result[10].status == "provisional"


def test_ratio_is_a_ratio_of_sums_not_an_average_of_ratios() -> None:
    numerator = combine_parts([{1: Cell(10, "normal"), 2: Cell(90, "normal")}])
    denominator = combine_parts([{1: Cell(100, "normal"), 2: Cell(100, "normal")}])
    pairs = ratio_pairs(numerator, denominator)
    result = {u: quotient_cell(a, 100) for u, a in accumulate(pairs, TARGETS).items()}
    assert result[10].value == pytest.approx(50.0)  # (10 + 90) / 200, as a percentage
    own = member_cells(pairs, quotient=True, scale=100)
    assert own[1].value == pytest.approx(10.0)
    assert own[1].coverage is None


def test_ratio_with_a_denominator_of_several_parts() -> None:
    # share 65+ = x65 / (x65 + rest)
    x65 = {1: Cell(20, "normal"), 2: Cell(30, "normal")}
    rest = {1: Cell(80, "normal"), 2: Cell(None, "missing")}
    pairs = ratio_pairs(combine_parts([x65]), combine_parts([x65, rest]))
    result = {u: quotient_cell(a, 100) for u, a in accumulate(pairs, TARGETS).items()}
    # Sector 2 lacks a denominator: it is left out of both sums, and the result says so.
    assert result[10] == Cell(pytest.approx(20.0), "incomplete", 0.5)


def test_an_absent_part_counts_as_zero() -> None:
    # A "…ZZZZ" sector has residents but no area row: it adds to the population only.
    population = {1: Cell(100, "normal"), 2: Cell(7, "normal")}
    area = {1: Cell(2, "normal")}
    pairs = ratio_pairs(combine_parts([population]), combine_parts([area]))
    result = {u: quotient_cell(a) for u, a in accumulate(pairs, TARGETS).items()}
    assert result[10] == Cell(pytest.approx(53.5), "normal", 1.0)
    assert member_cells(pairs, quotient=True, scale=1)[2].status == "not_applicable"


def test_a_ratio_whose_part_does_not_apply_does_not_count() -> None:
    # A steward marks a sector's population not applicable: its density does not apply
    # either, and the municipality's stays complete (it was incomplete, as if missing).
    population = {1: Cell(100, "normal"), 2: Cell(None, "not_applicable")}
    area = {1: Cell(2, "normal"), 2: Cell(3, "normal")}
    pairs = ratio_pairs(combine_parts([population]), combine_parts([area]))
    result = {u: quotient_cell(a) for u, a in accumulate(pairs, TARGETS).items()}
    assert result[10] == Cell(pytest.approx(50.0), "normal", 1.0)
    assert member_cells(pairs, quotient=True, scale=1)[2] == Cell(None, "not_applicable")


def test_an_absent_numerator_is_no_value_of_the_member_itself() -> None:
    # Fluvius books a sector it has no code for in the municipality's "…ZZZZ": in the sum
    # above, the sector's residents count with the consumption booked there; its own ratio
    # is not known (not 0 kWh per inhabitant).
    consumption = {3: Cell(5000, "normal")}  # 3: the "…ZZZZ" sector
    population = {1: Cell(100, "normal"), 2: Cell(200, "normal")}
    numerator, denominator = combine_parts([consumption]), combine_parts([population])
    pairs = ratio_pairs(numerator, denominator)
    above = {u: quotient_cell(a) for u, a in accumulate(pairs, {1: [10], 2: [10], 3: [10]}).items()}
    assert above[10] == Cell(pytest.approx(5000 / 300), "normal", 1.0)
    own = member_cells(
        pairs, quotient=True, scale=1, only=denominator.keys(), measured=numerator.keys()
    )
    assert own == {1: Cell(None, "missing"), 2: Cell(None, "missing")}


def test_weighted_mean() -> None:
    values = {1: Cell(10, "normal"), 2: Cell(20, "normal")}
    weights = {1: Cell(1, "normal"), 2: Cell(3, "normal")}
    result = {
        u: quotient_cell(a) for u, a in accumulate(weighted_pairs(values, weights), TARGETS).items()
    }
    assert result[10].value == pytest.approx((10 * 1 + 20 * 3) / 4)


def test_primary_and_secondary_suppression() -> None:
    cells = {u: Cell(float(u), "normal") for u in (1, 2, 3, 4, 10, 11, 100)}
    size = {1: 2.0, 2: 50.0, 3: 40.0, 4: 60.0, 10: 92.0, 11: 60.0, 100: 152.0}
    groups = [[1, 2, 3], [4], [10, 11]]
    result = suppress(cells, size, 5.0, groups)
    hidden = {u for u, c in result.items() if c.status == "confidential"}
    # 1 is below the threshold; 3 is the smallest sibling left, so 1 cannot be recomputed.
    assert hidden == {1, 3}
    assert all(result[u].value is None for u in hidden)
    assert result[2] == cells[2]


def test_secondary_suppression_reaches_a_fixed_point() -> None:
    # 1 is primary; its sibling 2 gets suppressed; 2 is also alone in another group
    # (a regionalisation), so a sibling there must follow.
    cells = {u: Cell(10.0, "normal") for u in (1, 2, 3, 4, 5)}
    size = {1: 1.0, 2: 20.0, 3: 30.0, 4: 40.0, 5: 50.0}
    result = suppress(cells, size, 5.0, [[1, 2], [2, 4, 5], [3]])
    hidden = {u for u, c in result.items() if c.status == "confidential"}
    assert hidden == {1, 2, 4}
    for group in ([1, 2], [2, 4, 5], [3]):
        assert sum(u in hidden for u in group) != 1


def _hidden(result: dict[int, Cell]) -> set[int]:
    return {u for u, c in result.items() if c.status == "confidential"}


def test_a_pattern_that_moves_keeps_what_it_hid_while_its_primary_cell_stays() -> None:
    """Revision 1 hides 1 (primary) and 2 (the smallest sibling); revision 2 makes 3
    primary too. Computed afresh, {1, 3} suffices and 2 is shown — and 2's value turns
    revision 1's hidden sum 1 + 2 into the value of 1. Kept, it is not shown."""
    cells = {u: Cell(float(u * 100), "normal") for u in (1, 2, 3, 4, 5)}
    groups = [[1, 2, 3, 4, 5]]
    first = suppress(cells, {1: 3.0, 2: 40.0, 3: 50.0, 4: 60.0, 5: 70.0}, 10.0, groups)
    assert _hidden(first) == {1, 2}
    later = {1: 3.0, 2: 40.0, 3: 4.0, 4: 60.0, 5: 70.0}
    assert _hidden(suppress(cells, later, 10.0, groups)) == {1, 3}
    assert _hidden(suppress(cells, later, 10.0, groups, _hidden(first))) == {1, 2, 3}


def test_a_kept_cell_is_tied_through_a_chain_of_groups() -> None:
    """2 was hidden beside 1 (primary) in one group, and 4 beside 2 in another: 4 stays
    too, or 2 = (the second group's hidden sum) − 4, and then 1 follows."""
    cells = {u: Cell(10.0 * u, "normal") for u in (1, 2, 3, 4, 5, 6)}
    size = {1: 1.0, 2: 20.0, 3: 30.0, 4: 40.0, 5: 50.0, 6: 60.0}
    groups = [[1, 2, 3], [2, 4, 5], [6]]
    result = suppress(cells, size, 5.0, groups, hidden_before={1, 2, 4, 6})
    # 6 was hidden too, but nothing ties it to a primary cell now: shown.
    assert _hidden(result) == {1, 2, 4}


def test_a_pattern_without_its_primary_cells_is_released_whole() -> None:
    cells = {u: Cell(10.0 * u, "normal") for u in (1, 2, 3)}
    size = {1: 12.0, 2: 20.0, 3: 30.0}  # 1 is no longer below the threshold
    assert suppress(cells, size, 5.0, [[1, 2, 3]], hidden_before={1, 2}) == cells


def test_nothing_below_the_threshold_suppresses_nothing() -> None:
    cells = {1: Cell(10.0, "normal"), 2: Cell(20.0, "normal")}
    assert suppress(cells, {1: 10.0, 2: 20.0}, 5.0, [[1, 2]]) == cells


def test_the_vectorised_sum_equals_the_plain_one() -> None:
    import random

    from app.stats.aggregate import Incidence, accumulate_many

    rng = random.Random(7)
    targets = {m: rng.sample(range(100, 130), rng.randint(0, 4)) for m in range(300)}
    statuses = ["normal", "estimated", "provisional", "confidential", "missing", "not_applicable"]
    pairs: dict[int, tuple[tuple[float, float] | None, str]] = {}
    for member in rng.sample(range(300), 250):
        status = rng.choice(statuses)
        has_value = status in ("normal", "estimated", "provisional")
        pairs[member] = ((rng.random() * 100, rng.random()) if has_value else None, status)
    plain = accumulate(pairs, targets)
    fast = accumulate_many(pairs, Incidence(targets))
    assert plain.keys() == fast.keys()
    for target, acc in plain.items():
        other = fast[target]
        assert (acc.members, acc.with_value, acc.confidential, acc.quality) == (
            other.members,
            other.with_value,
            other.confidential,
            other.quality,
        )
        assert acc.a == pytest.approx(other.a, rel=1e-12)
        assert acc.b == pytest.approx(other.b, rel=1e-12)
    # Limited to some targets (a correction's reach): those, with the same sums.
    only = [100, 107, 129, 999]  # 999 contains no member
    limited = accumulate_many(pairs, Incidence(targets), only)
    assert limited.keys() == {t for t in only if t in fast}
    assert limited and all(limited[t] == fast[t] for t in limited)


def test_an_area_of_aggregates_counts_an_incomplete_unit_with_its_coverage() -> None:
    # Unit 10 stands for 3 sectors, 2 of them with a value; unit 11 for one complete sector.
    units = {10: Cell(30.0, "incomplete", 2 / 3), 11: Cell(4.0, "normal", 1.0)}
    acc = accumulate_area(sum_pairs(units), {10: 2 / 3}, {10: 3.0, 11: 1.0})
    assert acc is not None
    assert sum_cell(acc) == Cell(34.0, "incomplete", pytest.approx(3 / 4))
    # A ratio keeps the incomplete unit's parts, and says it is incomplete.
    pairs = ratio_pairs(
        combine_parts([units]), combine_parts([{10: Cell(10.0, "normal"), 11: Cell(2.0, "normal")}])
    )
    acc = accumulate_area(pairs, {10: 2 / 3}, {10: 3.0, 11: 1.0})
    assert acc is not None
    assert quotient_cell(acc) == Cell(34.0 / 12.0, "incomplete", pytest.approx(3 / 4))
    assert accumulate_area({}, {}, {}) is None
