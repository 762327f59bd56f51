"""Geography: versioned statistical sectors, municipalities and every level above them,
regionalisations (referentieregio, vervoerregio), city-regions, and the importer that reads
the official code lists."""
