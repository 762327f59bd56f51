"""Submissions that open a new period, and submissions that change nothing.

A supplier covers its own territory only: the first supplier of a new period must not make
the period's totals look complete. The sectors that report the indicator in other periods
but not in the submission are stored as missing, and the totals say how incomplete they are
until the others supply their sectors. A submission equal to what is stored makes no
revision."""

from __future__ import annotations

from sqlalchemy import select

from app.stats.models import Submission
from app.stats.publish import publish_all
from tests.factories import World, submit_rows

DATASET = "population-2025"
SUBMIT = f"/api/v1/datasets/{DATASET}/submissions"
OBS = f"/api/v1/datasets/{DATASET}/observations"
GENT = ["44021A00-", "44021A01-", "44021ZZZZ"]
ANTWERPEN = ["11002A00-", "11002A01-"]


def submit(world: World, who: str, *rows: str) -> dict[str, object]:
    return submit_rows(world, DATASET, who, *rows)


def cell(world: World, unit: str, period: str) -> tuple[object, str, object]:
    response = world.client.get(
        OBS, params={"unit": unit, "indicator": "population", "period": period}
    )
    assert response.status_code == 200, response.text
    (item,) = response.json()["items"]
    return item["value"], item["status"], item["coverage"]


def supply_2025(world: World) -> None:
    submit(
        world,
        "gent",
        f"{GENT[0]},population,2025,1000,",
        f"{GENT[1]},population,2025,500,",
        # The remainder is never populated: not applicable in every period.
        f"{GENT[2]},population,2025,,not_applicable",
    )
    submit(
        world,
        "antwerpen",
        f"{ANTWERPEN[0]},population,2025,300,",
        f"{ANTWERPEN[1]},population,2025,200,",
    )


def test_the_first_supplier_of_a_new_period_does_not_make_its_totals_complete(
    world: World,
) -> None:
    supply_2025(world)
    assert cell(world, "region:02000", "2025") == (2000, "normal", 1.0)

    opened = submit(world, "gent", f"{GENT[0]},population,2026,1100,")
    # Gent's other sector and both of Antwerpen's wait for their data; the remainder is not
    # applicable, as in 2025.
    assert (opened["rows_added"], opened["rows_not_supplied"]) == (1, 4)
    # Kept with the submission, in its list and in the dataset's history.
    listed = world.client.get(SUBMIT).json()["items"][0]
    assert (listed["id"], listed["rows_not_supplied"]) == (opened["submission"], 4)
    history = world.client.get(f"/api/v1/datasets/{DATASET}/history").json()["items"]
    assert history[0]["changes"]["rows_not_supplied"] == 4
    assert cell(world, f"sector:{GENT[1]}", "2026") == (None, "missing", None)
    assert cell(world, f"sector:{GENT[2]}", "2026") == (None, "not_applicable", None)
    # Nobody supplied the waiting rows: their provenance names the submission, no supplier.
    waiting = world.client.get(
        OBS,
        params={
            "unit": [f"sector:{ANTWERPEN[0]}", f"sector:{GENT[0]}"],
            "indicator": "population",
            "period": "2026",
            "provenance": True,
        },
    ).json()["items"]
    assert {(r["code"], r["supplier"], r["submission"]) for r in waiting} == {
        (ANTWERPEN[0], None, opened["submission"]),
        (GENT[0], "gent", opened["submission"]),
    }
    assert cell(world, "municipality:44021", "2026") == (1100, "incomplete", 0.5)
    assert cell(world, "municipality:11002", "2026") == (None, "missing", 0.0)
    assert cell(world, "region:02000", "2026") == (1100, "incomplete", 0.25)
    # 2025 is as it was.
    assert cell(world, "region:02000", "2025") == (2000, "normal", 1.0)

    # The others supply theirs: the missing rows are replaced, nothing more is filled in.
    later = submit(world, "gent", f"{GENT[1]},population,2026,520,")
    assert (later["rows_added"], later["rows_changed"], later["rows_not_supplied"]) == (0, 1, 0)
    antwerpen = submit(
        world,
        "antwerpen",
        f"{ANTWERPEN[0]},population,2026,310,",
        f"{ANTWERPEN[1]},population,2026,190,",
    )
    assert (antwerpen["rows_changed"], antwerpen["rows_not_supplied"]) == (2, 0)
    supplied = world.client.get(
        OBS,
        params={
            "unit": f"sector:{ANTWERPEN[0]}",
            "indicator": "population",
            "period": "2026",
            "provenance": True,
        },
    ).json()["items"]
    assert supplied[0]["supplier"] == "antwerpen"
    assert cell(world, "municipality:44021", "2026") == (1620, "normal", 1.0)
    assert cell(world, "region:02000", "2026") == (2120, "normal", 1.0)

    # Incremental publication left what a full recomputation makes.
    with world.factory() as session, session.begin():
        outcome = publish_all(session, DATASET)
    assert (outcome.inserted, outcome.closed, outcome.corrected) == (0, 0, 0)


def test_a_year_being_supplied_is_not_shown_by_default_nor_compared(world: World) -> None:
    supply_2025(world)
    submit(world, "gent", f"{GENT[0]},population,2026,1100,")
    # The profile shows each place's latest complete value: 2025, not Antwerpen's empty 2026
    # nor Gent's 2026 sum of one sector.
    for code, value in (("11002", 500), ("44021", 1500)):
        profile = world.client.get(f"/api/v1/geo/units/municipality/{code}/profile").json()
        (row,) = [r for r in profile["indicators"] if r["indicator"] == "population"]
        assert (row["period"], row["value"]["value"], row["value"]["status"]) == (
            "2025",
            value,
            "normal",
        )
    compare = "/api/v1/compare"
    params = {"indicator": "population", "unit": ["municipality:44021", "municipality:11002"]}
    (latest,) = world.client.get(compare, params=params).json()["series"]["periods"]
    assert latest["period"] == "2025"
    assert [u["rank"] for u in latest["units"]] == [1, 2]
    # Asked for 2026: Gent's incomplete sum has neither a rank nor a change since 2025.
    (asked,) = world.client.get(compare, params={**params, "period": "2026"}).json()["series"][
        "periods"
    ]
    gent = asked["units"][0]
    assert (gent["value"], gent["status"]) == (1100, "incomplete")
    assert (gent["rank"], gent["change"], gent["change_pct"]) == (None, None, None)
    assert asked["ranked"] == 0


def test_a_new_period_in_the_same_file_as_a_complete_one_waits_too(world: World) -> None:
    # The first file of all: 2025 for both of Gent's sectors, 2026 for one. The other
    # waits in 2026, though the dataset held none of its rows before.
    first = submit(
        world,
        "gent",
        f"{GENT[0]},population,2025,1000,",
        f"{GENT[1]},population,2025,500,",
        f"{GENT[0]},population,2026,1100,",
    )
    assert (first["rows_added"], first["rows_not_supplied"]) == (3, 1)
    assert cell(world, f"sector:{GENT[1]}", "2026") == (None, "missing", None)
    assert cell(world, "municipality:44021", "2026") == (1100, "incomplete", 0.5)
    assert cell(world, "municipality:44021", "2025") == (1500, "normal", 1.0)


def test_an_indicator_never_supplied_before_has_nothing_to_wait_for(world: World) -> None:
    opened = submit(world, "gent", f"{GENT[0]},population,2026,1100,")
    assert (opened["rows_added"], opened["rows_not_supplied"]) == (1, 0)
    assert cell(world, "municipality:44021", "2026") == (1100, "normal", 1.0)


def test_a_submission_that_changes_nothing_makes_no_revision(world: World) -> None:
    supply_2025(world)
    before = world.client.get(f"/api/v1/datasets/{DATASET}").json()
    latest = submit(world, "antwerpen", f"{ANTWERPEN[0]},population,2025,300,")
    assert latest["new_revision"] is False
    assert latest["revision"] == 2  # the current one
    assert (latest["rows_added"], latest["rows_changed"], latest["rows_unchanged"]) == (0, 0, 1)
    after = world.client.get(f"/api/v1/datasets/{DATASET}").json()
    assert after["modified"] == before["modified"]
    # Recorded all the same: who sent what, and that it made no revision.
    listed = world.client.get(SUBMIT).json()
    assert listed["total"] == 3
    assert listed["items"][0]["id"] == latest["submission"]
    assert listed["items"][0]["revision"] is None
    with world.factory() as session:
        revisions = session.scalars(
            select(Submission.revision).where(Submission.dataset_id == DATASET)
        ).all()
    assert sorted(r for r in revisions if r is not None) == [1, 2]
    # The next change is revision 3: revisions stay dense.
    changed = submit(world, "antwerpen", f"{ANTWERPEN[0]},population,2025,301,")
    assert (changed["revision"], changed["new_revision"]) == (3, True)
    response = world.client.get(OBS, params={"unit": "municipality:11002", "revision": 3})
    assert response.json()["items"][0]["value"] == 501


def test_a_period_only_some_indicators_have_is_named_for_the_indicator(world: World) -> None:
    supply_2025(world)
    submit(world, "gent", f"{GENT[0]},population,2026,1100,")
    # The dataset's years were named (2025, 2026) when the indicator had none of them.
    unsupplied = world.client.get(OBS, params={"indicator": "area", "period": "2026"})
    assert unsupplied.json()["detail"].endswith("; it has no period yet")
    submit(world, "gent", f"{GENT[0]},area,2025,1.5,")
    response = world.client.get(OBS, params={"indicator": "area", "period": "2026"})
    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"period '2026' not in indicator(s) area of dataset '{DATASET}'; it has 2025"
    )
    both = world.client.get(
        OBS, params={"indicator": ["area", "population-density"], "period": "2026"}
    )
    assert both.status_code == 404
    assert both.json()["detail"].endswith("; they have 2025")
    unknown = world.client.get(OBS, params={"period": "2030"}).json()["detail"]
    assert unknown.startswith(f"period '2030' not in dataset '{DATASET}'")


def test_the_dataset_page_previews_the_latest_complete_year(world: World) -> None:
    supply_2025(world)
    submit(world, "gent", f"{GENT[0]},population,2026,1100,")
    page = world.client.get(f"/doc/dataset/{DATASET}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    caption = page.text.split('<caption id="preview-caption">', 1)[1].split("</caption>", 1)[0]
    # 2026 waits for most of its sectors: its municipalities would nearly all be missing.
    assert caption.endswith(", 2025"), caption
    assert "period=2025" in page.text.split('id="preview"', 1)[1].split("</section>", 1)[0]


def test_without_a_complete_year_the_preview_shows_the_most_supplied_one(world: World) -> None:
    """With a confidential sector in 2025 no year's total was complete, and the preview
    fell back to the newest year, 2026, which one sector of Gent had opened."""
    supply_2025(world)
    submit(world, "antwerpen", f"{ANTWERPEN[1]},population,2025,,confidential")
    submit(world, "gent", f"{GENT[0]},population,2026,1100,")
    assert cell(world, "region:02000", "2025")[1] == "incomplete"
    page = world.client.get(f"/doc/dataset/{DATASET}", headers={"Accept": "text/html"})
    caption = page.text.split('<caption id="preview-caption">', 1)[1].split("</caption>", 1)[0]
    assert caption.endswith(", 2025"), caption
