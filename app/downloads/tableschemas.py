"""Write ``schemas/downloads/{dataset}.json``, the Table Schemas of the CSV downloads, from the
catalogue (``python -m app.downloads.tableschemas``, against a seeded database)."""

from __future__ import annotations

from app.api.tableschema import render
from app.catalogue.repository import all_datasets, datasets_query
from app.config import PROJECT_ROOT, get_settings
from app.db.session import make_engine, make_session_factory
from app.downloads.service import download_schema

DOWNLOADS_DIR = PROJECT_ROOT / "schemas" / "downloads"


def main() -> None:
    engine = make_engine(get_settings().database_url)
    DOWNLOADS_DIR.mkdir(parents=True, exist_ok=True)
    with make_session_factory(engine)() as session:
        for dataset in all_datasets(session, datasets_query()):
            path = DOWNLOADS_DIR / f"{dataset.id}.json"
            path.write_text(render(download_schema(session, dataset)), encoding="utf-8")
            print(path)
    engine.dispose()


if __name__ == "__main__":
    main()
