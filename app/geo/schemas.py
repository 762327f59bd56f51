"""JSON shapes of the geography API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class LevelOut(BaseModel):
    level: str
    name_nl: str
    name_en: str
    description: str
    administrative: bool = Field(description="Part of the sector → region tree.")
    versions: dict[str, int] = Field(description="Number of units per geography version.")


class UnitOut(BaseModel):
    id: str = Field(examples=["municipality:44021"], description="`level:code`")
    code: str = Field(examples=["44021"])
    level: str = Field(examples=["municipality"])
    version: str = Field(examples=["2025"])
    name: str = Field(examples=["Gent"])
    not_localisable: bool = Field(
        description="A …ZZZZ sector: counts in municipal totals, never on a map."
    )
    uri: str | None = Field(
        default=None, description="Official URI where one exists (municipalities)."
    )


class UnitDetail(UnitOut):
    parent: UnitOut | None = Field(description="Parent in the administrative tree.")
    parents: dict[str, UnitOut] = Field(
        description="The unit containing this one at every level and regionalisation."
    )
    children_count: int = Field(description="Units whose administrative parent is this one.")
    member_counts: dict[str, int] = Field(description="Units inside, per level.")
    members: list[UnitOut] | None = Field(
        default=None,
        description="For a regionalisation or city-region: its municipalities.",
    )
    definition: list[str] | None = Field(
        default=None, description="For a city-region: the units it is defined by."
    )
    successors: list[UnitOut] = Field(description="The units that continue this one later.")
    predecessors: list[UnitOut] = Field(description="The units this one continues.")
    versions: list[str] = Field(description="Versions in which this level:code exists.")


class VersionOut(BaseModel):
    id: str = Field(examples=["2025"])
    label: str
    valid_from: date
    valid_to: date | None = Field(description="Last day of validity; null while current.")
