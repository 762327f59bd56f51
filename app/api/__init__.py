"""HTTP API: mounts every domain's router under ``/api/v1`` and holds shared dependencies
(database session, pagination)."""
