"""HTML pages benchmark (issue 11): each page's server time against the JSON calls that feed
it, measured in the same run on the same server. The JSON calls are the API links the page
itself lists in its footer ("Dit als data"), so the reference is exactly what the page shows.
Budget: a page ≤ 2× the sum of its JSON calls. Also the bytes an indicator page transfers
(gzip-compressed, with its stylesheet, scripts and geometry).

Needs a seeded database: ``DATAPEDIA_DATABASE_URL`` (default: the settings' database, as
``make run`` leaves it). Run: ``python -m benchmarks.pages_bench``; figures are appended to
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import gzip
import statistics
import time
from datetime import UTC, datetime
from html.parser import HTMLParser

import httpx

from app.config import PROJECT_ROOT, get_settings
from benchmarks.common import served

RESULTS = PROJECT_ROOT / "benchmarks" / "RESULTS.md"
BUDGET = 2.0
REPEAT = 5
PAGES = [
    "/",
    "/search?q=gent",
    "/doc/dataset/population-2025",
    "/doc/indicator/population-density",
    "/doc/indicator/population-density?in=44021",
    "/doc/municipality/44021",
]
HTML = {"Accept": "text/html"}


class Links(HTMLParser):
    """The API links of a page's footer, and its scripts, stylesheets and map geometry."""

    def __init__(self) -> None:
        super().__init__()
        self.in_footer = False
        self.api: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "footer":
            self.in_footer = True
        href = values.get("href") or ""
        if self.in_footer and tag == "a" and href.startswith("/api/v1/"):
            self.api.append(href.replace("&amp;", "&"))
        if tag == "script" and values.get("src"):
            self.assets.append(values["src"] or "")
        if tag == "link" and values.get("rel") == "stylesheet":
            self.assets.append(href)
        if values.get("data-geometry"):
            self.assets.append(values["data-geometry"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "footer":
            self.in_footer = False


def median_seconds(client: httpx.Client, url: str, headers: dict[str, str]) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples)


def main() -> None:
    url = get_settings().database_url
    lines = [
        f"\n## HTML pages — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
        "Median of 5 requests through HTTP on one server: each page against the sum of the "
        "JSON calls it lists as its data (the reference, same run). Budget: page ≤ 2× JSON.\n",
        "| page | JSON calls | page s | JSON s | page / JSON | within budget |",
        "|---|---:|---:|---:|---:|---|",
    ]
    with served(url) as (client, _):
        for page in PAGES:
            body = client.get(page, headers=HTML).text
            links = Links()
            links.feed(body)
            api = list(dict.fromkeys(links.api))
            html_s = median_seconds(client, page, HTML)
            json_s = sum(median_seconds(client, call, {}) for call in api)
            ratio = html_s / json_s if json_s else float("nan")
            ok = "yes" if ratio <= BUDGET else "**no**"
            lines.append(
                f"| `{page}` | {len(api)} | {html_s:.3f} | {json_s:.3f} | {ratio:.2f} | {ok} |"
            )
        page = "/doc/indicator/population-density"
        body = client.get(page, headers=HTML).text
        links = Links()
        links.feed(body)
        total = len(gzip.compress(body.encode()))
        for asset in dict.fromkeys(links.assets):
            response = client.get(asset, headers={"Accept-Encoding": "gzip"})
            raw = response.content if response.status_code == 200 else b""
            total += len(gzip.compress(raw))
        lines.append(
            f"\nIndicator page `{page}` with its assets and geometry, gzip-compressed: "
            f"{total / 1e6:.2f} MB (budget 1.5 MB).\n"
        )
    text = "\n".join(lines)
    print(text)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(text + "\n")


if __name__ == "__main__":
    main()
