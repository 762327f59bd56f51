"""Bulk inserts: COPY on PostgreSQL, the driver's executemany on SQLite."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

CHUNK = 10_000


def bulk_insert(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) inside the session's transaction.
    No rows, no statement: an empty ``COPY`` still fires the table's statement triggers (the
    geography's change counter, migration 0014)."""
    remaining = iter(rows)
    first = next(remaining, None)
    if first is None:
        return 0
    rows = chain([first], remaining)
    connection = session.connection()
    count = 0
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        assert raw is not None
        names = ", ".join(f'"{c}"' for c in columns)
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    if connection.dialect.name == "sqlite":
        # The driver's own executemany: SQLAlchemy's per-row parameter handling would cost
        # more than the insert itself.
        raw = connection.connection.driver_connection
        assert raw is not None
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
        chunk: list[Sequence[Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                raw.executemany(sql, chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            raw.executemany(sql, chunk)
            count += len(chunk)
        return count
    statement = insert(table)
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) >= CHUNK:
            connection.execute(statement, batch)
            count += len(batch)
            batch = []
    if batch:
        connection.execute(statement, batch)
        count += len(batch)
    return count
