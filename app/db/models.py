"""Imports every domain's models so that ``Base.metadata`` is complete (Alembic, tests)."""

from app.auth.models import ApiKey
from app.catalogue.models import (
    Dataset,
    DatasetChange,
    DatasetIndicator,
    DatasetRole,
    Indicator,
    Licence,
    Organisation,
    RoleTerritory,
)
from app.db.base import Base
from app.geo.models import CityRegion, GeoSuccessor, GeoUnit, GeoUnitAncestor, GeoVersion
from app.stats.models import Observation, PublishedValue, Submission

__all__ = [
    "ApiKey",
    "Base",
    "CityRegion",
    "Dataset",
    "DatasetChange",
    "DatasetIndicator",
    "DatasetRole",
    "GeoSuccessor",
    "GeoUnit",
    "GeoUnitAncestor",
    "GeoVersion",
    "Indicator",
    "Licence",
    "Observation",
    "Organisation",
    "PublishedValue",
    "RoleTerritory",
    "Submission",
]
