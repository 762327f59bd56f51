"""JSON shapes of the catalogue API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from app.api.schemas import Page, Text, Timestamp
from app.geo.schemas import UnitOut


class OrganisationRef(BaseModel):
    id: str = Field(examples=["gent"])
    name: Text


class RoleOut(BaseModel):
    dataset: str
    role: str


class OrganisationOut(OrganisationRef):
    kind: str
    nis_code: str | None
    ovo_code: str | None
    homepage: str | None
    email: str | None
    roles: list[RoleOut] = Field(description="Roles this organisation holds on datasets.")


class LicenceOut(BaseModel):
    id: str
    title: Text
    uri: str
    description: Text
    attribution_required: bool


class DatasetRoleOut(BaseModel):
    organisation: OrganisationRef
    role: str = Field(description="owner, publisher, supplier, custodian or originator")
    territory: list[UnitOut] = Field(
        default_factory=list, description="For a supplier: the units it may submit data for."
    )


class IndicatorRef(BaseModel):
    id: str
    label: Text
    unit_of_measure: str
    aggregation: str


class TemporalOut(BaseModel):
    """The time the dataset covers: the declared coverage, widened to the years it holds
    values for (a supplier's new year moves the end; withdrawing it moves it back)."""

    start: date | None
    end: date | None


class ContactOut(BaseModel):
    name: str | None
    email: str | None


class SourceOut(BaseModel):
    """Where the data comes from, and how the source asks to be cited."""

    title: str | None = None
    url: str | None = None
    attribution: str | None = None


class DatasetOut(BaseModel):
    id: str = Field(examples=["population-2025"])
    title: Text
    description: Text
    keywords: dict[str, list[str]]
    themes: list[str] = Field(description="EU data-theme codes.")
    licence: LicenceOut
    access_level: str = Field(description="public, restricted or non_public")
    frequency: str | None
    geo_version: str
    temporal: TemporalOut
    spatial: list[str]
    contact: ContactOut
    source: SourceOut
    version: str | None
    issued: Timestamp
    modified: Timestamp
    publisher: OrganisationRef | None
    owners: list[OrganisationRef]
    roles: list[DatasetRoleOut]
    indicators: list[IndicatorRef]


class Facet(BaseModel):
    value: str
    count: int


class DatasetPage(Page[DatasetOut]):
    facets: dict[str, list[Facet]] = Field(
        description="Counts over the whole result for themes, licence, organisation, access_level."
    )


class AggregationOut(BaseModel):
    rule: str = Field(description="sum, ratio, weighted_mean or none")
    numerator: list[str]
    denominator: list[str]
    scale: float
    weight: str | None


class DisclosureOut(BaseModel):
    min_count: float | None
    reference: str | None
    min: float | None


class PartOut(BaseModel):
    indicator: str
    dataset: str = Field(description="The dataset the part is read from.")
    label: Text | None = Field(default=None, description="The part indicator's label.")


class DerivedFormulaOut(BaseModel):
    rule: str = Field(
        description="ratio: Σnumerator / Σdenominator × scale over each unit's sectors"
    )
    numerator: list[PartOut]
    denominator: list[PartOut]
    scale: float


class DerivedOut(BaseModel):
    """How a derived indicator is computed from indicators of other datasets."""

    dataset: str = Field(description="The dataset that publishes it.")
    geo_version: str = Field(description="The geography version of every part.")
    formula: DerivedFormulaOut
    formula_text: Text = Field(description="The formula in words.")
    period_rule: str = Field(
        description="same: the periods every part has; map: the periods of period_map"
    )
    period_map: dict[str, dict[str, str]] = Field(
        description="Per period of the result, the period a part is read from where it "
        "differs (e.g. the census of 1 January 2021 for consumption year 2021)."
    )
    sources: list[OrganisationRef] = Field(description="The sources of its parts.")
    source_datasets: list[str]
    disclosure_reference: PartOut | None


class IndicatorOut(BaseModel):
    id: str = Field(examples=["population-density"])
    label: Text
    definition: Text
    unit_of_measure: str
    formula: str | None
    aggregation: AggregationOut
    disclosure: DisclosureOut | None
    source: OrganisationRef | None
    source_column: str | None
    caveats: Text
    decimals: int
    whole_numbers: bool = Field(
        description="A count of things (inhabitants, cars): submitted values are whole numbers."
    )
    datasets: list[str]
    levels: list[str] | None = Field(
        default=None, description="Levels at which values are published (detail only)."
    )
    versions: list[str] | None = Field(
        default=None, description="Geography versions with values (detail only)."
    )
    periods: list[str] | None = Field(
        default=None, description="Periods with values (detail only)."
    )
    derived: DerivedOut | None = Field(
        default=None,
        description="For a derived indicator across datasets: its formula as data and in "
        "words, the period rule and the parts' datasets.",
    )
