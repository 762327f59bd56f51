"""SHACL validation of our DCAT output against the official shapes in ``../shared/shacl/``.

Two shape sets, as ``../shared/shacl/README.md`` prescribes:

- ``dcat-ap-3.0.1``: ``shapes.ttl`` + ``range.ttl`` + ``shapes_recommended.ttl`` +
  ``mdr-vocabularies.shape.ttl`` in one shapes graph, without inference (the EU validator's
  "Full" profile plus the controlled vocabularies). ``deprecateduris.ttl`` is left out: it
  warns on the correct DCAT-AP 3 values. The ``imports`` files are not loaded (offline).
- ``dcat-ap-vl-3``: ``DCAT-AP-VL-SHACL.fixed.ttl`` with RDFS inference, which types every
  linked URL ``rdfs:Resource`` as its ``sh:class rdfs:Resource`` constraints expect.
- ``dcat-ap-vl-3-without-inference``: the same shapes without inference, as Metadata
  Vlaanderen validates; our output types its URL values ``rdfs:Resource`` itself.

The parsed shapes are kept per file (they never change while the process runs); the data graph
is never modified (pyshacl works on a copy when it infers).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pyshacl import validate
from rdflib import BNode, Graph, Literal
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from app.config import get_settings

SEVERITIES = ("Violation", "Warning", "Info")


@dataclass(frozen=True)
class ShapeSet:
    name: str
    files: tuple[str, ...]  # relative to the shapes directory
    inference: str  # pyshacl's: "none" or "rdfs"


SHAPE_SETS = (
    ShapeSet(
        "dcat-ap-3.0.1",
        (
            "dcat-ap-3.0.1/shapes.ttl",
            "dcat-ap-3.0.1/range.ttl",
            "dcat-ap-3.0.1/shapes_recommended.ttl",
            "dcat-ap-3.0.1/mdr-vocabularies.shape.ttl",
        ),
        "none",
    ),
    ShapeSet("dcat-ap-vl-3", ("dcat-ap-vl-3/DCAT-AP-VL-SHACL.fixed.ttl",), "rdfs"),
    # As Metadata Vlaanderen validates: Schematron from the same shapes, no inference.
    ShapeSet(
        "dcat-ap-vl-3-without-inference", ("dcat-ap-vl-3/DCAT-AP-VL-SHACL.fixed.ttl",), "none"
    ),
)


@dataclass(frozen=True)
class ValidationResult:
    """One ``sh:ValidationResult``, flattened to text."""

    shape_set: str
    severity: str  # Violation, Warning or Info
    focus_node: str
    path: str | None
    message: str
    value: str | None
    source_shape: str

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        value = f" (value {self.value})" if self.value else ""
        return (
            f"[{self.shape_set}] {self.severity}: {self.focus_node}{where}: {self.message}{value}"
        )


@dataclass(frozen=True)
class ShapeSetOutcome:
    name: str
    conforms: bool
    counts: dict[str, int]  # per severity, every key of SEVERITIES present
    results: tuple[ValidationResult, ...]
    seconds: float


@dataclass(frozen=True)
class ValidationOutcome:
    shape_sets: tuple[ShapeSetOutcome, ...]
    seconds: float = 0.0
    triples: int = 0
    by_name: dict[str, ShapeSetOutcome] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {s.name: s for s in self.shape_sets})

    def count(self, severity: str) -> int:
        return sum(s.counts.get(severity, 0) for s in self.shape_sets)

    @property
    def violations(self) -> int:
        return self.count("Violation")

    @property
    def warnings(self) -> int:
        return self.count("Warning")

    @property
    def infos(self) -> int:
        return self.count("Info")

    @property
    def results(self) -> list[ValidationResult]:
        return [r for s in self.shape_sets for r in s.results]

    def of(self, severity: str) -> list[ValidationResult]:
        return [r for r in self.results if r.severity == severity]

    def summary(self) -> str:
        lines = [f"{self.triples} triples validated in {self.seconds:.2f} s"]
        for outcome in self.shape_sets:
            counts = ", ".join(f"{outcome.counts[s]} {s}" for s in SEVERITIES)
            lines.append(f"{outcome.name}: {counts} ({outcome.seconds:.2f} s)")
        return "\n".join(lines)


def default_shacl_dir() -> Path:
    """``DATAPEDIA_SHACL_DIR``, else ``../shared/shacl`` beside the checkout (the parent of the
    real source files)."""
    settings = get_settings()
    return settings.shacl_dir or settings.source_dir.parent / "shacl"


@lru_cache(maxsize=16)
def _shapes(paths: tuple[Path, ...]) -> Graph:
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


def _text(graph: Graph, node: Node | None) -> str | None:
    """A result's node as text: IRIs in full (stable to compare), literals in N3."""
    if node is None:
        return None
    if isinstance(node, BNode):
        # A complex path (sh:inversePath, a sequence): show its triples, not a blank label.
        parts = [f"{_text(graph, p)} {_text(graph, o)}" for p, o in graph.predicate_objects(node)]
        return "[" + "; ".join(parts) + "]"
    if isinstance(node, Literal):
        return node.n3(graph.namespace_manager)
    return str(node)


def _results(shape_set: str, report: Graph) -> list[ValidationResult]:
    results = []
    # Only the report's own sh:result entries: the nested sh:detail results (why a value
    # failed an sh:node) repeat a top-level result and carry their inner shape's severity.
    top_level = [
        result
        for report_node in report.subjects(RDF.type, SH.ValidationReport)
        for result in report.objects(report_node, SH.result)
    ]
    for result in top_level:
        severity = report.value(result, SH.resultSeverity)
        messages = [str(m) for m in report.objects(result, SH.resultMessage)]
        results.append(
            ValidationResult(
                shape_set=shape_set,
                severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
                focus_node=str(report.value(result, SH.focusNode)),
                path=_text(report, report.value(result, SH.resultPath)),
                message="; ".join(messages)
                or str(report.value(result, SH.sourceConstraintComponent)),
                value=_text(report, report.value(result, SH.value)),
                source_shape=str(report.value(result, SH.sourceShape)),
            )
        )
    return sorted(results, key=lambda r: (r.severity, r.focus_node, r.path or "", r.message))


def _validate(data: Graph, shacl_dir: Path, shape_set: ShapeSet) -> ShapeSetOutcome:
    paths = tuple((shacl_dir / name).resolve() for name in shape_set.files)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"SHACL shapes not found: {', '.join(missing)}")
    shapes = _shapes(paths)
    started = time.perf_counter()
    conforms, report, _ = validate(
        data,
        shacl_graph=shapes,
        inference=shape_set.inference,
        abort_on_first=False,
        allow_infos=True,
        allow_warnings=True,
        advanced=False,
    )
    seconds = time.perf_counter() - started
    assert isinstance(report, Graph)
    results = _results(shape_set.name, report)
    counted = Counter(r.severity for r in results)
    return ShapeSetOutcome(
        name=shape_set.name,
        conforms=bool(conforms),
        counts={s: counted.get(s, 0) for s in SEVERITIES},
        results=tuple(results),
        seconds=seconds,
    )


def shacl_report(
    data: Graph,
    shacl_dir: Path | None = None,
    shape_sets: Sequence[ShapeSet] = SHAPE_SETS,
) -> ValidationOutcome:
    """Validate ``data`` against DCAT-AP 3.0.1 and DCAT-AP-VL 3; counts and results per set.

    ``shacl_dir`` defaults to :func:`default_shacl_dir`.
    """
    directory = shacl_dir if shacl_dir is not None else default_shacl_dir()
    started = time.perf_counter()
    outcomes = tuple(_validate(data, directory, s) for s in shape_sets)
    return ValidationOutcome(outcomes, time.perf_counter() - started, len(data))
