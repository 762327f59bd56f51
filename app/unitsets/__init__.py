"""Named unit sets (``centrumsteden``, the city-regions, the Flemish Region, the provinces):
defined as data in ``seeds/unit_sets.yaml`` and resolved against the geography, usable
wherever a list of units is accepted as ``unit=set:NAME``."""
