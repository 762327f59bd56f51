"""Search: datasets with facets over the catalogue and the published statistics (levels and
periods available), and one search box over datasets, indicators and places."""
