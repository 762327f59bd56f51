"""Datapedia: open-data catalogue and statistics API for the Flemish centre cities."""
