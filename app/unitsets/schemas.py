"""Typed shapes of the unit sets: the seed definition and the JSON answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.geo.schemas import UnitOut


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nl: str = Field(min_length=1)
    en: str = Field(min_length=1)


class UnitSetDefinition(BaseModel):
    """One entry of ``seeds/unit_sets.yaml``: exactly one way to find the members."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: Text
    description: Text | None = None
    members: list[str] | None = Field(
        default=None, description="Units as `level:code`, in this order."
    )
    level: str | None = Field(default=None, description="Every unit of this level …")
    within: str | None = Field(default=None, description="… inside this `level:code`.")
    cities_of: Literal["cityregion"] | None = Field(
        default=None,
        description="The municipalities of the cities that define the city-regions "
        "(seeds/cityregions.yaml): the geography's centre-city list.",
    )

    @model_validator(mode="after")
    def one_source(self) -> UnitSetDefinition:
        given = [self.members is not None, self.level is not None, self.cities_of is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of members, level (with optional within), cities_of")
        if self.within is not None and self.level is None:
            raise ValueError("within needs level")
        if self.members is not None and not self.members:
            raise ValueError("members is empty")
        return self


class UnitSetOut(BaseModel):
    """A named set of units, resolved in one geography version."""

    id: str = Field(examples=["centrumsteden"])
    name: Text
    description: Text | None = None
    version: str = Field(examples=["2025"], description="Geography version of the units.")
    definition: str = Field(
        examples=["the cities of the city-regions"], description="How the members are found."
    )
    units: list[UnitOut]
