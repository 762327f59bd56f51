"""The observations query: every parameter bounded (422 naming it, never a 500), earlier
revisions by number or moment, and JSON answers as the OpenAPI document describes them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.contract import assert_conforms
from tests.factories import World

DATASET = "population-2025"
OBS = f"/api/v1/datasets/{DATASET}/observations"
OBS_PATH = "/api/v1/datasets/{dataset_id}/observations"
SUBMIT = f"/api/v1/datasets/{DATASET}/submissions"
HEADER = "sector,indicator,period,value,status\n"
MANY = [f"municipality:{n}" for n in range(101)]


def submit(world: World, *rows: str) -> dict[str, object]:
    body = (HEADER + "".join(r + "\n" for r in rows)).encode()
    response = world.client.post(SUBMIT, content=body, headers=world.headers("gent"))
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"revision": str(2**63)}, "revision"),
        ({"revision": "1" + "0" * 30}, "revision"),
        ({"revision": "0"}, "revision"),
        ({"revision": "-1"}, "revision"),
        ({"revision": "1e3"}, "revision"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"as_of": "2025-13-01T00:00:00Z"}, "as_of"),
        ({"as_of": "2025-01-01T00:00:00+99:00"}, "as_of"),
        ({"as_of": "0001-01-01T00:00:00+14:00"}, "as_of"),
        ({"as_of": "9999-12-31T23:59:59-14:00"}, "as_of"),
        ({"revision": "1", "as_of": "2025-01-01T00:00:00Z"}, "as_of"),
        ({"indicator": ["population"] * 101}, "indicator"),
        ({"period": ["2025"] * 101}, "period"),
        ({"unit": MANY}, "unit"),
        ({"area": MANY}, "area"),
        ({"indicator": "p" * 101}, "indicator.0"),
        ({"period": "2" * 21}, "period.0"),
        ({"unit": "municipality:" + "4" * 200}, "unit.0"),
        ({"area": ["municipality:44021", "m" * 201]}, "area.1"),
        ({"level": "l" * 51}, "level"),
        ({"version": "2" * 21}, "version"),
        ({"within": "w" * 201}, "within"),
        ({"page": str(10**20)}, "page"),
        ({"page": "100001"}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": str(2**64)}, "page_size"),
        ({"provenance": "perhaps"}, "provenance"),
        # PostgreSQL refuses a NUL in a parameter: such text never reaches the database.
        ({"unit": "municipality:\x00"}, "unit.0"),
        ({"area": "municipality:4\x00"}, "area.0"),
        ({"within": "province:\x00"}, "within"),
        ({"indicator": "population\x00"}, "indicator.0"),
        ({"period": "2025\n"}, "period.0"),
        ({"version": "\x00"}, "version"),
        ({"level": "sector\x1f"}, "level"),
    ],
)
def test_out_of_bounds_parameters_are_422_naming_them(
    world: World, params: dict[str, object], parameter: str
) -> None:
    response = world.client.get(OBS, params=params)  # type: ignore[arg-type]
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    # Every 422 names a parameter at the top (the first, when several are refused).
    assert problem["parameter"] is not None
    named = {e["parameter"] for e in problem.get("errors", [])} | {problem["parameter"]}
    # A repeated parameter is named with its position, or by its name alone when the value
    # was refused before validation (a control character: app.api.http).
    assert parameter in named or parameter.split(".")[0] in named, problem


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/datasets/{'d' * 101}/observations",
        "/api/v1/datasets/population%00/observations",
        "/api/v1/datasets/population%0A2025/observations",
        f"/api/v1/indicators/{'i' * 101}",
        "/api/v1/indicators/population%00",
        "/api/v1/datasets/population%00/schema",
        "/api/v1/datasets/population%00/submissions",
    ],
)
def test_a_path_that_cannot_be_an_id_names_nothing(world: World, path: str) -> None:
    response = world.client.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_as_of_is_a_moment_in_any_zone(world: World) -> None:
    first = submit(world, "44021A00-,population,2025,100,")
    history = world.client.get(SUBMIT).json()["items"]
    created = datetime.fromisoformat(history[0]["created_at"])
    second = submit(world, "44021A00-,population,2025,200,")
    assert (first["revision"], second["revision"]) == (1, 2)

    def value_at(**params: object) -> object:
        response = world.client.get(
            OBS, params={"unit": "sector:44021A00-", "indicator": "population", **params}
        )
        assert response.status_code == 200, response.text
        (item,) = response.json()["items"]
        return item["value"]

    assert value_at() == 200
    assert value_at(revision=1) == 100
    assert value_at(revision=2) == 200
    assert value_at(as_of=created.isoformat()) == 100
    # The same moment written in Brussels summer time, and without a zone (read as UTC).
    brussels = created.astimezone(timezone(timedelta(hours=2)))
    assert value_at(as_of=brussels.isoformat()) == 100
    assert value_at(as_of=created.replace(tzinfo=None).isoformat()) == 100
    # A "+" not encoded in the URL arrives as a space: read as the offset it was meant to be.
    unencoded = world.client.get(
        f"{OBS}?unit=sector:44021A00-&indicator=population&as_of={brussels.isoformat()}"
    )
    assert unencoded.status_code == 200, unencoded.text
    assert unencoded.json()["items"][0]["value"] == 100
    # A space between the date and a time (without seconds, without an offset) is that,
    # not an offset ("2999-01-01+12:30" was refused).
    assert value_at(as_of="2999-01-01 12:30") == 200
    assert value_at(as_of="2999-01-01T00:00:00Z") == 200
    before = world.client.get(OBS, params={"as_of": "2000-01-01T00:00:00+01:00"})
    assert before.status_code == 404
    assert "1999-12-31T23:00:00Z" in before.json()["detail"]
    assert world.client.get(OBS, params={"revision": 3}).status_code == 404


@pytest.mark.parametrize("number", ["2025", "1733572800", "1733572800000", "2025.5", " 2025"])
def test_as_of_that_is_a_number_is_refused_not_read_as_unix_time(world: World, number: str) -> None:
    """``as_of=2025`` (a year) was read as 2025 seconds after 1970: a 404 saying the dataset
    "had no data yet at 1970-01-01T00:33:45Z", or, for a Unix time, an answer for a moment
    the reader never wrote as RFC 3339 asks."""
    submit(world, "44021A00-,population,2025,100,")
    response = world.client.get(OBS, params={"as_of": number})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["parameter"] == "as_of"
    (error,) = problem["errors"]
    assert "not a date-time" in error["reason"]
    assert "1970" not in response.text


def test_json_answers_match_the_openapi_document(world: World) -> None:
    submit(
        world,
        "44021A00-,population,2025,100,",
        "44021A01-,population,2025,,confidential",
        "44021A00-,area,2025,2.5,",
    )
    submit(world, "44021A00-,population,2025,120,provisional")
    pages = [
        {"indicator": "population", "level": "municipality"},
        {"unit": "sector:44021A00-", "provenance": "true"},
        {"level": "sector", "revision": 1},
        {"area": ["sector:44021A00-", "sector:44021A01-"]},
        {"level": "province", "page": 3, "page_size": 1},
    ]
    for params in pages:
        response = world.client.get(OBS, params=params)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert_conforms(world.client, OBS_PATH, "get", 200, response.json(), "application/json")
    provenance = world.client.get(
        OBS, params={"unit": "sector:44021A00-", "indicator": "population", "provenance": "true"}
    ).json()["items"][0]
    assert (provenance["supplier"], provenance["revision"], provenance["value"]) == (
        "gent",
        2,
        120,
    )
    jsonstat = world.client.get(OBS, params={"level": "municipality", "format": "jsonstat"})
    assert jsonstat.status_code == 200
    assert_conforms(world.client, OBS_PATH, "get", 200, jsonstat.json(), "application/json")
    assert jsonstat.json()["updated"].endswith("Z")


def test_observation_errors_and_limits_are_documented(world: World) -> None:
    operation = world.client.get("/openapi.json").json()["paths"][OBS_PATH]["get"]
    assert {"400", "401", "403", "404", "406", "422"} <= set(operation["responses"])
    assert "text/csv" in operation["responses"]["200"]["content"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
    for name in ("indicator", "period", "unit", "area"):
        assert parameters[name]["maxItems"] == 100
        assert parameters[name]["items"]["maxLength"] > 0
    revision = parameters["revision"]["anyOf"][0]
    assert (revision["minimum"], revision["maximum"]) == (1, 2**63 - 1)
    assert parameters["as_of"]["anyOf"][0]["format"] == "date-time"


@pytest.mark.parametrize(
    ("path", "name", "hint"),
    [
        (f"{OBS}?indicators=population", "indicators", "did you mean 'indicator'?"),
        (f"{OBS}?year=2025", "year", "it takes "),
        ("/api/v1/compare?unit=set:centrumsteden&indicator=population&revision=1", "revision", ""),
        (
            "/api/v1/monitors/klimaat-energie?units=set:centrumsteden",
            "units",
            "takes format, period",
        ),
    ],
)
def test_an_unknown_parameter_is_named(world: World, path: str, name: str, hint: str) -> None:
    """A parameter the route does not take answered as if it were not there: every year for
    year=2025. It is a 422 naming it, with the closest one the route takes."""
    response = world.client.get(path)
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == name
    assert hint in response.json()["detail"]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("indicator=population&level=sector&level=municipality", "level"),
        ("level=region&format=csv&format=json", "format"),
        ("level=region&page_size=1&page_size=2", "page_size"),
        ("unit=municipality:44021&within=municipality:44021&within=municipality:11002", "within"),
    ],
)
def test_a_parameter_of_one_value_given_twice_is_named(world: World, query: str, name: str) -> None:
    """The last of two levels answered as if the first were not there; a parameter that
    takes several (indicator, period, unit) still takes them."""
    response = world.client.get(f"{OBS}?{query}")
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == name
    several = world.client.get(
        f"{OBS}?indicator=population&indicator=population-density&level=region"
    )
    assert several.status_code == 200, several.text


def test_an_empty_within_is_refused(world: World) -> None:
    """Not the whole region, as a dashboard with nothing selected would otherwise get."""
    response = world.client.get(OBS, params={"within": "", "level": "region"})
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == "within"


def test_a_cache_buster_is_left_alone(world: World) -> None:
    assert world.client.get(OBS, params={"_": "1733480000000"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "accept", "name"),
    [
        ({"format": "csv", "page": "2", "page_size": "10"}, "*/*", "page"),
        ({"format": "csv", "page_size": "10"}, "*/*", "page_size"),
        ({"format": "jsonstat", "page": "1"}, "*/*", "page"),
        ({"page": "2"}, "text/csv", "page"),
        ({"page_size": "1000"}, "application/vnd.json-stat+json", "page_size"),
    ],
)
def test_csv_and_jsonstat_refuse_page_as_they_refuse_cursor(
    world: World, params: dict[str, str], accept: str, name: str
) -> None:
    """CSV and JSON-stat are not paged: page and page_size were ignored, so every "page" of
    a CSV was the whole export, and a script reading pages 1, 2, 3 … until one came back
    short got each record once per page. A 422 naming the parameter, as for a cursor."""
    submit(world, "44021A00-,population,2025,100,")
    response = world.client.get(
        OBS, params={"indicator": "population", **params}, headers={"Accept": accept}
    )
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == name
    assert "not paged" in response.json()["detail"]
    paged = world.client.get(OBS, params={"indicator": "population", "page": "1"})
    assert paged.status_code == 200, paged.text


@pytest.mark.parametrize(
    "area",
    [
        # Both city-regions are Limburg's referentieregio (seeds/cityregions.yaml).
        ["cityregion:stadsregio-genk", "cityregion:stadsregio-hasselt"],
        ["set:stadsregios"],
        # The same municipalities as a province and as a vervoerregio.
        ["vervoerregio:8", "province:70000"],
        # Partly overlapping: Gent's referentieregio and the arrondissement of Gent.
        ["referentieregio:REFREG13", "arrondissement:44000"],
    ],
)
def test_an_area_of_units_that_share_sectors_is_refused(world: World, area: list[str]) -> None:
    """Only a unit inside another was refused: two regionalisations covering the same
    sectors were summed, each shared sector twice (all 13 city-regions as one area counted
    Limburg's 905,000 inhabitants twice)."""
    submit(world, "44021A00-,population,2025,100,")
    response = world.client.get(OBS, params={"area": area, "indicator": "population"})
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == "area"
    assert "overlap" in response.json()["detail"]


def test_an_area_of_units_that_only_touch_is_served(world: World) -> None:
    submit(world, "44021A00-,population,2025,100,")
    area = ["cityregion:stadsregio-gent", "cityregion:stadsregio-antwerpen", "sector:11002A00-"]
    response = world.client.get(OBS, params={"area": area[:2], "indicator": "population"})
    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["value"] == 100
    inside = world.client.get(OBS, params={"area": area, "indicator": "population"})
    assert inside.status_code == 422, inside.text


def test_a_unit_not_of_the_level_asked_is_refused_not_left_out(world: World) -> None:
    """unit=municipality:44021&level=sector answered an empty list, which reads as "no sector
    data for Gent": unit= names the units themselves, and none was a sector. A 422 on level
    that says how to ask for the sectors inside Gent."""
    submit(world, "44021A00-,population,2025,100,")
    base = {"indicator": "population", "level": "sector"}
    refused = world.client.get(OBS, params={**base, "unit": "municipality:44021"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["parameter"] == "level"
    assert "within=municipality:44021&level=sector" in refused.json()["detail"]
    mixed = world.client.get(OBS, params={**base, "unit": ["sector:44021A00-", "region:02000"]})
    assert mixed.status_code == 422, mixed.text
    assert "region:02000" in mixed.json()["detail"]
    one = world.client.get(OBS, params={**base, "unit": "sector:44021A00-"})
    assert [i["value"] for i in one.json()["items"]] == [100]
    inside = world.client.get(OBS, params={**base, "within": "municipality:44021"})
    assert 100 in [i["value"] for i in inside.json()["items"]]


@pytest.mark.parametrize(
    ("within", "level"),
    [
        ("municipality:44021", "municipality"),  # a unit is not inside itself
        ("sector:44021A00-", "sector"),
        ("region:04000", "province"),  # Brussels has no province
    ],
)
def test_a_level_that_lies_nowhere_inside_the_within_unit_is_refused(
    world: World, within: str, level: str
) -> None:
    """within=municipality:44021&level=municipality answered an empty list, which reads as
    "no data for Gent": no unit of that level lies inside it. A 422 on level."""
    submit(world, "44021A00-,population,2025,100,")
    params = {"indicator": "population", "within": within, "level": level}
    refused = world.client.get(OBS, params=params)
    assert refused.status_code == 422, refused.text
    assert refused.json()["parameter"] == "level"
    assert within in refused.json()["detail"]
