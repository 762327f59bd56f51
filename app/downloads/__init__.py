"""Whole-dataset downloads: the files the DCAT distributions' ``downloadURL``s name (the CSV,
the JSON and the Frictionless Data Package), written once per dataset revision, stored
compressed with their size and checksum, and served as stored files with an ``ETag``.
Filtered exports keep streaming from the observations API (app.stats)."""
