"""Monitors (named, ordered sets of indicators with a unit set, seeded in
``seeds/monitors.yaml``), the ad-hoc comparison of an indicator over a set of units, and the
profile of one unit: read-only views over the published observations, with ranks and the
change since the previous period."""
