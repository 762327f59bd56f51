"""JSON shapes of the search box's answer."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.api.schemas import Text
from app.geo.schemas import UnitOut


class DatasetHit(BaseModel):
    id: str = Field(examples=["energy-fluvius"])
    title: Text
    url: str = Field(description="The dataset in the API.")


class IndicatorHit(BaseModel):
    id: str = Field(examples=["population"])
    label: Text
    url: str = Field(description="The indicator in the API.")


class SearchOut(BaseModel):
    q: str
    datasets: list[DatasetHit] = Field(description="Datasets that match (full text).")
    indicators: list[IndicatorHit] = Field(description="Indicators that match (full text).")
    places: list[UnitOut] = Field(
        description="Places whose name matches, municipalities first, latest version only."
    )
