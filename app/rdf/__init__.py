"""RDF: the catalogue as DCAT-AP 3 / DCAT-AP-VL 3 graphs, content negotiation, validation."""
