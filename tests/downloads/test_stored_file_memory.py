"""A stored file larger than the writing process may hold in memory is still written and read
back whole (issue 10: a dataset of ten million rows stores files of hundreds of megabytes).

The writer is a real process on the world's database, its address space limited
(``RLIMIT_AS``) to what it had after start-up plus a headroom smaller than the compressed
file: the file is compressed into a spool (a temporary file beyond a few megabytes) and
stored a piece at a time, then read back a piece at a time and checked against the bytes
written, and so are byte ranges of it, compressed and plain, larger than the headroom — which
a writer or a reader holding the file whole could not do under the limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from app.config import PROJECT_ROOT
from tests.factories import World

HEADROOM_MB = 24
FILE_MB = 48  # incompressible: the compressed file is as large

CHILD = """
import hashlib, json, random, resource, sys, zlib
from pathlib import Path
from app.db.session import make_engine, make_session_factory, transaction
from app.downloads import repository, service

url, dataset, file_mb, headroom_mb = sys.argv[1:5]
factory = make_session_factory(make_engine(url))
with transaction(factory) as session:  # connected, the modules' first statements run
    service.store(session, dataset, "observations.csv", "warm", "text/csv", [b"warm"])

def size_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1])
    raise RuntimeError("no VmSize")

def chunks():
    generator = random.Random(20261205)
    for _ in range(int(file_mb) * 4):
        yield generator.randbytes(1 << 18)

limit = (size_kb() + int(headroom_mb) * 1024) * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
with transaction(factory) as session:
    row = service.store(session, dataset, "observations.csv", "big", "text/csv", chunks())
    written = (row.byte_size, row.sha256, row.gzip_size)
digest, size, compressed = hashlib.sha256(), 0, 0
# A byte range of each representation, larger than the headroom: the plain bytes from 8 MB
# to the end, the gzip bytes from 4 MB to 1,000 bytes before the end.
plain_range = (8 << 20, int(file_mb) << 20)
gzip_range = (4 << 20, written[2] - 1000)
plain_part, gzip_part = hashlib.sha256(), hashlib.sha256()

def overlap(data, at, bounds):
    first, end = bounds
    return data[max(0, first - at) : max(0, end - at)]

inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
with factory() as session:
    row = repository.get(session, dataset, "observations.csv")
    for piece in repository.content_pieces(session, row):
        gzip_part.update(overlap(piece, compressed, gzip_range))
        compressed += len(piece)
        while piece:
            plain = inflate.decompress(piece, 1 << 20)
            plain_part.update(overlap(plain, size, plain_range))
            size += len(plain)
            digest.update(plain)
            piece = inflate.unconsumed_tail

def streamed(chunks):
    part, length = hashlib.sha256(), 0
    for chunk in chunks:
        part.update(chunk)
        length += len(chunk)
    return [length, part.hexdigest()]

ranges = []
with factory() as session:
    stored = service.download(session, repository.get(session, dataset, "observations.csv"))
    for bounds, whole, read in (
        (plain_range, plain_part, stored.plain_part),
        (gzip_range, gzip_part, stored.gzip_part),
    ):
        first, end = bounds
        ranges.append([streamed(read(first, end - first)), [end - first, whole.hexdigest()]])
print(json.dumps({
    "written": written, "read": [size, digest.hexdigest(), compressed], "ranges": ranges,
}))
"""


def test_a_file_larger_than_the_writers_memory_is_stored_and_read_whole(world_db: World) -> None:
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            world_db.url,
            "population-2025",
            str(FILE_MB),
            str(HEADROOM_MB),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        # One thread (one malloc arena): the limit is on address space (see
        # tests/ingest/test_bounded_memory.py).
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "MALLOC_ARENA_MAX": "1"},
    )
    assert child.returncode == 0, child.stderr[-3000:]
    answer = json.loads(child.stdout.strip().splitlines()[-1])
    size, sha256, gzip_size = answer["written"]
    assert size == FILE_MB << 20
    assert gzip_size > HEADROOM_MB << 20  # more than the process could hold
    assert answer["read"] == [size, sha256, gzip_size]
    # A byte range of either representation, larger than the headroom, is sent as it is
    # read too (the plain one inflated from the start, what comes before it dropped).
    for sent, expected in answer["ranges"]:
        assert sent == expected
        assert sent[0] > HEADROOM_MB << 20
