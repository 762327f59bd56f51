"""HTML pages for people: the landing pages behind the dataset, organisation and indicator
URIs (simple for now), with every text escaped, no inline script or style (a strict
Content-Security-Policy applies), and their stylesheet in ``static/``."""
