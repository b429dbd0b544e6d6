"""sql/checks/ on a real DuckDB warehouse (tables without enforced keys, as on Redshift)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from spacex_launches.exceptions import WarehouseCheckFailed
from spacex_launches.warehouse.checks import run_checks

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DAY = timedelta(hours=36)


@pytest.fixture
def warehouse(tmp_path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    connection.execute("CREATE SCHEMA spacex")
    connection.execute("CREATE TABLE spacex.launches (launch_id VARCHAR, ingested_at TIMESTAMP)")
    connection.execute("CREATE TABLE spacex.launch_cores (launch_id VARCHAR, core_position INTEGER)")
    connection.execute(
        "INSERT INTO spacex.launches VALUES ('a', '2026-11-23 06:00:00'), ('b', '2026-11-22 06:00:00')"
    )
    connection.execute("INSERT INTO spacex.launch_cores VALUES ('a', 0), ('a', 1), ('b', 0)")
    connection.execute("CREATE TABLE spacex.launch_sightings (launch_id VARCHAR, last_seen_at TIMESTAMP)")

    def query(sql):
        result = connection.execute(sql)
        return [column[0] for column in result.description], result.fetchall()

    query.connection = connection
    yield query
    connection.close()


def test_checks_pass_and_return_the_counts(warehouse):
    assert run_checks(warehouse, {"launches": 2, "launch_cores": 3}, DAY, NOW) == {
        "launches": 2,
        "launch_cores": 3,
    }
    assert run_checks(warehouse, None, DAY, NOW) == {"launches": 2, "launch_cores": 3}


def test_falling_row_count_fails(warehouse):
    with pytest.raises(WarehouseCheckFailed, match=r"row_counts: spacex.launch_cores fell from 5 to 3 rows"):
        run_checks(warehouse, {"launches": 2, "launch_cores": 5}, DAY, NOW)


def test_duplicate_keys_fail(warehouse):
    warehouse.connection.execute("INSERT INTO spacex.launch_cores VALUES ('a', 1)")
    warehouse.connection.execute("INSERT INTO spacex.launches VALUES ('b', '2026-11-23 06:00:00')")
    with pytest.raises(WarehouseCheckFailed) as error:
        run_checks(warehouse, None, DAY, NOW)
    assert "unique_keys: spacex.launch_cores key a/1 appears 2 times" in str(error.value)
    assert "unique_keys: spacex.launches key b appears 2 times" in str(error.value)


def test_stale_or_empty_data_fails(warehouse):
    with pytest.raises(WarehouseCheckFailed, match=r"freshness: newest spacex\.launches\.ingested_at"):
        run_checks(warehouse, None, DAY, NOW + timedelta(days=2))
    warehouse.connection.execute("DELETE FROM spacex.launches")
    with pytest.raises(WarehouseCheckFailed, match=r"freshness: spacex\.launches is empty"):
        run_checks(warehouse, None, DAY, NOW)


def test_freshness_follows_the_last_sighting_of_unchanged_data(warehouse):
    """A daily refetch of unchanged data moves launch_sightings, not launches.ingested_at."""
    later = NOW + timedelta(days=2)
    warehouse.connection.execute(
        f"INSERT INTO spacex.launch_sightings VALUES ('a', '{later:%Y-%m-%d %H:%M:%S}')"
    )
    assert run_checks(warehouse, None, DAY, later)["launches"] == 2
    with pytest.raises(WarehouseCheckFailed, match=r"freshness: newest spacex\.launches\.ingested_at"):
        run_checks(warehouse, None, DAY, later + timedelta(days=2))


def test_a_snapshot_time_in_the_future_fails(warehouse):
    warehouse.connection.execute("INSERT INTO spacex.launch_sightings VALUES ('a', '2099-12-31 00:00:00')")
    with pytest.raises(WarehouseCheckFailed, match=r"freshness: .* 2099-12-31 00:00:00 UTC is in the future"):
        run_checks(warehouse, None, DAY, NOW)
