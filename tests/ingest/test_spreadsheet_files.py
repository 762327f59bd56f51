"""Files as spreadsheets and browsers send them (found by a steward's QA run): Excel's
separator line and empty columns after the last one are read, tabs are a separator, UTF-16
and a Windows browser's part type get a message that says what to do, a multipart body cut off
says so, and a CSV file whose last line has no end, unlike the others, is accepted with a
warning (a row cut in its value is still a valid row)."""

from __future__ import annotations

import io

import pytest

from tests.factories import World

DATASET = "population-2025"
SUBMIT = f"/api/v1/datasets/{DATASET}/submissions"
OBS = f"/api/v1/datasets/{DATASET}/observations"


def value(world: World, sector: str) -> object:
    response = world.client.get(OBS, params={"unit": f"sector:{sector}", "indicator": "population"})
    assert response.status_code == 200, response.text
    return response.json()["items"][0]["value"]


def submit(world: World, body: bytes) -> dict[str, object]:
    response = world.client.post(SUBMIT, content=body, headers=world.headers("gent"))
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def refused(world: World, body: bytes, status: int = 422) -> dict[str, object]:
    before = world.fingerprint()
    response = world.client.post(SUBMIT, content=body, headers=world.headers("gent"))
    assert response.status_code == status, response.text
    assert world.fingerprint() == before
    problem: dict[str, object] = response.json()
    return problem


@pytest.mark.parametrize(
    "body",
    [
        b"sep=;\r\nsector;indicator;period;value;status\r\n44021A00-;population;2025;1234;\r\n",
        b"sector;indicator;period;value;status;;;\r\n44021A00-;population;2025;1234;;;;\r\n",
        b"sector\tindicator\tperiod\tvalue\tstatus\n44021A00-\tpopulation\t2025\t1234\t\n",
        b"sector,indicator,period,value,\n44021A00-,population,2025,1234,\n",
    ],
    ids=["excel-separator-line", "empty-columns-after-the-last", "tabs", "trailing-comma"],
)
def test_spreadsheet_exports_are_read(world: World, body: bytes) -> None:
    result = submit(world, body)
    assert result["rows_total"] == 1 and result["warnings"] == []
    assert value(world, "44021A00-") == 1234


def test_a_value_in_a_column_without_a_name_is_refused_with_its_line(world: World) -> None:
    body = (
        b"sep=;\nsector;indicator;period;value;status;;\n"
        b"44021A00-;population;2025;1234;;;\n44021A01-;population;2025;99;;total;\n"
    )
    (error,) = refused(world, body)["errors"]  # type: ignore[misc]
    assert (error["row"], error["line"], error["value"]) == (2, 4, "total")
    assert "column without a name" in error["reason"]


def test_a_column_without_a_name_between_others_is_still_refused(world: World) -> None:
    problem = refused(world, b"sector,,indicator,period,value\n44021A00-,,population,2025,5\n")
    assert "a column without a name" in str(problem["errors"])


def test_a_utf16_file_says_to_save_it_as_utf8(world: World) -> None:
    body = "sector,indicator,period,value\r\n44021A00-,population,2025,5\r\n".encode("utf-16")
    problem = refused(world, body)
    assert "UTF-16" in str(problem["errors"]) and "CSV UTF-8" in str(problem["errors"])


def test_a_last_line_without_its_end_is_accepted_with_a_warning(world: World) -> None:
    # Cut in the middle of its value: "14" of a larger number.
    body = (
        b"sector,indicator,period,value\r\n44021A00-,population,2025,2975\r\n"
        b"44021A01-,population,2025,14"
    )
    result = submit(world, body)
    (warning,) = result["warnings"]  # type: ignore[misc]
    assert "line 3" in warning and "cut off" in warning
    assert value(world, "44021A01-") == 14
    # A one-row correction typed by hand (no line end after its row) has nothing to warn of.
    assert (
        submit(world, b"sector,indicator,period,value\n44021A01-,population,2025,15")["warnings"]
        == []
    )


def test_three_decimals_where_two_are_published_warn_of_a_thousands_separator(
    world: World,
) -> None:
    """A Dutch spreadsheet writes 2.976 for 2976: an area (km², two decimals) of 2.976 is
    accepted as sent, with a warning that names the rows; other values warn of nothing."""
    # Rows 3 and 4: a value first seen with a new indicator, and one with known cells only.
    body = (
        b"sector,indicator,period,value\n44021A00-,population,2025,2976\n"
        b"44021A01-,population,2025,10\n44021A00-,area,2025,2.976\n"
        b"44021A01-,area,2025,12.250\n44021A02-,area,2025,0.125\n"
    )
    result = submit(world, body)
    (warning,) = result["warnings"]  # type: ignore[misc]
    assert warning.startswith("2 value(s) of area have three decimals")
    assert "(first: row 3, 2.976)" in warning and "2976 was meant" in warning
    response = world.client.get(
        OBS, params={"unit": "sector:44021A00-", "indicator": "area", "level": "sector"}
    )
    assert response.json()["items"][0]["value"] == 2.98
    # The same value for a count is refused (a count has no fractions); 1.50 warns of nothing.
    assert (
        submit(world, b"sector,indicator,period,value\n44021A02-,area,2025,1.50\n")["warnings"]
        == []
    )
    problem = refused(world, b"sector,indicator,period,value\n44021A00-,population,2025,2.976\n")
    assert "2.976" in str(problem["errors"])


def test_a_count_written_with_a_thousands_separator_is_never_taken_silently(
    world: World,
) -> None:
    """A count takes whole numbers only: 2.976 inhabitants is refused, saying how to write
    2976; but 2.000 is a whole number, read as 2 — a Dutch spreadsheet's two thousand, a
    thousandth of it. It is accepted as the schema says, with the warning the README
    promises for three decimals where fewer are published (a steward's QA run found it
    taken without a word)."""
    result = submit(
        world,
        b"sector,indicator,period,value\n44021A00-,population,2025,2000\n"
        b"44021A01-,population,2025,2.000\n44021A02-,population,2025,12.000\n",
    )
    (warning,) = result["warnings"]  # type: ignore[misc]
    assert warning.startswith("2 value(s) of population have three decimals")
    assert "(first: row 2, 2.000)" in warning and "2.000 as 2" in warning
    assert "2000 was meant" in warning
    assert value(world, "44021A01-") == 2
    problem = refused(world, b"sector,indicator,period,value\n44021A00-,population,2025,1.234\n")
    (error,) = problem["errors"]  # type: ignore[misc]
    assert error["reason"].startswith("population is a count: give a whole number")
    assert "write 1234" in error["reason"]


@pytest.mark.parametrize(
    ("name", "start", "kind"),
    [
        ("gent.xlsx", b"PK\x03\x04\x14\x00\x06\x00", "an Excel workbook, .xlsx"),
        ("gent.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "Excel 97-2003 workbook"),
    ],
)
def test_a_workbook_sent_instead_of_its_csv_export_says_so(
    world: World, name: str, start: bytes, kind: str
) -> None:
    """The workbook itself, sent as curl -F sends a file of a type it does not know (or as
    text/csv): not "a NUL byte … is it a CSV text file?", but what it is and how to save it."""
    body = start + b"\x00" * 64 + b"[Content_Types].xml"
    before = world.fingerprint()
    response = world.client.post(
        SUBMIT,
        files={"file": (name, io.BytesIO(body), "application/octet-stream")},
        headers=world.auth("gent"),
    )
    assert response.status_code == 422, response.text
    assert world.fingerprint() == before
    (error,) = response.json()["errors"]
    assert kind in error["reason"] and "CSV UTF-8" in error["reason"], error


def test_upper_case_names_and_statuses_are_refused_with_their_lower_case_form(
    world: World,
) -> None:
    """The served Table Schema is case-sensitive, so the upload is too; the answer says what
    to write instead."""
    (error,) = refused(world, b"Sector,Indicator,period,value\n44021A00-,population,2025,5\n")[
        "errors"
    ]  # type: ignore[misc]
    assert "column names are lower case: write sector, indicator" in error["reason"]
    body = b"sector,indicator,period,value,status\n44021A00-,Population,2025,5,Provisional\n"
    reasons = {e["column"]: e["reason"] for e in refused(world, body)["errors"]}  # type: ignore[attr-defined]
    assert reasons == {
        "indicator": "written in lower case: population",
        "status": "written in lower case: provisional",
    }


def test_a_csv_from_a_windows_browser_is_read_by_its_name(world: World) -> None:
    """Where Excel is installed, Windows browsers send a .csv as application/vnd.ms-excel."""
    body = b"sector,indicator,period,value\n44021A00-,population,2025,4321\n"
    files = {"file": ("gent.csv", io.BytesIO(body), "application/vnd.ms-excel")}
    response = world.client.post(SUBMIT, files=files, headers=world.auth("gent"))
    assert response.status_code == 201, response.text
    assert value(world, "44021A00-") == 4321


def test_a_file_part_of_a_type_not_read_names_the_file(world: World) -> None:
    before = world.fingerprint()
    files = {"file": ("gent.xlsx", io.BytesIO(b"PK\x03\x04"), "application/vnd.ms-excel")}
    response = world.client.post(SUBMIT, files=files, headers=world.auth("gent"))
    assert response.status_code == 415, response.text
    assert "gent.xlsx" in response.json()["detail"] and ".csv" in response.json()["detail"]
    assert world.fingerprint() == before


def test_a_multipart_upload_cut_off_says_so(world: World) -> None:
    csv = b"sector,indicator,period,value\n" + b"44021A00-,population,2025,5\n" * 50
    body = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="gent.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + csv + b"\r\n--B--\r\n"
    )
    before = world.fingerprint()
    response = world.client.post(
        SUBMIT,
        content=body[: len(body) // 2],
        headers={**world.auth("gent"), "Content-Type": "multipart/form-data; boundary=B"},
    )
    assert response.status_code == 400, response.text
    assert "cut off" in response.json()["detail"]
    assert world.fingerprint() == before
    # Whole, but without a field named file: that is what it says.
    other = body.replace(b'name="file"', b'name="upload"')
    response = world.client.post(
        SUBMIT,
        content=other,
        headers={**world.auth("gent"), "Content-Type": "multipart/form-data; boundary=B"},
    )
    assert response.status_code == 400
    assert "field named 'file'" in response.json()["detail"]
