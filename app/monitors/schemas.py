"""Typed shapes of monitors, comparisons and unit profiles: the seed definition and the JSON
answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from app.geo.schemas import UnitOut
from app.stats.schemas import JsonStatDataset
from app.unitsets.schemas import Text


class MonitorPart(BaseModel):
    """An indicator of a monitor; ``dataset`` only where several datasets carry it."""

    model_config = ConfigDict(extra="forbid")

    indicator: str = Field(min_length=1, max_length=100)
    dataset: str | None = Field(default=None, max_length=100)


class MonitorDefinition(BaseModel):
    """One entry of ``seeds/monitors.yaml``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    title: Text
    description: Text | None = None
    unit_set: str = Field(min_length=1)
    reference: str = Field(default="region:02000", description="`level:code` of the reference.")
    indicators: list[MonitorPart] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def short_parts(cls, data: object) -> object:
        """An indicator may be written as its id alone (one line in the seed file)."""
        if isinstance(data, dict) and isinstance(data.get("indicators"), list):
            data = dict(data)
            data["indicators"] = [
                {"indicator": p} if isinstance(p, str) else p for p in data["indicators"]
            ]
        return data


class UnitValue(BaseModel):
    """The value of one unit for one indicator and period, with its rank and change."""

    id: str = Field(examples=["municipality:44021"], description="`level:code`")
    level: str
    code: str
    name: str
    value: int | float | None = Field(description="Empty when the status says why there is none.")
    status: str = Field(examples=["normal"], description="As in the observations API.")
    coverage: float | None = Field(description="Share of members that had a value (derived).")
    rank: int | None = Field(
        default=None,
        description="Rank among the set's units that have a value, 1 = the highest value "
        "(equal values share a rank); none for the reference and for units without a value.",
    )
    previous_period: str | None = Field(description="The period before this one, if any.")
    previous_value: int | float | None = Field(description="The value of that period.")
    change: int | float | None = Field(
        description="value − previous value, in the indicator's unit and decimals."
    )
    change_pct: float | None = Field(
        description="The change as a percentage of the previous value (2 decimals); none "
        "when the previous value is 0 or missing."
    )


class PeriodValues(BaseModel):
    period: str = Field(examples=["2021"])
    reference: UnitValue | None = Field(description="The reference unit (the Flemish Region).")
    units: list[UnitValue] = Field(description="The set's units, in the set's order.")
    ranked: int = Field(
        description="How many units have a rank: those with a complete value (an incomplete "
        "value, over part of a unit, is shown without a rank)."
    )


class IndicatorSeries(BaseModel):
    indicator: str = Field(examples=["electricity-consumption-residential"])
    dataset: str = Field(examples=["energy-fluvius"])
    label: Text
    unit_of_measure: str
    decimals: int
    periods: list[PeriodValues]
    api_url: str = Field(description="The observations query that gives the same values.")


class Withheld(BaseModel):
    """An indicator of a restricted dataset the caller may not read."""

    indicator: str
    dataset: str
    status: int = Field(examples=[401], description="What the observations API would answer.")
    reason: str


class MonitorSummary(BaseModel):
    id: str = Field(examples=["klimaat-energie"])
    title: Text
    description: Text | None = None
    unit_set: str = Field(examples=["centrumsteden"])
    reference: str = Field(examples=["region:02000"])
    indicators: list[str]


class MonitorOut(MonitorSummary):
    version: str = Field(description="Geography version of the units.")
    units: list[UnitOut]
    reference_unit: UnitOut | None
    series: list[IndicatorSeries]
    withheld: list[Withheld] = Field(
        description="Indicators left out because the caller may not read their dataset."
    )


class ComparisonOut(BaseModel):
    version: str
    units: list[UnitOut]
    reference_unit: UnitOut | None
    series: IndicatorSeries


class ProfileRow(BaseModel):
    """The latest value of one indicator for the unit, beside its city-region and region."""

    indicator: str
    dataset: str
    label: Text
    unit_of_measure: str
    decimals: int
    period: str
    value: UnitValue
    cityregion: UnitValue | None
    region: UnitValue | None
    api_url: str


class ProfileOut(BaseModel):
    unit: UnitOut
    cityregion: UnitOut | None = Field(
        description="Its city-region: the city's own for a centre city, else the first that "
        "contains it."
    )
    region: UnitOut | None
    indicators: list[ProfileRow]


class MonitorJson(RootModel[MonitorOut | JsonStatDataset]):
    """The JSON body of a monitor: the monitor, or JSON-stat (`format=jsonstat`)."""


class ComparisonJson(RootModel[ComparisonOut | JsonStatDataset]):
    """The JSON body of a comparison: the comparison, or JSON-stat (`format=jsonstat`)."""
