"""Write ``schemas/tables/{dataset}.json`` from the catalogue (``python -m
app.ingest.tableschemas``, against a seeded database)."""

from __future__ import annotations

from app.api.tableschema import render
from app.catalogue.repository import all_datasets, datasets_query
from app.config import PROJECT_ROOT, get_settings
from app.db.session import make_engine, make_session_factory
from app.ingest.submissions import dataset_table_schema

TABLES_DIR = PROJECT_ROOT / "schemas" / "tables"


def main() -> None:
    engine = make_engine(get_settings().database_url)
    TABLES_DIR.mkdir(parents=True, exist_ok=True)
    with make_session_factory(engine)() as session:
        for dataset in all_datasets(session, datasets_query()):
            path = TABLES_DIR / f"{dataset.id}.json"
            path.write_text(render(dataset_table_schema(session, dataset.id)), encoding="utf-8")
            print(path)
    engine.dispose()


if __name__ == "__main__":
    main()
