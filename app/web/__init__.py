"""HTML pages for people: the landing pages behind the dataset, organisation and indicator
URIs (simple for now), with every text escaped."""
