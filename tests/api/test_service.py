"""Health, readiness, offline docs and error rendering."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api.observe import REQUEST_ID
from app.config import Settings
from app.main import create_app


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_ready_reports_an_unmigrated_database(tmp_path: object) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/empty.sqlite3"))
    with TestClient(app) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "datapedia db upgrade" in response.json()["detail"]


def test_docs_work_without_internet(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets, "the docs page loads no assets?"
    assert all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    spec = client.get("/openapi.json").json()
    assert "/api/v1/geo/units/{level}/{code}" in spec["paths"]
    assert {t["name"] for t in spec["tags"]} >= {"geography", "catalogue", "indicators"}


def test_operation_ids_are_the_handlers_names_and_unique(client: TestClient) -> None:
    """A client generator names its methods after them: "list_units", not FastAPI's
    "list_units_api_v1_geo_units_get"."""
    spec = client.get("/openapi.json").json()
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert spec["paths"]["/api/v1/geo/units"]["get"]["operationId"] == "list_units"
    assert all(re.fullmatch(r"[a-z][a-z_]*", i) and "api_v1" not in i for i in ids), ids


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["instance"] == "/api/v1/nothing-here"


@pytest.mark.server_error
def test_unexpected_errors_never_show_a_stack_trace(real_db: str) -> None:
    app: FastAPI = create_app(Settings(database_url=real_db))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    logged: list[str] = []

    class Ids(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                logged.append(REQUEST_ID.get())

    handler = Ids()
    logging.getLogger("datapedia").addHandler(handler)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/boom", headers={"X-Request-ID": "boom-42"})
    finally:
        logging.getLogger("datapedia").removeHandler(handler)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text and "Traceback" not in response.text
    # The answer and the log line both name the request, so a report finds its traceback.
    assert response.headers["x-request-id"] == "boom-42"
    assert logged == ["boom-42"]
