"""Uploads refused for their content or form are recorded: a rejected submission with its
first errors and their total, for the organisation that sent it, the dataset's publisher and
site admins to see later. The data, the revisions and the history stay as if the file had
never come."""

from __future__ import annotations

import gzip
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app.db.session import transaction
from app.stats.models import Submission
from tests.dbutil import backend
from tests.factories import Template, World, open_world, submit_rows

DATASET = "population-2025"
SUBMIT = f"/api/v1/datasets/{DATASET}/submissions"
OBS = f"/api/v1/datasets/{DATASET}/observations"
GENT = ["44021A00-", "44021A01-", "44021ZZZZ"]
ANTWERPEN = "11002A00-"
HEADER = "sector,indicator,period,value,status\n"
# What a refusal answers, as it did before refusals were recorded; and the record's id.
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}
ROW_PROBLEM_KEYS = PROBLEM_KEYS | {"errors", "error_count", "errors_shown"}


@pytest.fixture
def world(world_template: Template, tmp_path: Path) -> Iterator[World]:
    """A fresh world, with a small upload limit so that the 413 case stays small."""
    yield from open_world(world_template, tmp_path, max_upload_bytes=200_000)


def csv_rows(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def send(
    world: World, body: bytes, who: str = "gent", content_type: str = "text/csv"
) -> tuple[int, dict[str, Any]]:
    response = world.client.post(SUBMIT, content=body, headers=world.headers(who, content_type))
    return response.status_code, response.json()


def listed(world: World, who: str | None, **params: str) -> dict[str, Any]:
    headers = world.auth(who) if who else {}
    response = world.client.get(SUBMIT, params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def rejected_records(world: World) -> int:
    with world.factory() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Submission).where(Submission.state == "rejected")
            )
            or 0
        )


def values(world: World) -> list[tuple[object, ...]]:
    response = world.client.get(
        OBS, params={"unit": "municipality:44021", "indicator": "population"}
    )
    assert response.status_code == 200, response.text
    return [(r["period"], r["value"], r["status"]) for r in response.json()["items"]]


def latest_revision(world: World) -> int:
    revisions = [s["revision"] for s in listed(world, None)["items"] if s["revision"]]
    return max(revisions, default=0)


def test_a_refused_csv_is_recorded_with_its_errors_and_changes_no_data(world: World) -> None:
    submit_rows(world, DATASET, "gent", f"{GENT[0]},population,2025,10,")
    before = world.fingerprint()
    history = world.client.get(f"/api/v1/datasets/{DATASET}/history").json()
    dataset = world.client.get(f"/api/v1/datasets/{DATASET}").json()
    published = values(world)
    revision = latest_revision(world)
    assert revision >= 1 and published
    body = csv_rows(f"{GENT[0]},population,2025,-1,", f"{GENT[1]},population,2025,17,")

    status, problem = send(world, body)

    # The answer is the refusal it always was, naming the record.
    assert status == 422, problem
    assert set(problem) == ROW_PROBLEM_KEYS | {"submission"}
    assert problem["error_count"] == 1 and "negative" in problem["errors"][0]["reason"]
    # Nothing of the file is data: the counts, the history, the dataset's description (its
    # modification date), the published values and the latest revision are as they were.
    assert world.fingerprint() == before
    assert rejected_records(world) == 1
    assert world.client.get(f"/api/v1/datasets/{DATASET}/history").json() == history
    assert world.client.get(f"/api/v1/datasets/{DATASET}").json() == dataset
    assert values(world) == published
    assert latest_revision(world) == revision

    (record,) = listed(world, "gent", state="rejected")["items"]
    assert record == {
        "id": problem["submission"],
        "organisation": "gent",
        "created_at": record["created_at"],
        "source": "upload",
        "media_type": "text/csv",
        "sha256": hashlib.sha256(body).hexdigest(),
        "state": "rejected",
        "revision": None,
        "rows_total": 2,
        "rows_added": 0,
        "rows_changed": 0,
        "rows_unchanged": 0,
        "rows_not_supplied": 0,
        "withdrawn_by": None,
        "errors": problem["errors"],
        "error_count": 1,
    }
    # Newest first, among the accepted ones, for its sender.
    assert listed(world, "gent")["items"][0]["id"] == problem["submission"]
    assert all(s["state"] == "accepted" for s in listed(world, "gent", state="accepted")["items"])
    # The dataset's audit log (its owners') tells that it came, not what it held.
    audit = world.client.get(
        f"/api/v1/datasets/{DATASET}/audit", headers=world.auth("publisher-editor")
    ).json()["items"][0]
    assert (audit["action"], audit["organisation"]) == ("submission.refused", "gent")
    assert audit["target"] == f"submission:{problem['submission']}"
    assert audit["details"] == {"status": 422, "rows": 2, "errors": 1}

    # The next accepted upload is the next revision, as if the refused one had never come.
    accepted = submit_rows(world, DATASET, "gent", f"{GENT[1]},population,2025,17,")
    assert accepted["revision"] == revision + 1
    assert latest_revision(world) == revision + 1


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        (None, False),
        ("analyst", False),  # no role on the dataset
        ("statbel-editor", False),  # its originator
        ("antwerpen", False),  # another city: a co-owner and supplier of its own territory
        ("antwerpen-editor", False),
        ("gent", True),  # the sender's keys, any of them
        ("gent-reader", True),
        ("publisher-editor", True),  # the dataset's publisher
        ("admin", True),
    ],
)
def test_a_refused_upload_is_for_its_sender_the_publisher_and_site_admins(
    world: World, who: str | None, sees: bool
) -> None:
    """Its errors quote the cells of a file that was never published, which may hold what a
    disclosure rule would have hidden: not for other cities, even co-owners."""
    status, problem = send(world, csv_rows(f"{GENT[0]},population,2025,3.5,"))
    assert status == 422, problem
    accepted = listed(world, who, state="accepted")
    everything = listed(world, who)
    refused = listed(world, who, state="rejected")
    assert [s["id"] for s in refused["items"]] == ([problem["submission"]] if sees else [])
    assert refused["total"] == int(sees)
    assert everything["total"] == accepted["total"] + int(sees)
    assert problem["submission"] not in {s["id"] for s in accepted["items"]}


def test_a_city_sees_its_own_refusals_and_not_another_citys(world: World) -> None:
    sent = {
        who: send(world, csv_rows(f"{sector},population,2025,x,"), who)[1]["submission"]
        for who, sector in (("gent", GENT[0]), ("antwerpen", ANTWERPEN))
    }
    for who in ("gent", "antwerpen"):
        seen = [s["id"] for s in listed(world, who, state="rejected")["items"]]
        assert seen == [sent[who]]
    both = [s["id"] for s in listed(world, "publisher-editor", state="rejected")["items"]]
    assert both == [sent["antwerpen"], sent["gent"]]


def test_the_errors_are_recorded_up_to_100_with_their_total(world: World) -> None:
    body = csv_rows(*(f"{GENT[0]},population,2025,x{n}," for n in range(150)))
    status, problem = send(world, body)
    # The refusal lists them all (up to 1,000), the record the first 100 and the total.
    assert status == 422, problem
    assert (problem["error_count"], problem["errors_shown"]) == (150, 150)
    (record,) = listed(world, "gent", state="rejected")["items"]
    assert record["error_count"] == 150
    assert record["errors"] == problem["errors"][:100]
    assert [e["value"] for e in record["errors"]][-1] == "x99"
    assert record["rows_total"] == 150


def test_a_refused_upload_cannot_be_withdrawn(world: World) -> None:
    status, problem = send(world, csv_rows(f"{GENT[0]},population,2025,-3,"))
    assert status == 422, problem
    before = world.fingerprint()
    for who, expected in (
        ("gent", 409),
        ("publisher-editor", 409),
        ("admin", 409),
        # A co-owner may withdraw Gent's uploads, but does not see its refused files.
        ("antwerpen-editor", 404),
    ):
        response = world.client.delete(f"{SUBMIT}/{problem['submission']}", headers=world.auth(who))
        assert response.status_code == expected, (who, response.text)
        if expected == 409:
            assert "refused" in response.json()["detail"]
    assert world.fingerprint() == before
    assert listed(world, "gent", state="rejected")["items"][0]["withdrawn_by"] is None


def multipart(name: str, content: bytes, part_type: str) -> tuple[bytes, str]:
    boundary = "xyzzy"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {part_type}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_types_it_cannot_read_and_rows_outside_the_territory_are_recorded(world: World) -> None:
    before = world.fingerprint()
    sheet = b"PK\x03\x04 a spreadsheet"
    sheet_body, sheet_type = multipart("gent.xlsx", sheet, "application/vnd.ms-excel.sheet")
    xml = b"<rows><row sector='44021A00-'/></rows>"
    json_body = b'[{"sector": "44021A00-", "indicator": "population", "period": "2025"'
    cases = [
        (sheet_body, sheet_type, 415, "application/vnd.ms-excel.sheet", sheet),
        (xml, "application/xml", 415, "application/xml", xml),
        (json_body, "application/json", 422, "application/json", json_body),
        (csv_rows(f"{ANTWERPEN},population,2025,10,"), "text/csv", 403, "text/csv", None),
    ]
    sent = []
    for body, content_type, status, media_type, file in cases:
        answered, problem = send(world, body, content_type=content_type)
        assert answered == status, problem
        sent.append((problem, media_type, hashlib.sha256(file or body).hexdigest()))
    records = {s["id"]: s for s in listed(world, "gent", state="rejected")["items"]}
    assert len(records) == len(cases)
    for problem, media_type, digest in sent:
        record = records[problem["submission"]]
        assert (record["media_type"], record["sha256"]) == (media_type, digest)
        if "errors" in problem:  # the rows' problems, as listed (a JSON row has no line)
            assert record["errors"] == [{"line": None, **e} for e in problem["errors"]]
            assert record["error_count"] == problem["error_count"]
        else:  # a type it cannot read: the file's one problem
            assert set(problem) == PROBLEM_KEYS | {"supported", "submission"}
            assert record["errors"] == [
                {"row": 0, "line": None, "column": None, "value": None, "reason": problem["detail"]}
            ]
            assert record["error_count"] == 1
    assert world.fingerprint() == before


def test_refusals_of_the_caller_or_of_a_body_that_did_not_arrive_are_not_recorded(
    world: World,
) -> None:
    """No key, no right, no such dataset, a compressed or too large body, a multipart body
    without its file: no file of a supplier was read, so there is nothing to record."""
    good = csv_rows(f"{GENT[0]},population,2025,5,")
    refused = [
        world.client.post(SUBMIT, content=good, headers={"Content-Type": "text/csv"}),
        world.client.post(SUBMIT, content=good, headers=world.headers("gent-reader")),
        world.client.post(SUBMIT, content=good, headers=world.headers("statbel")),
        world.client.post(
            "/api/v1/datasets/no-such-dataset/submissions",
            content=good,
            headers=world.headers("gent"),
        ),
        world.client.post(
            SUBMIT,
            content=gzip.compress(good),
            headers={**world.headers("gent"), "Content-Encoding": "gzip"},
        ),
        world.client.post(
            SUBMIT,
            content=csv_rows(f"{GENT[0]},population,2025," + "9" * 300_000),
            headers=world.headers("gent"),
        ),
        world.client.post(
            SUBMIT,
            content=b'--b\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--b--\r\n',
            headers=world.headers("gent", "multipart/form-data; boundary=b"),
        ),
    ]
    assert [r.status_code for r in refused] == [401, 403, 403, 404, 415, 413, 400]
    assert all("submission" not in r.json() for r in refused)
    assert rejected_records(world) == 0
    # A file refused for what it holds is: the one record.
    status, problem = send(world, csv_rows(f"{GENT[0]},population,2025,-5,"))
    assert status == 422, problem
    assert rejected_records(world) == 1
    assert [s["id"] for s in listed(world, "admin", state="rejected")["items"]] == [
        problem["submission"]
    ]


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_refusal_that_cannot_be_recorded_is_answered_as_before(world: World) -> None:
    """The database refuses the record (here a trigger; in production, a database gone in
    between): the supplier still gets the refusal of the file, and the log a warning."""
    with transaction(world.factory) as session:
        if backend() == "sqlite":
            session.execute(
                text(
                    "CREATE TRIGGER no_refusals BEFORE INSERT ON submission "
                    "WHEN NEW.state = 'rejected' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE FUNCTION no_refusals() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER no_refusals BEFORE INSERT ON submission FOR EACH ROW "
                    "WHEN (NEW.state = 'rejected') EXECUTE FUNCTION no_refusals()"
                )
            )
    warnings = _Warnings()
    logger = logging.getLogger("datapedia")
    logger.addHandler(warnings)
    try:
        status, problem = send(world, csv_rows(f"{GENT[0]},population,2025,-7,"))
    finally:
        logger.removeHandler(warnings)
    assert status == 422, problem
    assert set(problem) == ROW_PROBLEM_KEYS
    assert problem["errors"][0]["value"] == "-7"
    assert any("could not be recorded" in m and "disk full" in m for m in warnings.messages)
    assert rejected_records(world) == 0
    # The database is fine for what follows.
    assert submit_rows(world, DATASET, "gent", f"{GENT[0]},population,2025,7,")["rows_total"] == 1
