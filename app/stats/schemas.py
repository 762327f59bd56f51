"""JSON shapes of the observations API.

The observations page is serialised with orjson straight from the records (a page can hold
thousands): these models document the response in OpenAPI and are what tests and fuzzers
check the body against; they are not run over every row at request time.
"""

from __future__ import annotations

from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field, RootModel

from app.api.schemas import Page


class Record(TypedDict):
    """A flat observation record as the service streams it (serialised by orjson and the CSV
    writer without a model per row); :class:`ObservationRecord` documents it."""

    indicator: str
    period: str
    level: str
    version: str
    code: str
    name: str
    value: float | None
    unit_of_measure: str
    status: str
    coverage: float | None


class ProvenanceRecord(Record):
    supplier: str | None
    submission: int | None
    revision: int | None


class ObservationRecord(BaseModel):
    """One flat observation record (DESIGN §4)."""

    indicator: str = Field(examples=["population"])
    period: str = Field(examples=["2025"])
    level: str = Field(
        examples=["municipality"], description="A geographic level, or `area` for an ad-hoc area."
    )
    version: str = Field(examples=["2025"], description="Geography version.")
    code: str = Field(examples=["44021"])
    name: str = Field(examples=["Gent"])
    value: float | None = Field(description="Empty when the status says why there is none.")
    unit_of_measure: str = Field(examples=["inhabitants"])
    status: str = Field(
        examples=["normal"],
        description="normal, provisional, estimated, confidential, not_applicable, missing, "
        "or incomplete (a derived value some members had no value for).",
    )
    coverage: float | None = Field(
        description="For derived values: the share of members that had a value; "
        "empty for values as supplied."
    )
    supplier: str | None = Field(
        default=None,
        description="With `provenance=true`: who supplied the value; null for a sector still "
        "awaited (stored as missing when another supplier's file opened its period).",
    )
    submission: int | None = Field(
        default=None, description="With `provenance=true`: the submission that carried it."
    )
    revision: int | None = Field(
        default=None, description="With `provenance=true`: the revision that introduced it."
    )


class ObservationPage(Page[ObservationRecord]):
    """A page of observation records."""

    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the next page (the `next` link does); none on the "
        "last page. Opaque, bound to this query; a changed cursor is refused (422).",
    )


class JsonStatDataset(BaseModel):
    """A JSON-stat 2.0 dataset (https://json-stat.org/format/), answered for
    `format=jsonstat` or `Accept: application/vnd.json-stat+json`."""

    model_config = ConfigDict(extra="allow")

    version: str = Field(examples=["2.0"])
    class_: str = Field(alias="class", examples=["dataset"])
    id: list[str]
    size: list[int]
    dimension: dict[str, Any]
    value: list[float | None]


class ObservationsJson(RootModel[ObservationPage | JsonStatDataset]):
    """The JSON body of the observations query: a page of records, or JSON-stat."""
