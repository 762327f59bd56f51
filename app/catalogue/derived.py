"""Derived indicators across datasets, as authored in ``seeds/derived.yaml``.

A derived indicator is a Datapedia entry like any other (label, definition, unit, caveats,
decimals) whose values are computed from indicators of *other* datasets: a ratio of sums
(Σnumerator parts / Σdenominator parts × scale) with, per part, the dataset it is read from;
a period rule (``same``: the periods every part has; ``map``: the listed periods, each part
read from the period the map names, stated in the caveats); and the geography version of
every part. The result is published in a dataset of its own (``dataset``), which cites the
source datasets.

Loading checks everything against the catalogue and refuses, with file, line and reason, a
part that is an unknown indicator or not carried by its dataset, a part that is not additive
(a ratio can only sum ``sum``-rule parts: dividing by a ``none``-rule average is refused), a
part in another geography version than the formula's (no conversion rule exists between
sector versions), a period map without caveats, and parts that would collide in the
publishing dataset. Any problem refuses the whole seed: nothing is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from app.catalogue import repository
from app.catalogue.models import ACCESS_LEVELS, Dataset, DerivedIndicator, Indicator
from app.errors import SourceDataError

DERIVED_FILE = "derived.yaml"
FORMULA_RULES = ("ratio",)
PERIOD_RULES = ("same", "map")
PART_ROLES = ("numerator", "denominator")


@dataclass
class Part:
    indicator: str
    dataset: str
    role: str  # numerator | denominator | reference
    line: int


@dataclass
class DerivedEntry:
    """One entry of derived.yaml, read but not yet checked against the catalogue."""

    id: str
    line: int
    raw: dict[str, Any]
    lines: dict[str, int]
    dataset: str = ""
    geo_version: str = ""
    parts: list[Part] = field(default_factory=list)
    scale: float = 1.0
    periods: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def at(self, path: str) -> int:
        """The line of the value at ``path`` (dotted, list items by index), or the nearest
        enclosing one that has a line."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rpartition(".")[0]
        return self.line


def _node_lines(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            _node_lines(value, f"{path}.{name}" if path else name, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, f"{path}.{index}" if path else str(index), lines)


def read_entries(path: Path) -> list[DerivedEntry]:
    """The entries of ``derived.yaml`` with the line of every value; a file that is not a
    list of mappings with an ``id`` is refused."""
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or []
        root = yaml.compose(text)
    except (OSError, yaml.YAMLError) as exc:
        raise SourceDataError([f"{path.name}: {exc}"]) from exc
    if not isinstance(data, list) or not isinstance(root, yaml.SequenceNode | type(None)):
        raise SourceDataError([f"{path.name}:1: must be a list of derived indicators"])
    entries: list[DerivedEntry] = []
    problems: list[str] = []
    for index, item in enumerate(data):
        node = root.value[index] if root is not None else None
        line = node.start_mark.line + 1 if node is not None else 1
        if not isinstance(item, dict) or not item.get("id"):
            problems.append(f"{path.name}:{line}: an entry needs an 'id'")
            continue
        lines: dict[str, int] = {}
        if node is not None:
            _node_lines(node, "", lines)
        entries.append(DerivedEntry(id=str(item["id"]), line=line, raw=item, lines=lines))
    if problems:
        raise SourceDataError(problems)
    return entries


def indicator_values(entry: DerivedEntry) -> dict[str, Any]:
    """The indicator row's fields (the Datapedia entry and its ratio-of-sums aggregation)."""
    raw = entry.raw
    formula = raw.get("formula") or {}
    numerator = [str(p.get("indicator")) for p in _parts(formula, "numerator")]
    denominator = [str(p.get("indicator")) for p in _parts(formula, "denominator")]
    disclosure = raw.get("disclosure") or {}
    sources = raw.get("source") or []
    if isinstance(sources, str):
        sources = [sources]
    return {
        "unit_of_measure": str(raw.get("unit") or ""),
        "formula": formula_text(formula),
        "source_id": str(sources[0]) if sources else None,
        "source_column": None,
        "decimals": int(raw.get("decimals") or 0),
        "aggregation": "ratio",
        "numerator": numerator,
        "denominator": denominator,
        "scale": float(formula.get("scale") or 1),
        "disclosure_min_count": disclosure.get("min_count"),
        "disclosure_min": disclosure.get("min"),
    }


def _parts(formula: dict[str, Any], role: str) -> list[dict[str, Any]]:
    parts = formula.get(role) or []
    return [p if isinstance(p, dict) else {"indicator": p} for p in parts]


def formula_text(formula: dict[str, Any]) -> str:
    """The formula as one line: ``energy-fluvius:a / (age-census-2021:b + …) × scale``."""

    def side(role: str) -> str:
        names = [f"{p.get('dataset')}:{p.get('indicator')}" for p in _parts(formula, role)]
        text = " + ".join(names)
        return f"({text})" if len(names) > 1 else text

    scale = float(formula.get("scale") or 1)
    text = f"{side('numerator')} / {side('denominator')}"
    return text if scale == 1 else f"{text} × {scale:g}"


def check(
    session: Session,
    entries: list[DerivedEntry],
    file: str,
    indicator_ids: set[str],
    org_ids: set[str],
) -> list[str]:
    """Check the entries against the loaded catalogue (``indicator_ids``: those of
    indicators.yaml, which parts may name); fill in their parts. Returns the problems, each
    with file, line and reason."""
    problems: list[str] = []

    def problem(entry: DerivedEntry, path: str, reason: str) -> None:
        problems.append(f"{file}:{entry.at(path)}: {entry.id}: {reason}")

    datasets: dict[str, Dataset | None] = {}

    def dataset_of(dataset_id: str) -> Dataset | None:
        if dataset_id not in datasets:
            datasets[dataset_id] = repository.get_dataset(session, dataset_id)
        return datasets[dataset_id]

    seen: set[str] = set()
    # Per publishing dataset: the dataset each part indicator is read from, and per derived
    # period the period it is read from (parts are stored there under their own id).
    part_source: dict[tuple[str, str], tuple[str, str]] = {}
    part_period: dict[tuple[str, str, str], tuple[str, str]] = {}
    for entry in entries:
        raw = entry.raw
        if entry.id in seen or entry.id in indicator_ids:
            problem(entry, "id", "the id is already used by another indicator")
        seen.add(entry.id)
        for key in ("label", "definition"):
            value = raw.get(key)
            if not isinstance(value, dict) or not value.get("nl") or not value.get("en"):
                problem(entry, key, f"'{key}' needs both 'nl' and 'en'")
        entry.dataset = str(raw.get("dataset") or "")
        target = dataset_of(entry.dataset) if entry.dataset else None
        if target is None:
            problem(entry, "dataset", f"unknown publishing dataset {entry.dataset!r}")
        entry.geo_version = str(raw.get("geo_version") or "")
        if not entry.geo_version:
            problem(entry, "geo_version", "needs a geo_version (the parts' geography version)")
        elif target is not None and target.geo_version != entry.geo_version:
            problem(
                entry,
                "geo_version",
                f"geography version {entry.geo_version} differs from that of its dataset "
                f"{target.id} ({target.geo_version})",
            )
        formula = raw.get("formula")
        if not isinstance(formula, dict):
            problem(entry, "formula", "needs a formula")
            continue
        if formula.get("rule") not in FORMULA_RULES:
            problem(
                entry,
                "formula.rule",
                f"formula rule {formula.get('rule')!r} is not one of {FORMULA_RULES}",
            )
        try:
            entry.scale = float(formula.get("scale") or 1)
        except (TypeError, ValueError):
            problem(entry, "formula.scale", f"scale {formula.get('scale')!r} is not a number")
        for role in PART_ROLES:
            items = formula.get(role) or []
            if not isinstance(items, list) or not items:
                problem(entry, f"formula.{role}", f"a ratio needs a {role} (a list of parts)")
                continue
            for index, item in enumerate(items):
                path = f"formula.{role}.{index}"
                if not isinstance(item, dict) or not item.get("indicator"):
                    problem(entry, path, "a part needs {indicator: …, dataset: …}")
                    continue
                entry.parts.append(
                    Part(
                        str(item["indicator"]),
                        str(item.get("dataset") or ""),
                        role,
                        entry.at(path),
                    )
                )
        disclosure = raw.get("disclosure") or {}
        if disclosure.get("reference"):
            entry.parts.append(
                Part(
                    str(disclosure["reference"]),
                    str(disclosure.get("dataset") or ""),
                    "reference",
                    entry.at("disclosure.reference"),
                )
            )
            if disclosure.get("min") is None:
                problem(entry, "disclosure", "a disclosure reference needs a 'min'")
        sources: set[str] = set()
        for part in entry.parts:
            where = f"{file}:{part.line}: {entry.id}"
            indicator = session.get(Indicator, part.indicator)
            if indicator is None or part.indicator not in indicator_ids:
                problems.append(f"{where}: refers to unknown indicator {part.indicator!r}")
                continue
            source = dataset_of(part.dataset) if part.dataset else None
            if source is None:
                problems.append(
                    f"{where}: part {part.indicator!r} names no known dataset "
                    f"({part.dataset or 'none given'!s})"
                )
                continue
            if part.indicator not in repository.indicator_ids_by_dataset(session).get(
                source.id, []
            ):
                problems.append(
                    f"{where}: dataset {source.id!r} does not carry indicator {part.indicator!r}"
                )
                continue
            if indicator.aggregation != "sum":
                verb = {"denominator": "divide by", "numerator": "sum", "reference": "protect by"}
                problems.append(
                    f"{where}: would {verb[part.role]} indicator {part.indicator!r}, whose "
                    f"aggregation rule is {indicator.aggregation!r}: only additive ('sum') "
                    "indicators can be summed over a unit's sectors"
                )
                continue
            if entry.geo_version and source.geo_version != entry.geo_version:
                problems.append(
                    f"{where}: mixes geography versions without a rule: part "
                    f"{part.indicator!r} of {source.id} is in version {source.geo_version}, "
                    f"the formula in {entry.geo_version} (no conversion between sector "
                    "versions exists)"
                )
                continue
            if part.role != "reference" and indicator.source_id:
                sources.add(indicator.source_id)
            if part.role != "reference":
                problem_text = _unprotected(indicator, raw.get("disclosure") or {})
                if problem_text:
                    problems.append(f"{where}: {problem_text}")
            known = part_source.setdefault((entry.dataset, part.indicator), (source.id, entry.id))
            if known[0] != source.id:
                problems.append(
                    f"{where}: part {part.indicator!r} is read from {source.id}, but "
                    f"{known[1]} reads it from {known[0]} in the same dataset {entry.dataset}"
                )
        declared = raw.get("source") or []
        declared = [declared] if isinstance(declared, str) else [str(s) for s in declared]
        for organisation in declared:
            if organisation not in org_ids:
                problem(entry, "source", f"unknown source organisation {organisation!r}")
        if sources and set(declared) != sources:
            problem(
                entry,
                "source",
                f"source must be the sources of its parts: {sorted(sources)}, not {declared}",
            )
        entry.sources = declared
        entry.periods = _check_periods(entry, problem)
        for period, mapping in (entry.periods.get("map") or {}).items():
            for part in entry.parts:
                read = str(mapping.get(part.indicator, period))
                period_key = (entry.dataset, part.indicator, str(period))
                known_period = part_period.setdefault(period_key, (read, entry.id))
                if known_period[0] != read:
                    problems.append(
                        f"{file}:{entry.at('periods')}: {entry.id}: period {period} reads "
                        f"{part.indicator} of {read}, but {known_period[1]} reads it of "
                        f"{known_period[0]} in the same dataset"
                    )
    return problems


def _unprotected(part: Indicator, disclosure: dict[str, Any]) -> str | None:
    """Disclosure control applies to the parts too: a part with a rule of its own needs the
    derived indicator to apply it (the same reference, at least the same minimum)."""
    if part.disclosure_min_count is not None:
        reference, minimum = part.id, part.disclosure_min_count
    elif part.disclosure_reference_id is not None and part.disclosure_min is not None:
        reference, minimum = part.disclosure_reference_id, part.disclosure_min
    else:
        return None
    declared = disclosure.get("min")
    if disclosure.get("reference") == reference and declared is not None and declared >= minimum:
        return None
    return (
        f"part {part.id!r} has disclosure control ({reference} below {minimum:g} is "
        f"confidential); the derived indicator must apply it: disclosure: {{reference: "
        f"{reference}, dataset: …, min: {minimum:g}}}"
    )


def _check_periods(entry: DerivedEntry, problem: Any) -> dict[str, Any]:
    periods = entry.raw.get("periods") or {"rule": "same"}
    if not isinstance(periods, dict) or periods.get("rule") not in PERIOD_RULES:
        problem(entry, "periods", f"period rule must be one of {PERIOD_RULES}")
        return {"rule": "same"}
    if periods["rule"] == "same":
        return {"rule": "same"}
    mapping = periods.get("map")
    if not isinstance(mapping, dict) or not mapping:
        problem(entry, "periods", "a period map needs 'map: {period: {part: period}}'")
        return {"rule": "same"}
    caveats = entry.raw.get("caveats") or {}
    if not isinstance(caveats, dict) or not caveats.get("nl") or not caveats.get("en"):
        problem(entry, "caveats", "a period map must be stated in the caveats (nl and en)")
    names = {p.indicator for p in entry.parts}
    result: dict[str, dict[str, str]] = {}
    for period, reads in mapping.items():
        reads = reads or {}
        if not isinstance(reads, dict):
            problem(entry, f"periods.map.{period}", "each period maps parts to periods")
            continue
        for name in reads:
            if name not in names:
                problem(entry, f"periods.map.{period}", f"maps {name!r}, which is not a part")
        result[str(period)] = {str(k): str(v) for k, v in reads.items()}
    return {"rule": "map", "map": result}


def store(session: Session, entries: list[DerivedEntry]) -> int:
    """Write the checked entries' derivation rows (and drop those no longer seeded); the
    publishing dataset gets the strictest access level of its own and its sources'.
    Returns how many rows changed."""
    changed = 0
    wanted = {e.id for e in entries}
    for row in repository.derived_indicators(session):
        if row.indicator_id not in wanted:
            session.delete(row)
            changed += 1
    strictest: dict[str, str] = {}
    for entry in entries:
        values: dict[str, Any] = {
            "dataset_id": entry.dataset,
            "geo_version": entry.geo_version,
            "parts": [
                {"indicator": p.indicator, "dataset": p.dataset, "role": p.role}
                for p in entry.parts
            ],
            "periods": entry.periods,
            "sources": entry.sources,
        }
        stored = session.get(DerivedIndicator, entry.id)
        if stored is None:
            session.add(DerivedIndicator(indicator_id=entry.id, **values))
            changed += 1
        elif any(getattr(stored, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(stored, k, v)
            changed += 1
        levels = [strictest.get(entry.dataset, "public")]
        for part in entry.parts:
            source = repository.get_dataset(session, part.dataset)
            if source is not None:
                levels.append(source.access_level)
        strictest[entry.dataset] = max(levels, key=ACCESS_LEVELS.index)
    for dataset_id, level in strictest.items():
        dataset = repository.get_dataset(session, dataset_id)
        if dataset is not None and ACCESS_LEVELS.index(level) > ACCESS_LEVELS.index(
            dataset.access_level
        ):
            dataset.access_level = level
            changed += 1
    session.flush()
    return changed
