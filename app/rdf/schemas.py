"""Response models of the RDF side's JSON: a dataset's metadata quality (MQA score)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class IndicatorScore(BaseModel):
    metric: str = Field(description="The indicator's key.", examples=["keyword"])
    uri: str = Field(description="The metric's URI (`dqv:Metric`, dereferenceable).")
    label: str = Field(examples=["Keywords (dcat:keyword)"])
    computed_on: Literal["dataset", "distribution"]
    points: float = Field(description="Points earned.", examples=[30.0])
    maximum: int = Field(description="Points the indicator can earn.", examples=[30])
    met: int = Field(description="Nodes (the dataset, or its distributions) that meet it.")
    of: int = Field(description="Nodes checked.")
    lost: str | None = Field(
        description="Why points were lost (null when every point was earned).", examples=[None]
    )


class DimensionScore(BaseModel):
    dimension: str = Field(examples=["findability"])
    uri: str = Field(description="The dimension's URI (`dqv:Dimension`, dereferenceable).")
    label: str = Field(examples=["Findability"])
    points: float
    maximum: int
    indicators: list[IndicatorScore]


class Quality(BaseModel):
    """A dataset's score by data.europa.eu's Metadata Quality Assessment, computed from its
    DCAT graph."""

    dataset: str = Field(examples=["population-2025"])
    uri: str = Field(description="The dataset's URI in the catalogue.")
    method: str = Field(description="Where the method is published.")
    total: float = Field(examples=[405.0])
    maximum: int = Field(examples=[405])
    rating: Literal["excellent", "good", "sufficient", "bad"]
    dimensions: list[DimensionScore]
