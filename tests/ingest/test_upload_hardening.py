"""Hostile and careless uploads: each is refused with 422 naming the row and column (row 0
for the file itself), and nothing is stored."""

from __future__ import annotations

import gzip
import re

import orjson
import pytest
from sqlalchemy import select

from app.geo.levels import Level
from app.geo.models import GeoUnit
from app.ingest import upload
from tests.factories import World

DATASET = "population-2025"
SUBMIT = f"/api/v1/datasets/{DATASET}/submissions"
OBS = f"/api/v1/datasets/{DATASET}/observations"
SECTOR = "44021A00-"
HEADER = "sector,indicator,period,value,status\n"


def csv_body(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def json_row(**cells: str) -> dict[str, str]:
    return {"sector": SECTOR, "indicator": "population", "period": "2025", "value": "5"} | cells


def refuse(world: World, body: bytes, content_type: str) -> dict[str, object]:
    before = world.fingerprint()
    response = world.client.post(SUBMIT, content=body, headers=world.headers("gent", content_type))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert world.fingerprint() == before
    problem: dict[str, object] = response.json()
    return problem


def first_error(problem: dict[str, object]) -> dict[str, object]:
    errors = problem["errors"]
    assert isinstance(errors, list) and errors
    error: dict[str, object] = errors[0]
    return error


# Bodies that are not a table at all: the problem names the file (row 0).
@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        (b"[" * 100_000, "application/json", "depth"),
        (
            b'[{"sector": "44021A00-", "indicator": "population", "period": "2025", "value": '
            + b"9" * 5000
            + b"}]",
            "application/json",
            "not valid",
        ),
        (b'[{"sector": "44021A00-", "value": 1e400}]', "application/json", "not valid"),
        (b'[{"sector": "\xff\xfe"}]', "application/json", "UTF-8"),
        (HEADER.encode() + b"44021A00-,popul\xe9,2025,1,\n", "text/csv", "UTF-8"),
        (b"", "application/json", "empty"),
        (b"  \n", "application/json", "empty"),
        (b"", "text/csv", "empty"),
        (b"\xef\xbb\xbf", "text/csv", "empty"),
        (b"[]", "application/json", "non-empty list"),
        (b'{"rows": 5}', "application/json", "non-empty list"),
        (b"[1, 2]", "application/json", "object"),
        (b'[{"sector": "44021A00-"}]\x00', "application/json", "not valid"),
        (HEADER.encode() + b"44021A00-,population,2025,1,\x00\n", "text/csv", "NUL"),
        (b"\x00" * 100, "text/csv", "NUL"),
    ],
)
def test_unreadable_bodies_name_the_file(
    world: World, body: bytes, content_type: str, needle: str
) -> None:
    problem = refuse(world, body, content_type)
    error = first_error(problem)
    assert error["row"] in (0, 1)
    assert needle.lower() in str(error["reason"]).lower()


# Cells that break the Table Schema: the problem names the row and the column.
@pytest.mark.parametrize(
    ("rows", "row", "column", "needle"),
    [
        (['"44021A00-\n",population,2025,5,'], 1, "sector", "U+000A"),
        (['44021A00-,population,"2025\n",5,'], 1, "period", "U+000A"),
        (['44021A00-,population,"2025\r",5,'], 1, "period", "U+000D"),
        (['44021A00-,"population\t",2025,5,'], 1, "indicator", "U+0009"),
        (['44021A00-,population,2025,"5\n",'], 1, "value", "U+000A"),
        (['44021A00-,population,2025,5,"normal\n"'], 1, "status", "U+000A"),
        (["44021A00-,population,2025,5,normal\u2028"], 1, "status", "U+2028"),
        (["44021A00-\u0085,population,2025,5,"], 1, "sector", "U+0085"),
        (["44021A00-\x7f,population,2025,5,"], 1, "sector", "U+007F"),
        (
            ["44021A01-,population,2025,5,", "44021a00-,population,2025,5,"],
            2,
            "sector",
            "sector code",
        ),
        (["44021A00,population,2025,5,"], 1, "sector", "sector code"),
        (["44021A0-0,population,2025,5,"], 1, "sector", "sector code"),
        (["44021A00-,population,25,5,"], 1, "period", "year"),
        (["44021A00-,population,2025-01,5,"], 1, "period", "year"),
        (["44021A00-,population,0000,5,"], 1, "period", "from 1900 to 2099"),
        (["44021A00-,area,2025,.5,"], 1, "value", "both sides of the '.'"),
        (["44021A00-,area,2025,5.,"], 1, "value", "both sides of the '.'"),
        (["44021A00-,population,2205,5,"], 1, "period", "from 1900 to 2099"),
        (["44021A00-,population,٢٠٢٥,5,"], 1, "period", "year"),
        (["44021A00-,Population,2025,5,"], 1, "indicator", "written in lower case: population"),
        (["44021A00-,,2025,5,"], 1, "indicator", "missing"),
        (["44021A00-,population,2025,1e16,"], 1, "value", "maximum"),
        (["44021A00-,population,2025,1e400,"], 1, "value", "finite"),
        (["44021A00-,population,2025,5\u00a0,"], 1, "value", "not a number"),
        (["44021A00-,population,2025,0x10,"], 1, "value", "not a number"),
        (
            [
                "44021A01-,population,2025,5,",
                "44021A02-,population,2025,5,",
                "44021A00-,population,2025,5,extra",
            ],
            3,
            "status",
            "not one of",
        ),
    ],
)
def test_bad_cells_name_row_and_column(
    world: World, rows: list[str], row: int, column: str, needle: str
) -> None:
    problem = refuse(world, csv_body(*rows), "text/csv")
    error = first_error(problem)
    assert (error["row"], error["column"]) == (row, column), error
    assert needle.lower() in str(error["reason"]).lower(), error


@pytest.mark.parametrize(
    ("row", "column", "needle"),
    [
        (json_row(sector="44021A00-\n"), "sector", "U+000A"),
        (json_row(period="2025\n"), "period", "U+000A"),
        (json_row(sector="44021A00-\u0000"), "sector", "U+0000"),
        (json_row(indicator="population\r\n"), "indicator", "U+000D"),
        (json_row(value=10**22), "value", "maximum"),  # type: ignore[arg-type]
        (json_row(value=True), "value", "string, a number or null"),  # type: ignore[arg-type]
        (json_row(value=[1]), "value", "string, a number or null"),  # type: ignore[arg-type]
        (json_row(value={"a": 1}), "value", "string, a number or null"),  # type: ignore[arg-type]
        (json_row(value=-(2**63)), "value", "minimum"),  # type: ignore[arg-type]
        (json_row(value="x" * 2000), "value", "longer than"),
    ],
)
def test_bad_json_cells_name_row_and_column(
    world: World, row: dict[str, object], column: str, needle: str
) -> None:
    import json

    body = json.dumps([json_row(sector="44021A01-"), row]).encode()
    problem = refuse(world, body, "application/json")
    error = first_error(problem)
    assert (error["row"], error["column"]) == (2, column), error
    assert needle.lower() in str(error["reason"]).lower(), error


def test_a_year_as_a_json_number_is_fine(world: World) -> None:
    # A period given as the number 2025 reads as "2025"; a sector as a number never matches.
    import json

    body = json.dumps([json_row(period=2025, value=7)]).encode()  # type: ignore[arg-type]
    response = world.client.post(
        SUBMIT, content=body, headers=world.headers("gent", "application/json")
    )
    assert response.status_code == 201, response.text
    (item,) = world.client.get(
        OBS, params={"unit": f"sector:{SECTOR}", "indicator": "population"}
    ).json()["items"]
    assert (item["period"], item["value"]) == ("2025", 7)


def test_a_count_with_a_fraction_is_refused(world: World) -> None:
    before = world.fingerprint()
    body = csv_body("44021A00-,population,2025,12.7,", "44021A01-,population,2025,3,")
    problem = refuse(world, body, "text/csv")
    assert problem["errors"] == [
        {
            "row": 1,
            "column": "value",
            "value": "12.7",
            "reason": "population is a count: give a whole number",
            "line": 2,
        }
    ]
    assert world.fingerprint() == before
    # A whole number written with decimals is one; an area may have a fraction.
    body = csv_body("44021A00-,population,2025,12.0,", "44021A00-,area,2025,1.25,")
    response = world.client.post(SUBMIT, content=body, headers=world.headers("gent"))
    assert response.status_code == 201, response.text
    schema = world.client.get(f"/api/v1/datasets/{DATASET}/schema").json()
    value = next(f for f in schema["fields"] if f["name"] == "value")
    assert "counts are whole numbers (population)" in value["description"]
    indicator = world.client.get("/api/v1/indicators/population").json()
    assert indicator["whole_numbers"] is True
    assert world.client.get("/api/v1/indicators/area").json()["whole_numbers"] is False


def test_a_year_as_a_json_number_outside_the_years_is_refused(world: World) -> None:
    import json

    body = json.dumps([json_row(period=205, value=7)]).encode()  # type: ignore[arg-type]
    problem = refuse(world, body, "application/json")
    (error,) = problem["errors"]  # type: ignore[misc]
    assert (error["column"], error["value"]) == ("period", "205")
    assert "from 1900 to 2099" in error["reason"]


def test_every_error_of_a_file_is_reported(world: World) -> None:
    body = csv_body(
        '"44021A00-\n",population,2025,5,',
        '44021A01-,population,"2025\n",5,',
        '44021ZZZZ,population,2025,"7\t",',
    )
    problem = refuse(world, body, "text/csv")
    assert problem["error_count"] == 3
    assert [(e["row"], e["column"]) for e in problem["errors"]] == [  # type: ignore[attr-defined]
        (1, "sector"),
        (2, "period"),
        (3, "value"),
    ]


def test_validation_reads_the_served_table_schema(world: World) -> None:
    """The served schema is what the upload is checked against: a schema with another
    pattern changes the verdict."""
    served = world.client.get(f"/api/v1/datasets/{DATASET}/schema").json()
    schema = upload.TableSchema.model_validate(served)
    rules = upload.Rules(
        indicators={"population": "sum", "area": "sum"},
        derived=frozenset(),
        whole_numbers=frozenset({"population"}),
        geo_version="2025",
        sector_exists=lambda code: True,
        other_version_of=lambda code: None,
        in_territory=lambda code: True,
    )

    def verdict(table: upload.TableSchema, period: str) -> list[tuple[int, str | None]]:
        result = upload.UploadResult()
        rows = iter([(1, (SECTOR, "population", period, "5", ""))])
        list(upload.validate(rows, table, rules, result))
        return [(e.row, e.column) for e in result.errors]

    assert verdict(schema, "2025") == []
    assert verdict(schema, "2025Q1") == [(1, "period")]
    period = schema.field("period")
    assert period is not None and period.constraints is not None
    period.constraints.pattern = "[0-9]{4}Q[1-4]"
    assert verdict(schema, "2025Q1") == []
    assert verdict(schema, "2025") == [(1, "period")]


def test_every_real_sector_code_matches_the_served_pattern(world: World) -> None:
    for dataset in ("population-2025", "income"):
        served = world.client.get(f"/api/v1/datasets/{dataset}/schema").json()
        (sector,) = [f for f in served["fields"] if f["name"] == "sector"]
        pattern = re.compile(sector["constraints"]["pattern"])
        with world.factory() as session:
            codes = session.scalars(select(GeoUnit.code).where(GeoUnit.level == Level.SECTOR)).all()
        assert len(codes) > 20_000
        assert [c for c in codes if not pattern.fullmatch(c)] == []
        assert any(c.endswith("ZZZZ") for c in codes)


def test_a_client_that_disconnects_mid_upload_is_a_refusal_not_a_server_error(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The body ends before its Content-Length and the connection closes (what uvicorn
    passes on as a disconnect): a 400 in the log, no traceback, nothing stored."""
    before = world.fingerprint()
    headers = world.headers("gent", "text/csv")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": SUBMIT,
        "raw_path": SUBMIT.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"text/csv"),
            (b"content-length", b"500"),
            (b"authorization", headers["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    incoming = iter(
        [
            {"type": "http.request", "body": HEADER.encode(), "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return next(incoming)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def run() -> None:
        await world.client.app(scope, receive, send)

    caplog.clear()
    world.client.portal.call(run)  # type: ignore[union-attr]
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")  # type: ignore[misc]
    assert b"before the upload was complete" in body
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    assert world.fingerprint() == before


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
def test_a_compressed_body_is_refused_by_its_encoding(world: World, encoding: str) -> None:
    before = world.fingerprint()
    body = gzip.compress(csv_body(f"{SECTOR},population,2025,5,"))
    headers = {**world.headers("gent"), "Content-Encoding": encoding}
    response = world.client.post(SUBMIT, content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert "Content-Encoding" in response.json()["detail"]
    assert world.fingerprint() == before


@pytest.mark.parametrize(("value", "shown"), [(True, "true"), ([1], "[1]"), ({"a": 1}, '{"a":1}')])
def test_a_json_cell_of_the_wrong_type_is_shown_as_sent(
    world: World, value: object, shown: str
) -> None:
    body = orjson.dumps([json_row(value=value)])  # type: ignore[arg-type]
    error = first_error(refuse(world, body, "application/json"))
    assert (error["column"], error["value"]) == ("value", shown), error


@pytest.mark.parametrize(
    ("body", "row", "line"),
    [
        # The header is line 1, the first row line 2.
        (csv_body("44021A00-,population,2025,-5,"), 1, 2),
        # Blank lines count as rows, and as lines.
        (csv_body("", "", "44021A00-,population,2025,-5,"), 3, 4),
        # A quoted line break: the row is one, its lines two; the next row starts on line 4.
        (
            csv_body('44021A00-,population,2025,"8\n80",', "44021A01-,population,2025,-5,"),
            2,
            4,
        ),
    ],
)
def test_an_error_names_the_line_an_editor_shows(
    world: World, body: bytes, row: int, line: int
) -> None:
    """``row`` counts the rows after the header; ``line`` is where the row starts in the
    file, which is what a steward looks up in an editor or a spreadsheet."""
    errors = refuse(world, body, "text/csv")["errors"]
    assert isinstance(errors, list)
    negative = next(e for e in errors if e["value"] == "-5")
    assert (negative["row"], negative["line"]) == (row, line), errors


def test_a_file_not_in_utf8_names_its_line(world: World) -> None:
    body = csv_body("44021A00-,population,2025,5,", "44021A01-,population,2025,5,caf\xe9")
    problem = refuse(world, body.decode().encode("latin-1"), "text/csv")
    assert "line 3" in str(first_error(problem)["reason"]), problem
