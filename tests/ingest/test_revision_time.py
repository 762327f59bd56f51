"""A revision is dated by the commit that makes it visible, not by the start of its work."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sqlalchemy import select

from app.auth.service import authenticate
from app.catalogue.models import Dataset
from app.db.queries import as_utc
from app.db.session import transaction
from app.ingest import submissions
from app.stats.models import Submission
from tests.factories import World

DATASET = "population-2025"
CSV = b"sector,indicator,period,value\n44021A00-,population,2025,4321\n"


def test_as_of_a_moment_before_the_commit_reads_the_revision_before(world: World) -> None:
    """A moment while the submission was at work (here: after its work, before its commit)
    is not yet the new revision: as_of then answers the previous one; the history, the
    dataset's modification and the submission list date it at the commit."""
    first = world.client.post(
        f"/api/v1/datasets/{DATASET}/submissions",
        content=CSV.replace(b"4321", b"1000"),
        headers=world.headers("gent"),
    )
    assert first.status_code == 201, first.text
    with transaction(world.factory) as session:
        caller = authenticate(session, world.keys["gent"])
        result = submissions.submit(session, caller, DATASET, io.BytesIO(CSV), "text/csv")
        during = datetime.now(UTC)  # the work is done; nobody can read it yet
    with world.factory() as session:
        made = session.scalars(
            select(Submission.created_at).where(Submission.id == result.submission)
        ).one()
        modified = session.get(Dataset, DATASET)
        assert modified is not None
    assert as_utc(made) > during
    assert as_utc(modified.modified) > during
    moment = during.isoformat().replace("+00:00", "Z")
    observations = f"/api/v1/datasets/{DATASET}/observations"
    then = world.client.get(
        observations,
        params={"unit": "sector:44021A00-", "indicator": "population", "as_of": moment},
    )
    now = world.client.get(
        observations, params={"unit": "sector:44021A00-", "indicator": "population"}
    )
    assert now.json()["items"][0]["value"] == 4321
    assert then.status_code == 200, then.text
    assert then.json()["items"][0]["value"] == 1000
    history = world.client.get(f"/api/v1/datasets/{DATASET}/history").json()["items"]
    (entry,) = [
        e
        for e in history
        if e["kind"] == "submission" and e["changes"].get("revision") == result.revision
    ]
    assert datetime.fromisoformat(entry["at"].replace("Z", "+00:00")) > during
