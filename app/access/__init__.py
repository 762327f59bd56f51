"""Uniform access rules: access levels, grants to restricted data, and the append-only audit
log of writes and of reads of restricted data."""
