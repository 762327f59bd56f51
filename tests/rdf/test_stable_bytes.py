"""Every worker writes a document in the same bytes: rdflib's RDF/XML and JSON-LD writers
(and a set in the licence's description) followed each process's hash seed, so two workers
gave one document two ETags and a harvester's ``If-None-Match`` missed at the other one, and
after each restart every such document was new."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.compare import isomorphic

DOCUMENTS = ["/catalog", "/doc/dataset/income", "/doc/organisation/gent"]
FORMATS = {
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "text/turtle": "turtle",
}
# A worker of its own: the app on the test's database, in a process with the given seed.
WORKER = """
import hashlib, json, sys
from fastapi.testclient import TestClient
from app.config import Settings
from app.main import create_app
app = create_app(Settings(database_url=sys.argv[1], write_stored_files=False))
with TestClient(app) as client:
    print(json.dumps({
        f"{path} {accept}": hashlib.sha256(client.get(
            path, headers={"Accept": accept, "Accept-Encoding": "identity"}
        ).content).hexdigest()
        for path in json.loads(sys.argv[2]) for accept in json.loads(sys.argv[3])
    }))
"""


def digests(url: str, seed: int) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, url, json.dumps(DOCUMENTS), json.dumps(list(FORMATS))],
        env={**os.environ, "PYTHONHASHSEED": str(seed)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    found: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_two_workers_write_every_document_in_the_same_bytes(real_db: str) -> None:
    first, second = digests(real_db, 1), digests(real_db, 2)
    assert len(first) == len(DOCUMENTS) * len(FORMATS)
    assert {k for k in first if first[k] != second[k]} == set()


def test_every_format_says_the_same(client: TestClient) -> None:
    for path in DOCUMENTS:
        graphs = []
        for accept, rdf_format in FORMATS.items():
            response = client.get(path, headers={"Accept": accept})
            assert response.status_code == 200
            assert response.headers["content-type"].startswith(accept)
            graphs.append(Graph().parse(data=response.content, format=rdf_format))
        assert len(graphs[0]) > 20
        assert all(isomorphic(graphs[0], other) for other in graphs[1:]), path
