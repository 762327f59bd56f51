"""Monitors benchmark (issue 13): a monitor, a comparison and a unit profile against the
observations calls that give the same values (their ``api_url``s), measured in the same run on
the same server. Budget: each ≤ 2× the sum of its observations calls.

Needs a seeded database: ``DATAPEDIA_DATABASE_URL`` (default: the settings' database, as
``make run`` leaves it). Run: ``python -m benchmarks.monitors_bench``; figures are appended to
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from app.config import PROJECT_ROOT, get_settings
from benchmarks.common import served

RESULTS = PROJECT_ROOT / "benchmarks" / "RESULTS.md"
BUDGET = 2.0
REPEAT = 5
CALLS = [
    "/api/v1/monitors/klimaat-energie",
    "/api/v1/monitors/demografie",
    "/api/v1/compare?indicator=gas-consumption-residential&unit=set:centrumsteden",
    "/api/v1/geo/units/municipality/44021/profile",
]


def median_seconds(client: httpx.Client, url: str) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples)


def api_urls(body: dict[str, Any]) -> list[str]:
    if "series" in body:
        series = body["series"]
        return [s["api_url"] for s in (series if isinstance(series, list) else [series])]
    return [row["api_url"] for row in body["indicators"]]


def main() -> None:
    url = get_settings().database_url
    lines = [
        f"\n## Monitors — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
        "Median of 5 requests through HTTP on one server (SQLite unless the URL says "
        "otherwise): each view against the sum of the observations calls that give its values "
        "(its `api_url`s; the reference, same run). Budget: view ≤ 2× observations. The "
        "machine is shared with other engineers' test runs: read the ratios.\n",
        "| view | observations calls | view s | observations s | view / obs | within budget |",
        "|---|---:|---:|---:|---:|---|",
    ]
    with served(url) as (client, _):
        for call in CALLS:
            calls = api_urls(client.get(call).json())
            view_s = median_seconds(client, call)
            obs_s = sum(median_seconds(client, c) for c in calls)
            ratio = view_s / obs_s if obs_s else float("nan")
            ok = "yes" if ratio <= BUDGET else "**no**"
            lines.append(
                f"| `{call}` | {len(calls)} | {view_s:.3f} | {obs_s:.3f} | {ratio:.2f} | {ok} |"
            )
    text = "\n".join(lines)
    print(text)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(text + "\n")


if __name__ == "__main__":
    main()
