"""Catalogue: organisations, licences, datasets with their DCAT metadata and roles, and the
indicator definitions (the Datapedia)."""
