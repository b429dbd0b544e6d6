"""Warehouse checks after a load (sql/checks/*.sql): row counts not falling, keys unique, data fresh.

The SQL is plain and the same on DuckDB, PostgreSQL and Redshift; comparisons with the previous run
and with the clock are made here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from spacex_launches.exceptions import WarehouseCheckFailed
from spacex_launches.warehouse import read_sql

Query = Callable[[str], tuple[list[str], list[tuple]]]
CLOCK_SKEW = timedelta(minutes=5)  # as discovery.CLOCK_SKEW (that module needs Spark's file system)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def run_checks(
    query: Query,
    previous_counts: dict[str, int] | None,
    max_age: timedelta,
    now: datetime | None = None,
) -> dict[str, int]:
    """Run every check; returns the current row counts (the next run's `previous_counts`).
    Raises WarehouseCheckFailed naming each failing check."""
    now = now or datetime.now(UTC)
    failures = []

    _, rows = query(read_sql("checks/row_counts.sql"))
    counts = {table: int(count) for table, count in rows}
    for table, count in counts.items():
        before = (previous_counts or {}).get(table)
        if before is not None and count < before:
            failures.append(f"row_counts: spacex.{table} fell from {before} to {count} rows")

    _, rows = query(read_sql("checks/unique_keys.sql"))
    for table, key, copies in rows:
        failures.append(f"unique_keys: spacex.{table} key {key} appears {copies} times")

    _, rows = query(read_sql("checks/freshness.sql"))
    for table, newest, row_count in rows:
        if not row_count or newest is None:
            failures.append(f"freshness: spacex.{table} is empty")
        elif _as_utc(newest) > now + CLOCK_SKEW:
            failures.append(
                f"freshness: newest spacex.{table} snapshot time {newest} UTC is in the future (now {now:%Y-%m-%d %H:%M} "
                'UTC): a raw file\'s fetch time was wrong; see docs/lake.md "Precedence"'
            )
        elif now - _as_utc(newest) > max_age:
            failures.append(
                f"freshness: newest spacex.{table}.ingested_at is {newest} UTC, older than {max_age}"
            )

    if failures:
        raise WarehouseCheckFailed("warehouse checks failed:\n  " + "\n  ".join(failures))
    return counts
