"""Cities as suppliers: keys, permissions, validated all-or-nothing submissions, revisions."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.geo.models import GeoUnit
from tests.dbutil import backend
from tests.factories import Template, World, open_world

DATASET = "population-2025"
SUBMIT = f"/api/v1/datasets/{DATASET}/submissions"
OBS = f"/api/v1/datasets/{DATASET}/observations"
GENT = ["44021A00-", "44021A01-", "44021ZZZZ"]
HEADER = "sector,indicator,period,value,status\n"


@pytest.fixture
def world(world_template: Template, tmp_path: Path) -> Iterator[World]:
    """A fresh world per test (writes never leak into another test), with a small upload
    limit so the 413 case stays small."""
    yield from open_world(world_template, tmp_path, max_upload_bytes=200_000)


def csv_rows(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def value_of(world: World, unit: str, **params: object) -> dict[str, object]:
    response = world.client.get(OBS, params={"unit": unit, "indicator": "population", **params})
    assert response.status_code == 200, response.text
    (item,) = response.json()["items"]
    return item  # type: ignore[no-any-return]


def stored(world: World, sector: str) -> object:
    """The current population value of a sector, read back through the observations API."""
    return value_of(world, f"sector:{sector}", provenance=True)["value"]


def test_me(world: World) -> None:
    me = world.client.get("/api/v1/me", headers=world.headers("gent")).json()
    assert me["organisation"]["id"] == "gent"
    assert me["role"] == "supplier"
    anonymous = world.client.get("/api/v1/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.headers["content-type"] == "application/problem+json"
    wrong = world.client.get("/api/v1/me", headers={"Authorization": "Bearer dp_nope"})
    assert wrong.status_code == 401


def test_gent_submits_for_gent_and_the_aggregates_follow(world: World) -> None:
    body = csv_rows(
        f"{GENT[0]},population,2025,1000,",
        f"{GENT[1]},population,2025,500,",
        f"{GENT[2]},population,2025,7,",
    )
    response = world.client.post(SUBMIT, content=body, headers=world.headers("gent"))
    assert response.status_code == 201, response.text
    first = response.json()
    assert (first["rows_added"], first["rows_changed"], first["rows_unchanged"]) == (3, 0, 0)
    assert value_of(world, "municipality:44021")["value"] == 1507
    assert value_of(world, "referentieregio:REFREG13")["value"] == 1507
    assert value_of(world, "cityregion:stadsregio-gent")["value"] == 1507
    assert value_of(world, "province:40000")["value"] == 1507
    sector = world.client.get(
        OBS, params={"unit": f"sector:{GENT[0]}", "indicator": "population", "provenance": True}
    ).json()["items"][0]
    assert sector["supplier"] == "gent"
    assert sector["revision"] == first["revision"]

    again = world.client.post(
        SUBMIT,
        content=csv_rows(f"{GENT[0]},population,2025,1100,", f"{GENT[1]},population,2025,500,"),
        headers=world.headers("gent"),
    ).json()
    assert again["revision"] == first["revision"] + 1
    assert (again["rows_added"], again["rows_changed"], again["rows_unchanged"]) == (0, 1, 1)
    assert value_of(world, "municipality:44021")["value"] == 1607
    before = value_of(world, "municipality:44021", revision=first["revision"])
    assert before["value"] == 1507
    history = world.client.get(f"/api/v1/datasets/{DATASET}/submissions").json()
    assert history["total"] == len(history["items"]) == 2
    assert [s["revision"] for s in history["items"]] == [again["revision"], first["revision"]]
    assert {s["organisation"] for s in history["items"]} == {"gent"}
    assert [s["rows_total"] for s in history["items"]] == [2, 3]
    assert history["items"][0]["created_at"].endswith("Z")


def test_a_submission_closes_only_the_rows_it_changes(world: World) -> None:
    """The replaced rows are found from the staged ones: a changed value is closed, an equal
    one (also an equal missing value, NULL = NULL) and every row not submitted stay current."""
    from app.geo.models import GeoUnit
    from app.stats.models import Observation

    first = world.client.post(
        SUBMIT,
        content=csv_rows(
            f"{GENT[0]},population,2025,1000,",
            f"{GENT[1]},population,2025,500,",
            f"{GENT[2]},population,2025,,missing",
        ),
        headers=world.headers("gent"),
    ).json()
    again = world.client.post(
        SUBMIT,
        content=csv_rows(
            f"{GENT[0]},population,2025,1100,",
            f"{GENT[1]},population,2025,500,",
            f"{GENT[2]},population,2025,,missing",
        ),
        headers=world.headers("gent"),
    ).json()
    assert (again["rows_added"], again["rows_changed"], again["rows_unchanged"]) == (0, 1, 2)
    with world.factory() as session:
        rows = session.execute(
            select(GeoUnit.code, Observation.value, Observation.revision_from)
            .join(GeoUnit, GeoUnit.id == Observation.unit_id)
            .where(Observation.dataset_id == DATASET)
            .where(Observation.revision_to == again["revision"])
        ).all()
        current = session.execute(
            select(GeoUnit.code, Observation.value, Observation.revision_from)
            .join(GeoUnit, GeoUnit.id == Observation.unit_id)
            .where(Observation.dataset_id == DATASET, Observation.revision_to.is_(None))
        ).all()
    assert [tuple(r) for r in rows] == [(GENT[0], 1000, first["revision"])]
    assert sorted(tuple(r) for r in current) == [
        (GENT[0], 1100, again["revision"]),
        (GENT[1], 500, first["revision"]),
        (GENT[2], None, first["revision"]),
    ]


def test_new_rows_beside_unchanged_ones_are_added_once(world: World) -> None:
    """A submission that changes nothing it repeats and adds new rows: nothing is closed,
    only the new rows are stored (the repeated one keeps its revision), and every key has
    one current row."""
    from app.geo.models import GeoUnit
    from app.stats.models import Observation

    first = world.client.post(
        SUBMIT, content=csv_rows(f"{GENT[0]},population,2025,1000,"), headers=world.headers("gent")
    ).json()
    again = world.client.post(
        SUBMIT,
        content=csv_rows(
            f"{GENT[0]},population,2025,1000,",
            f"{GENT[1]},population,2025,500,",
            f"{GENT[1]},population,2024,400,",
        ),
        headers=world.headers("gent"),
    ).json()
    assert (again["rows_added"], again["rows_changed"], again["rows_unchanged"]) == (2, 0, 1)
    # 2024 is a new period: the sector that reports 2025 but not 2024 is stored as missing.
    assert again["rows_not_supplied"] == 1
    with world.factory() as session:
        rows = session.execute(
            select(GeoUnit.code, Observation.period, Observation.value, Observation.revision_from)
            .join(GeoUnit, GeoUnit.id == Observation.unit_id)
            .where(Observation.dataset_id == DATASET)
            .where(Observation.revision_to.is_(None))
        ).all()
        closed = session.scalar(
            select(func.count())
            .select_from(Observation)
            .where(Observation.dataset_id == DATASET, Observation.revision_to.is_not(None))
        )
    assert closed == 0
    assert sorted(tuple(r) for r in rows) == [
        (GENT[0], "2024", None, again["revision"]),
        (GENT[0], "2025", 1000, first["revision"]),
        (GENT[1], "2024", 400, again["revision"]),
        (GENT[1], "2025", 500, again["revision"]),
    ]
    assert value_of(world, "municipality:44021", period="2025")["value"] == 1500


def test_gent_is_refused_for_a_sector_of_antwerpen(world: World) -> None:
    before = world.fingerprint()
    response = world.client.post(
        SUBMIT, content=csv_rows("11002A00-,population,2025,10,"), headers=world.headers("gent")
    )
    assert response.status_code == 403
    problem = response.json()
    assert problem["missing_right"] == f"territory:{DATASET}"
    assert problem["errors"][0]["value"] == "11002A00-"
    assert world.fingerprint() == before
    # With other problems in the file, one 422 lists them all, the territory's included.
    mixed = world.client.post(
        SUBMIT,
        content=csv_rows("11002A00-,population,2025,10,", f"{GENT[0]},population,2025,-1,"),
        headers=world.headers("gent"),
    )
    assert mixed.status_code == 422, mixed.text
    reasons = [(e["row"], e["reason"]) for e in mixed.json()["errors"]]
    assert [row for row, _ in reasons] == [1, 2]
    assert "territory" in reasons[0][1] and "negative" in reasons[1][1]
    assert world.fingerprint() == before
    # However many rows lie outside (more than the problems shown), it is the same 403.
    with world.factory() as session:
        elsewhere = session.scalars(
            select(GeoUnit.code)
            .where(
                GeoUnit.version == "2025",
                GeoUnit.level == "sector",
                ~GeoUnit.code.startswith("44021"),
            )
            .order_by(GeoUnit.code)
            .limit(1200)
        ).all()
    many = world.client.post(
        SUBMIT,
        content=csv_rows(*(f"{code},population,2025,10," for code in elsewhere)),
        headers=world.headers("gent"),
    )
    assert many.status_code == 403, many.text
    problem = many.json()
    assert problem["missing_right"] == f"territory:{DATASET}"
    assert (problem["error_count"], problem["errors_shown"]) == (1200, 1000)
    assert world.fingerprint() == before


@pytest.mark.parametrize(
    ("who", "status", "right"),
    [
        ("gent-reader", 403, "role:supplier|editor|admin"),
        ("statbel", 403, f"supplier:{DATASET}"),
        ("gent-editor", 201, None),
        ("admin", 201, None),
    ],
)
def test_permission_matrix_for_submissions(
    world: World, who: str, status: int, right: str | None
) -> None:
    before = world.fingerprint()
    response = world.client.post(
        SUBMIT, content=csv_rows(f"{GENT[1]},population,2025,501,"), headers=world.headers(who)
    )
    assert response.status_code == status, response.text
    if right is not None:
        assert response.json()["missing_right"] == right
        assert world.fingerprint() == before
    else:
        assert stored(world, GENT[1]) == 501
        assert response.json()["rows_added"] == 1


def test_antwerpen_submits_borsbeek_sectors(world: World) -> None:
    # Borsbeek's sectors (11007…) lie in Antwerpen from 2025 on: inside its territory.
    response = world.client.post(
        SUBMIT,
        content=csv_rows("11007A00-,population,2025,42,"),
        headers=world.headers("antwerpen"),
    )
    assert response.status_code == 201, response.text
    assert stored(world, "11007A00-") == 42
    assert value_of(world, "sector:11007A00-", provenance=True)["supplier"] == "antwerpen"


TOO_WIDE = (",".join(f"c{n}" for n in range(10_000)) + "\n").encode()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "needle"),
    [
        (b"", "text/csv", 422, "empty"),
        (HEADER.encode(), "text/csv", 422, "no rows"),
        ((HEADER + "\n\r\n").encode(), "text/csv", 422, "no rows"),  # blank lines only
        (
            (HEADER.rstrip("\n") + ";\n").replace(",", ";").encode(),
            "text/csv",
            422,
            "the file has a header but no rows",  # the empty column at the end is no column
        ),
        (
            HEADER.replace(",", ",,", 1).encode(),
            "text/csv",
            422,
            "a column without a name (two separators in a row?)",
        ),
        (
            b"code,indicator,year,value\n44021A00-,population,2025,1\n",
            "text/csv",
            422,
            "unknown column",
        ),
        (b"sector,sector,indicator,period,value\n", "text/csv", 422, "duplicate column"),
        (b"sector,indicator,period,value\n44021A00-,popul\xe9,2025,1\n", "text/csv", 422, "UTF-8"),
        (
            b"sector,indicator,period,value\n44021A00-,population\x00,2025,1\n",
            "text/csv",
            422,
            "NUL",
        ),
        (TOO_WIDE, "text/csv", 422, "columns"),
        (csv_rows(f"{GENT[0]},population,2025," + "9" * 1_000_000), "text/csv", 413, "limit"),
        (csv_rows(f"{GENT[0]},population,2025,1," + "x" * 5000), "text/csv", 422, "longer than"),
        (
            csv_rows(f'{GENT[0]},population,2025,"=HYPERLINK(""http://x"")",'),
            "text/csv",
            422,
            "not a number",
        ),
        (csv_rows(f"{GENT[0]},population,2025,veel,"), "text/csv", 422, "not a number"),
        (csv_rows(f"{GENT[0]},population,2025,-5,"), "text/csv", 422, "negative"),
        (csv_rows("44021A08-,population,2025,5,"), "text/csv", 422, "version 2025"),
        (
            csv_rows(f"{GENT[0]},population,2025,5,", f"{GENT[0]},population,2025,6,"),
            "text/csv",
            422,
            "duplicate of row 1",
        ),
        (csv_rows(f"{GENT[0]},population-density,2025,5,"), "text/csv", 422, "computed"),
        (csv_rows(f"{GENT[0]},cars,2025,5,"), "text/csv", 422, "not an indicator"),
        (csv_rows(f"{GENT[0]},population,2025,5,secret"), "text/csv", 422, "status"),
        (csv_rows(f"{GENT[0]},population,2025,5,confidential"), "text/csv", 422, "empty"),
        (csv_rows(f"{GENT[0]},population,2025,5,"), "application/xml", 415, "text/csv"),
        (
            b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nsec',
            "multipart/form-data; boundary=xyz",
            400,
            "multipart",
        ),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(
    world: World, body: bytes, content_type: str, status: int, needle: str
) -> None:
    before = world.fingerprint()
    response = world.client.post(SUBMIT, content=body, headers=world.headers("gent", content_type))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert needle.lower() in response.text.lower()
    assert world.fingerprint() == before


def test_an_unterminated_quote_is_the_only_problem_reported(world: World) -> None:
    body = csv_rows(f'{GENT[0]},population,2025,"101,')
    problem = world.client.post(SUBMIT, content=body, headers=world.headers("gent")).json()
    assert [(e["row"], e["reason"][:18]) for e in problem["errors"]] == [(1, "not valid CSV here")]


def test_errors_name_row_column_value_and_reason(world: World) -> None:
    body = csv_rows(f"{GENT[0]},population,2025,12x,", f"{GENT[1]},population,20255,1,")
    problem = world.client.post(SUBMIT, content=body, headers=world.headers("gent")).json()
    assert problem["error_count"] == 2
    assert problem["errors"][0] == {
        "row": 1,
        "column": "value",
        "value": "12x",
        "reason": "not a number (use '.' for decimals)",
        "line": 2,
    }
    assert problem["errors"][1]["column"] == "period"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("\ufeff" + HEADER + f"{GENT[0]},population,2025,11,\n", "text/csv", 11),
        (HEADER.replace(",", ";") + f"{GENT[0]};population;2025;12;\n", "text/csv", 12),
        # Excel saves the empty rows below the last one as separators alone.
        (
            HEADER.replace(",", ";").replace("\n", "\r\n")
            + f"{GENT[0]};population;2025;12;\r\n;;;;\r\n;;;;\r\n",
            "text/csv",
            12,
        ),
        (HEADER.replace("\n", "\r\n") + f"{GENT[0]},population,2025,13,\r\n", "text/csv", 13),
        # Population counts inhabitants: whole numbers, also when written with decimals.
        (HEADER + f" {GENT[0]} ,population, 2025 , 13.0 ,\n", "text/csv", 13),
        (
            '[{"sector": "' + GENT[0] + '", "indicator": "population", "period": "2025", '
            '"value": 14}]',
            "application/json",
            14,
        ),
        (
            '\ufeff{"rows": [{"sector": "' + GENT[0] + '", "indicator": "population", '
            '"period": "2025", "value": "15.00", "status": null}]}',
            "application/json; charset=utf-8",
            15,
        ),
    ],
)
def test_accepted_variants(world: World, body: str, content_type: str, expected: float) -> None:
    response = world.client.post(
        SUBMIT, content=body.encode(), headers=world.headers("gent", content_type)
    )
    assert response.status_code == 201, response.text
    assert response.json()["rows_added"] == 1
    assert stored(world, GENT[0]) == expected


def test_multipart_upload(world: World) -> None:
    files = {
        "file": ("gent.csv", io.BytesIO(csv_rows(f"{GENT[0]},population,2025,15,")), "text/csv")
    }
    response = world.client.post(
        SUBMIT, files=files, headers={"Authorization": f"Bearer {world.keys['gent']}"}
    )
    assert response.status_code == 201, response.text
    assert stored(world, GENT[0]) == 15


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("gent.csv", csv_rows(f"{GENT[0]},population,2025,16,")),
        (
            "gent.json",
            json.dumps(
                [{"sector": GENT[0], "indicator": "population", "period": "2025", "value": 16}]
            ).encode(),
        ),
    ],
)
def test_a_multipart_file_without_a_type_is_read_by_its_name(
    world: World, name: str, body: bytes
) -> None:
    # What `curl -F file=@gent.csv` sends: the part typed application/octet-stream.
    files = {"file": (name, io.BytesIO(body), "application/octet-stream")}
    response = world.client.post(
        SUBMIT, files=files, headers={"Authorization": f"Bearer {world.keys['gent']}"}
    )
    assert response.status_code == 201, response.text
    assert stored(world, GENT[0]) == 16


def test_two_files_in_one_multipart_upload_are_refused(world: World) -> None:
    good = csv_rows(f"{GENT[0]},population,2025,17,")
    bad = csv_rows(f"{GENT[0]},population,2025,-1,")
    before = world.fingerprint()
    for first, second in ((bad, good), (good, bad)):
        response = world.client.post(
            SUBMIT,
            files=[
                ("file", ("a.csv", io.BytesIO(first), "text/csv")),
                ("file", ("b.csv", io.BytesIO(second), "text/csv")),
            ],
            headers={"Authorization": f"Bearer {world.keys['gent']}"},
        )
        assert response.status_code == 400, response.text
        assert "2 'file' fields" in response.json()["detail"]
    assert world.fingerprint() == before


def test_table_schema_is_served(world: World) -> None:
    schema = world.client.get(f"/api/v1/datasets/{DATASET}/schema").json()
    assert [f["name"] for f in schema["fields"]] == [
        "sector",
        "indicator",
        "period",
        "value",
        "status",
    ]
    assert schema["fields"][1]["constraints"]["enum"] == ["area", "population"]
    assert schema["primaryKey"] == ["sector", "indicator", "period"]


def test_rate_limit(tmp_path: Path, world_template: Template) -> None:
    # A database of its own: on PostgreSQL the limit is counted in its own transaction, which
    # the single rolled-back connection of the cheaper world would fold into the request's.
    for world in open_world(world_template, tmp_path, real_database=True, submissions_per_minute=2):
        client = world.client
        statuses = [
            client.post(SUBMIT, content=b"", headers=world.headers("gent-editor")).status_code
            for _ in range(3)
        ]
        limited = client.post(SUBMIT, content=b"", headers=world.headers("gent-editor"))
    assert statuses[:2] == [422, 422]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1


def test_key_management(world: World) -> None:
    created = world.client.post(
        "/api/v1/organisations/gent/keys",
        json={"role": "supplier", "label": "team"},
        headers=world.headers("gent-editor", "application/json"),
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert (
        world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )
    listed = world.client.get(
        "/api/v1/organisations/gent/keys", headers=world.headers("gent-editor")
    ).json()["items"]
    assert all("key_hash" not in k and key not in str(k) for k in listed)
    new_id = max(k["id"] for k in listed)
    refused = world.client.delete(f"/api/v1/keys/{new_id}", headers=world.headers("antwerpen"))
    assert refused.status_code == 404  # another organisation's key: as one that does not exist
    revoked = world.client.delete(f"/api/v1/keys/{new_id}", headers=world.headers("gent-editor"))
    assert revoked.json()["revoked_at"] is not None
    assert (
        world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code
        == 401
    )
    admin_by_editor = world.client.post(
        "/api/v1/organisations/gent/keys",
        json={"role": "admin"},
        headers=world.headers("gent-editor", "application/json"),
    )
    assert admin_by_editor.status_code == 403


def test_table_schema_files_match_what_is_served(world: World) -> None:
    import json

    from app.ingest.tableschemas import TABLES_DIR

    files = sorted(TABLES_DIR.glob("*.json"))
    assert len(files) == 8
    for path in files:
        served = world.client.get(f"/api/v1/datasets/{path.stem}/schema").json()
        assert json.loads(path.read_text(encoding="utf-8")) == served, path.name


def test_owners_edit_metadata_and_it_shows_in_the_history(world: World) -> None:
    url = "/api/v1/datasets/land-use-open-space"
    patch = {"title": {"en": "Open space by land use, 2013 and 2016"}}
    assert (
        world.client.patch(
            url, json=patch, headers=world.headers("gent", "application/json")
        ).status_code
        == 403
    )
    refused = world.client.patch(
        url, json=patch, headers=world.headers("statbel", "application/json")
    )
    assert refused.status_code == 403
    response = world.client.patch(
        url, json=patch, headers=world.headers("gent-editor", "application/json")
    )
    assert response.status_code == 200, response.text
    assert response.json()["changed"] == ["title_en"]
    assert world.client.get(url).json()["title"]["en"] == patch["title"]["en"]
    bad = world.client.patch(
        url,
        json={"licence_id": "cc0-1.0"},
        headers=world.headers("gent-editor", "application/json"),
    )
    assert bad.status_code == 422
    history = world.client.get(f"{url}/history").json()["items"]
    assert history[0]["kind"] == "metadata"
    assert history[0]["organisation"] == "gent"
    assert history[0]["changes"]["title_en"][1] == patch["title"]["en"]


def test_owners_manage_roles_but_never_remove_the_last_owner(world: World) -> None:
    base = "/api/v1/datasets/land-use-open-space/roles"
    # Co-owners are invited by the publisher (here: a site admin), never by a co-owner.
    refused = world.client.post(
        base,
        json={"organisation": "digitaal-vlaanderen", "role": "owner"},
        headers=world.headers("gent-editor", "application/json"),
    )
    assert refused.status_code == 403
    invited = world.client.post(
        base,
        json={"organisation": "digitaal-vlaanderen", "role": "owner"},
        headers=world.headers("admin", "application/json"),
    )
    assert invited.status_code == 201, invited.text
    wider = {
        "organisation": "gent",
        "role": "supplier",
        "territory": ["municipality:44021", "municipality:44084"],
    }
    own = world.client.post(
        base, json=wider, headers=world.headers("gent-editor", "application/json")
    )
    assert own.status_code == 403
    assert own.json()["missing_right"] == "role:admin"
    territory = world.client.post(
        base, json=wider, headers=world.headers("admin", "application/json")
    )
    assert territory.status_code == 201, territory.text
    stranger = world.client.post(
        base,
        json={"organisation": "statbel", "role": "owner"},
        headers=world.headers("antwerpen", "application/json"),
    )
    assert stranger.status_code == 403
    owners = [
        o["id"] for o in world.client.get("/api/v1/datasets/land-use-open-space").json()["owners"]
    ]
    for owner in owners:
        if owner != "gent":
            response = world.client.delete(
                f"{base}/{owner}/owner", headers=world.headers("admin", "application/json")
            )
            assert response.status_code == 200, response.text
    last = world.client.delete(
        f"{base}/gent/owner", headers=world.headers("gent-editor", "application/json")
    )
    assert last.status_code == 409
    assert "last owner" in last.json()["detail"]
    dataset = world.client.get("/api/v1/datasets/land-use-open-space").json()
    assert [o["id"] for o in dataset["owners"]] == ["gent"]
    history = world.client.get("/api/v1/datasets/land-use-open-space/history").json()
    kinds = [e["kind"] for e in history["items"]]
    assert kinds.count("role") >= 3


def test_parallel_submissions_keep_revisions_in_order(world_db: World) -> None:
    world = world_db
    import socket
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = world.client.app
    # The test client's lifespan already opened the database; the server's own would close
    # it again when it stops.
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        jobs = [("gent", f"{GENT[n % 2]},population,2025,{2000 + n},") for n in range(4)] + [
            ("antwerpen", f"11002A0{n}-,population,2025,{300 + n},") for n in range(4)
        ]

        def send(job: tuple[str, str]) -> httpx.Response:
            who, row = job
            return httpx.post(
                f"http://127.0.0.1:{port}{SUBMIT}",
                content=csv_rows(row),
                headers=world.headers(who),
                timeout=120,
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(send, jobs))
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    accepted = [
        (job, r.json()) for job, r in zip(jobs, responses, strict=True) if r.status_code == 201
    ]
    count = statuses.count(201)
    if backend() == "postgresql":
        # Writers of one dataset wait for each other's lock: nobody is turned away.
        assert count == len(jobs)
    assert count >= 1
    # Revisions are handed out without a gap or a repeat, one per accepted submission.
    assert sorted(result["revision"] for _, result in accepted) == list(range(1, count + 1))
    assert all(result["rows_total"] == 1 for _, result in accepted)
    from app.stats.models import Observation, Submission

    with world.factory() as session:
        revisions = [
            r
            for (r,) in session.execute(
                select(Submission.revision)
                .where(Submission.dataset_id == DATASET)
                .order_by(Submission.created_at, Submission.id)
            )
        ]
        observations = session.scalar(select(func.count()).where(Observation.dataset_id == DATASET))
    assert revisions == list(range(1, count + 1))
    # Each accepted submission added or changed exactly its one row; refused ones nothing.
    assert observations == count
    latest: dict[str, tuple[int, float]] = {}
    for (_, row), result in accepted:
        sector, _, _, value, _ = row.split(",")
        if sector not in latest or latest[sector][0] < result["revision"]:
            latest[sector] = (result["revision"], float(value))
    current = world.client.get(
        OBS, params={"level": "sector", "indicator": "population", "page_size": 1000}
    ).json()
    assert current["total"] == len(latest)
    assert {i["code"]: i["value"] for i in current["items"]} == {
        sector: value for sector, (_, value) in latest.items()
    }


@pytest.mark.parametrize("access_level", ["public", "restricted"])
def test_file_digests_are_for_the_datasets_readers_by_role_only(
    world: World, access_level: str
) -> None:
    """The digest of a two-row correction, with the published Table Schema, gave its values
    back in 26 s of trying every pair; on a public dataset too, where the values sent end
    up confidential. So the list shows digests to the dataset's owners, publisher,
    suppliers and site admins only — not to its originator (Statbel), whose role reads
    nothing — and the rest of each entry stays public (its row counts where the values are)."""
    if access_level != "public":
        changed = world.client.patch(
            f"/api/v1/datasets/{DATASET}",
            json={"access_level": access_level},
            headers=world.auth("admin"),
        )
        assert changed.status_code == 200, changed.text
    sent = world.client.post(
        SUBMIT, content=HEADER + "44021A00-,population,2025,1873,\n", headers=world.headers("gent")
    )
    assert sent.status_code == 201, sent.text
    for who, shown in (
        (None, False),
        ("analyst", False),
        ("statbel-editor", False),
        ("gent", True),
        ("publisher-editor", True),
        ("admin", True),
    ):
        headers = world.auth(who) if who else {}
        listed = world.client.get(SUBMIT, headers=headers)
        assert listed.status_code == 200, listed.text
        newest = listed.json()["items"][0]
        # The counts follow the values: of a restricted dataset, for its readers only.
        counted = access_level == "public" or shown
        assert newest["rows_total"] == (1 if counted else None), who
        assert newest["organisation"] == "gent"
        assert (newest["sha256"] is not None) is shown, who


def test_a_rules_reference_needs_a_value_where_what_it_protects_has_one(world: World) -> None:
    """Cars per household is confidential below 5 households, and the cars with it. A
    supplier who marked the households confidential (or missing) published the cars of a
    sector with 3 households: the rule had nothing to compare. Such a file is refused,
    naming the row; hiding both, or neither, is fine."""
    cars = "/api/v1/datasets/cars-households-2019"
    sector = "44021A00-"

    def send(*rows: str) -> Any:
        return world.client.post(
            f"{cars}/submissions",
            content=HEADER + "".join(f"{row}\n" for row in rows),
            headers=world.headers("gent"),
        )

    stored = send(f"{sector},households,2019,3,", f"{sector},cars,2019,2,")
    assert stored.status_code == 201, stored.text
    before = world.fingerprint()
    for rows in (
        [f"{sector},households,2019,,confidential"],
        [f"{sector},households,2019,,missing", f"{sector},cars,2019,2,"],
        # A sector without households yet, whose cars come first.
        ["44021A01-,cars,2019,7,"],
        # No households at all, yet cars: cars per household is undefined, hiding nothing.
        [f"{sector},households,2019,0,"],
    ):
        refused = send(*rows)
        assert refused.status_code == 422, (rows, refused.text)
        problem = refused.json()
        assert problem["error_count"] == 1, problem
        error = problem["errors"][0]
        assert error["row"] in (1, 2) and "households has none" in error["reason"], error
        assert world.fingerprint() == before
    # No households and no cars: nothing to protect.
    empty = send("44021A02-,households,2019,0,", "44021A02-,cars,2019,0,")
    assert empty.status_code == 201, empty.text
    # Both hidden: the cars are not published, and the file is taken.
    hidden = send(f"{sector},households,2019,,confidential", f"{sector},cars,2019,,confidential")
    assert hidden.status_code == 201, hidden.text
    read = world.client.get(
        f"{cars}/observations",
        params={"unit": f"sector:{sector}", "indicator": "cars", "version": "2024"},
    )
    assert read.status_code == 200, read.text
    assert [(i["value"], i["status"]) for i in read.json()["items"]] == [(None, "confidential")]


def test_a_withdrawal_that_would_leave_a_rule_without_its_reference_is_refused(
    world: World,
) -> None:
    """Households marked missing with the cars confidential (accepted); then the households
    sent, then the cars: withdrawing the households' upload gave the cars back with no
    households beside them, published. The withdrawal is refused instead, and nothing
    changes."""
    cars = "/api/v1/datasets/cars-households-2019"
    sector = "44021A00-"

    def send(*rows: str) -> dict[str, Any]:
        sent = world.client.post(
            f"{cars}/submissions",
            content=HEADER + "".join(f"{row}\n" for row in rows),
            headers=world.headers("gent"),
        )
        assert sent.status_code == 201, sent.text
        return dict(sent.json())

    send(f"{sector},households,2019,,missing", f"{sector},cars,2019,,confidential")
    households = send(f"{sector},households,2019,3,")
    send(f"{sector},cars,2019,5,")
    before = world.fingerprint()
    refused = world.client.delete(
        f"{cars}/submissions/{households['submission']}", headers=world.auth("gent")
    )
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert f"sector {sector}, 2019" in detail and "households has none" in detail
    assert world.fingerprint() == before
    read = world.client.get(
        f"{cars}/observations",
        params={"unit": f"sector:{sector}", "indicator": "cars", "version": "2024"},
    )
    assert [(i["value"], i["status"]) for i in read.json()["items"]] == [(None, "confidential")]


def test_the_upload_limit_is_the_files_in_a_multipart_form_too(
    tmp_path: Path, world_template: Template
) -> None:
    """A file of exactly the limit is taken as a form's file part (the form's boundaries and
    headers around it do not count); a byte more is a 413 that names the file's size."""
    body = csv_rows(f"{GENT[0]},population,2025,4242,")
    for world in open_world(world_template, tmp_path, max_upload_bytes=len(body)):
        files = {"file": ("gent.csv", body, "text/csv")}
        taken = world.client.post(SUBMIT, files=files, headers=world.auth("gent"))
        assert taken.status_code == 201, taken.text
        assert value_of(world, f"sector:{GENT[0]}")["value"] == 4242
        before = world.fingerprint()
        larger = csv_rows(f"{GENT[0]},population,2025,42420,")
        files = {"file": ("gent.csv", larger, "text/csv")}
        refused = world.client.post(SUBMIT, files=files, headers=world.auth("gent"))
        assert refused.status_code == 413, refused.text
        assert refused.json()["detail"] == (
            f"the file is {len(larger)} bytes; the limit is {len(body)} bytes"
        )
        assert world.fingerprint() == before
