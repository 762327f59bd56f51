"""Prometheus metrics (``/metrics``): requests, latency, submissions, publication time.

With several workers each process writes its figures to ``PROMETHEUS_MULTIPROC_DIR``
(``datapedia serve --workers N`` sets it up) and ``/metrics`` sums them, whichever worker
answers."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)


def ensure_folder() -> bool:
    """The workers' folder must exist before a metric is made (at import, here) or read:
    made when missing (temporary folders get cleaned; True then), and one line when it
    cannot be."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder or os.path.isdir(folder):
        return False
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise SystemExit(
            f"error: PROMETHEUS_MULTIPROC_DIR={folder}: {exc.strerror or exc}"
        ) from None
    return True


ensure_folder()

REQUESTS = Counter(
    "datapedia_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "datapedia_http_request_duration_seconds",
    "Time from request to the last byte of the answer, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SUBMISSIONS = Counter(
    "datapedia_submissions",
    "Submissions received, by outcome (accepted or rejected).",
    ["outcome"],
)
PUBLICATION = Histogram(
    "datapedia_publication_duration_seconds",
    "Time to recompute and store a dataset's published values after a change.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)


def render() -> tuple[bytes, str]:
    """The exposition text (every worker's figures summed) and its media type."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        ensure_folder()
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
