"""The model registry: imports every domain's models so that ``Base.metadata`` is complete.

It sits on the top layer (beside main and cli) so that ``app.db`` imports no domain; the
app, the CLI, Alembic and the tests import it before the first session."""

from app.access.models import AccessGrant
from app.api.models import RateLimitEvent
from app.audit.models import AuditEvent
from app.auth.models import ApiKey
from app.catalogue.models import (
    ChangeCounter,
    Dataset,
    DatasetChange,
    DatasetIndicator,
    DatasetRole,
    DerivedIndicator,
    Indicator,
    Licence,
    Organisation,
    RoleTerritory,
)
from app.db.base import Base
from app.downloads.models import StoredDownload, StoredDownloadPiece
from app.feedback.models import FeedbackMessage, FeedbackThread
from app.geo.models import (
    BoundarySource,
    CityRegion,
    GeoGeometry,
    GeoSuccessor,
    GeoUnit,
    GeoUnitAncestor,
    GeoVersion,
)
from app.stats.models import Observation, PublishedValue, Submission

__all__ = [
    "AccessGrant",
    "ApiKey",
    "AuditEvent",
    "Base",
    "BoundarySource",
    "ChangeCounter",
    "CityRegion",
    "Dataset",
    "DatasetChange",
    "DatasetIndicator",
    "DatasetRole",
    "DerivedIndicator",
    "FeedbackMessage",
    "FeedbackThread",
    "GeoGeometry",
    "GeoSuccessor",
    "GeoUnit",
    "GeoUnitAncestor",
    "GeoVersion",
    "Indicator",
    "Licence",
    "Observation",
    "Organisation",
    "PublishedValue",
    "RateLimitEvent",
    "RoleTerritory",
    "StoredDownload",
    "StoredDownloadPiece",
    "Submission",
]
