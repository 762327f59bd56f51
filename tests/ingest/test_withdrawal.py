"""Withdrawing an upload: a new revision without it, the values it replaced current again,
earlier revisions as they were, and only for those with the right to."""

from __future__ import annotations

import pytest
from rdflib import DCAT, DCTERMS, RDF, Graph

from app.stats.publish import publish_all
from tests.factories import World, submit_rows

DATASET = "population-2025"
SUBMIT = f"/api/v1/datasets/{DATASET}/submissions"
OBS = f"/api/v1/datasets/{DATASET}/observations"
GENT = ["44021A00-", "44021A01-"]
ANTWERPEN = "11002A00-"


def submit(world: World, who: str, *rows: str) -> dict[str, object]:
    return submit_rows(world, DATASET, who, *rows)


def withdraw(world: World, who: str, submission: object) -> tuple[int, dict[str, object]]:
    response = world.client.delete(f"{SUBMIT}/{submission}", headers=world.auth(who))
    return response.status_code, response.json()


def values(world: World, unit: str, **params: object) -> dict[str, tuple[object, str]]:
    response = world.client.get(OBS, params={"unit": unit, "indicator": "population", **params})
    assert response.status_code == 200, response.text
    return {r["period"]: (r["value"], r["status"]) for r in response.json()["items"]}


def coverage(world: World) -> tuple[object, ...]:
    """The temporal coverage in the dataset's JSON and in its DCAT description."""
    temporal = world.client.get(f"/api/v1/datasets/{DATASET}").json()["temporal"]
    graph = Graph().parse(
        data=world.client.get("/catalog.ttl", params={"page_size": 500}).text, format="turtle"
    )
    (node,) = (n for n in graph.subjects(RDF.type, DCAT.Dataset) if str(n).endswith(f"/{DATASET}"))
    period = graph.value(node, DCTERMS.temporal)
    dates = [str(graph.value(period, p))[:10] for p in (DCAT.startDate, DCAT.endDate)]
    return temporal["start"], temporal["end"], *dates


def test_a_year_opened_by_mistake_is_gone_with_the_rows_it_left_waiting(world: World) -> None:
    submit(world, "gent", f"{GENT[0]},population,2025,1000,", f"{GENT[1]},population,2025,500,")
    declared = coverage(world)
    assert declared[1] == declared[3] == "2025-01-01"  # a count on 1 January
    typo = submit(world, "gent", f"{GENT[0]},population,2052,1100,")
    assert typo["rows_not_supplied"] == 1
    assert set(values(world, "municipality:44021")) == {"2025", "2052"}
    # A harvester's time-based search finds the new year (on the same reference day).
    assert coverage(world) == (declared[0], "2052-01-01", declared[2], "2052-01-01")

    status, result = withdraw(world, "gent", typo["submission"])
    assert status == 200, result
    assert result == {
        "submission": result["submission"],
        "withdrawn": typo["submission"],
        "revision": 3,
        "rows_withdrawn": 2,  # the row sent and the one it left waiting
        "rows_restored": 0,
    }
    assert values(world, "municipality:44021") == {"2025": (1500, "normal")}
    assert coverage(world) == declared
    facets = world.client.get("/api/v1/datasets", params={"q": "bevolking"}).json()["facets"]
    assert "2052" not in {f["value"] for f in facets["period"]}
    # Earlier revisions keep it; the history lists the withdrawal.
    assert values(world, "municipality:44021", revision=2)["2052"][0] == 1100
    # A JSON-stat cube of an earlier revision is dated when that revision was made.
    made = {s["revision"]: s["created_at"] for s in world.client.get(SUBMIT).json()["items"]}
    cube = world.client.get(
        OBS, params={"indicator": "population", "format": "jsonstat", "revision": 2}
    ).json()
    assert cube["updated"] == made[2]
    current = world.client.get(OBS, params={"indicator": "population", "format": "jsonstat"})
    modified = world.client.get(f"/api/v1/datasets/{DATASET}").json()["modified"]
    assert current.json()["updated"] == modified != made[2]
    listed = world.client.get(SUBMIT).json()["items"][0]
    assert (listed["id"], listed["revision"]) == (result["submission"], 3)
    assert listed["source"] == f"withdrawal of submission {typo['submission']}"
    # A withdrawal has no file, so no digest, also for its own supplier (it said "").
    as_supplier = world.client.get(SUBMIT, headers=world.auth("gent")).json()["items"]
    assert as_supplier[0]["sha256"] is None and len(as_supplier[1]["sha256"]) == 64
    # Withdrawn once: nothing of it is current any more.
    again, problem = withdraw(world, "gent", typo["submission"])
    assert again == 409, problem
    assert problem["detail"] == (
        f"submission {typo['submission']} was withdrawn already (by submission "
        f"{result['submission']})"
    )
    # The list says which uploads are in effect.
    states = {s["id"]: s["withdrawn_by"] for s in world.client.get(SUBMIT).json()["items"]}
    assert states[typo["submission"]] == result["submission"]
    assert states[result["submission"]] is None
    # A withdrawal is not withdrawn in turn: the rows are submitted again.
    undo, problem = withdraw(world, "gent", result["submission"])
    assert undo == 409 and "submit them again" in str(problem["detail"]), problem


def test_a_year_others_supplied_to_since_keeps_waiting_for_the_rest(world: World) -> None:
    submit(
        world,
        "admin",
        f"{GENT[0]},population,2025,1000,",
        f"{GENT[1]},population,2025,500,",
        f"{ANTWERPEN},population,2025,300,",
    )
    opened = submit(world, "gent", f"{GENT[0]},population,2026,1100,")
    submit(world, "antwerpen", f"{ANTWERPEN},population,2026,310,")
    status, result = withdraw(world, "gent", opened["submission"])
    assert status == 200, result
    # Antwerpen's row stays; Gent's sectors wait again, so 2026 is no complete-looking total.
    assert values(world, f"sector:{GENT[0]}")["2026"] == (None, "missing")
    assert values(world, "region:02000")["2026"] == (310, "incomplete")
    listed = world.client.get(SUBMIT).json()["items"][0]
    assert (listed["id"], listed["rows_not_supplied"]) == (result["submission"], 2)
    with world.factory() as session, session.begin():
        outcome = publish_all(session, DATASET)
    assert (outcome.inserted, outcome.closed, outcome.corrected) == (0, 0, 0)


def test_the_values_it_replaced_are_current_again_and_later_changes_stay(world: World) -> None:
    first = submit(
        world, "gent", f"{GENT[0]},population,2025,1000,", f"{GENT[1]},population,2025,500,"
    )
    second = submit(
        world, "gent", f"{GENT[0]},population,2025,1100,", f"{GENT[1]},population,2025,600,"
    )
    # Someone replaces one of its rows before it is withdrawn: that row stays.
    submit(world, "admin", f"{GENT[1]},population,2025,650,")
    status, result = withdraw(world, "gent", second["submission"])
    assert status == 200, result
    assert (result["rows_withdrawn"], result["rows_restored"]) == (1, 1)
    assert values(world, f"sector:{GENT[0]}") == {"2025": (1000, "normal")}
    assert values(world, f"sector:{GENT[1]}") == {"2025": (650, "normal")}
    assert values(world, "municipality:44021") == {"2025": (1650, "normal")}
    # Who supplied the restored value stays true.
    (restored,) = world.client.get(
        OBS,
        params={"unit": f"sector:{GENT[0]}", "indicator": "population", "provenance": True},
    ).json()["items"]
    assert (restored["supplier"], restored["submission"]) == ("gent", first["submission"])
    assert restored["revision"] == result["revision"]
    # Incremental publication left what a full recomputation makes.
    with world.factory() as session, session.begin():
        outcome = publish_all(session, DATASET)
    assert (outcome.inserted, outcome.closed, outcome.corrected) == (0, 0, 0)


@pytest.mark.parametrize("order", ["older first", "newer first"])
def test_no_value_of_a_withdrawn_upload_comes_back(world: World, order: str) -> None:
    # The steward's case: two uploads replacing one sector in turn, both withdrawn.
    submit(world, "admin", f"{GENT[0]},population,2025,1425,", f"{GENT[1]},population,2025,790,")
    older = submit(
        world, "gent", f"{GENT[0]},population,2025,1500,", f"{GENT[1]},population,2025,800,"
    )
    newer = submit(world, "gent", f"{GENT[0]},population,2025,1600,")
    sequence = [older, newer] if order == "older first" else [newer, older]
    for made in sequence:
        status, result = withdraw(world, "gent", made["submission"])
        assert status == 200, result
    assert values(world, f"sector:{GENT[0]}") == {"2025": (1425, "normal")}
    assert values(world, f"sector:{GENT[1]}") == {"2025": (790, "normal")}
    assert values(world, "municipality:44021") == {"2025": (2215, "normal")}
    for made in sequence:
        assert withdraw(world, "gent", made["submission"])[0] == 409
    with world.factory() as session, session.begin():
        outcome = publish_all(session, DATASET)
    assert (outcome.inserted, outcome.closed, outcome.corrected) == (0, 0, 0)


def test_a_year_whose_every_upload_is_withdrawn_is_gone(world: World) -> None:
    submit(world, "gent", f"{GENT[0]},population,2025,1000,", f"{GENT[1]},population,2025,500,")
    submit(world, "antwerpen", f"{ANTWERPEN},population,2025,300,")
    opened = submit(world, "gent", f"{GENT[0]},population,2026,1100,")
    joined = submit(world, "antwerpen", f"{ANTWERPEN},population,2026,310,")
    # The opener first: the year waits for Gent's sectors again, then for nobody.
    assert withdraw(world, "gent", opened["submission"])[0] == 200
    assert values(world, "region:02000")["2026"] == (310, "incomplete")
    assert withdraw(world, "antwerpen", joined["submission"])[0] == 200
    for unit in ("region:02000", f"sector:{GENT[1]}", f"sector:{ANTWERPEN}"):
        assert set(values(world, unit)) == {"2025"}, unit
    indicator = world.client.get("/api/v1/indicators/population").json()
    assert "2026" not in indicator["periods"]
    with world.factory() as session, session.begin():
        outcome = publish_all(session, DATASET)
    assert (outcome.inserted, outcome.closed, outcome.corrected) == (0, 0, 0)


def test_a_withdrawn_year_is_read_by_period_at_an_earlier_revision(world: World) -> None:
    """``period=`` was checked against the current revision: a year that only an earlier
    revision holds answered 404 with ``revision=`` or ``as_of=`` (and without ``period=``
    the same request listed it)."""
    submit(world, "gent", f"{GENT[0]},population,2025,1000,")
    opened = submit(world, "gent", f"{GENT[0]},population,2026,1100,")
    assert withdraw(world, "gent", opened["submission"])[0] == 200
    revision = opened["revision"]
    assert values(world, f"sector:{GENT[0]}", revision=revision, period="2026") == {
        "2026": (1100, "normal")
    }
    listed = world.client.get(SUBMIT, params={"page_size": 100}).json()["items"]
    made = next(s["created_at"] for s in listed if s["id"] == opened["submission"])
    assert values(world, f"sector:{GENT[0]}", as_of=made, period="2026") == {
        "2026": (1100, "normal")
    }
    # Not in the current revision, nor in one before the year was opened.
    for params in ({}, {"revision": int(str(revision)) - 1}):
        gone = world.client.get(
            OBS, params={"unit": f"sector:{GENT[0]}", "period": "2026", **params}
        )
        assert gone.status_code == 404, gone.text
        assert gone.json()["detail"].startswith("period '2026' not in dataset")
        assert "2026" not in gone.json()["detail"].split(";", 1)[1]


@pytest.mark.parametrize(
    ("who", "status", "right"),
    [
        ("gent", 200, None),  # its own organisation's supplier
        ("gent-editor", 200, None),
        ("gent-reader", 403, "role:"),
        ("antwerpen", 403, "role:editor|admin"),  # another supplier
        ("antwerpen-editor", 200, None),  # a co-owner
        ("analyst-editor", 403, "owner|publisher:population-2025"),
        ("publisher-editor", 200, None),
        ("admin", 200, None),
    ],
)
def test_who_may_withdraw_a_submission(
    world: World, who: str, status: int, right: str | None
) -> None:
    made = submit(world, "gent", f"{GENT[0]},population,2025,1000,")
    before = world.fingerprint()
    answer, body = withdraw(world, who, made["submission"])
    assert answer == status, body
    if right is not None:
        assert str(body["missing_right"]).startswith(right), body
        assert world.fingerprint() == before


def test_what_cannot_be_withdrawn(world: World) -> None:
    made = submit(world, "gent", f"{GENT[0]},population,2025,1000,")
    same = submit(world, "gent", f"{GENT[0]},population,2025,1000,")
    before = world.fingerprint()
    assert withdraw(world, "admin", 999_999)[0] == 404
    # A submission of another dataset is not one of this dataset's.
    other = world.client.delete(
        f"/api/v1/datasets/energy-fluvius/submissions/{made['submission']}",
        headers=world.auth("admin"),
    )
    assert other.status_code == 404
    status, problem = withdraw(world, "admin", same["submission"])
    assert status == 409 and "changed nothing" in str(problem["detail"])
    assert world.client.delete(f"{SUBMIT}/0", headers=world.auth("admin")).status_code == 404
    assert world.client.delete(f"{SUBMIT}/{made['submission']}").status_code == 401
    assert world.fingerprint() == before
