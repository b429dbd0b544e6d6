"""The Spark job into a real PostgreSQL (Debian's server, started by conftest on a free 127.0.0.1 port):
through spark-submit with the JDBC driver from --packages and credentials from a Secrets Manager secret
(moto); in the test's Spark session, the same counts, tables and answers as DuckDB loaded from the same
lake, idempotent re-runs, corrected snapshots, a failure injected in the load transaction and healed by
the next run."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
import psycopg
import pytest

from spacex_launches.common.settings import Settings, sql_dir
from spacex_launches.exceptions import WarehouseError
from spacex_launches.job.errors import describe
from spacex_launches.lake.tables import Lakehouse
from spacex_launches.warehouse import read_sql, spark_packages
from spacex_launches.warehouse.duckdb import DuckDBLoader
from spacex_launches.warehouse.postgres import PostgresLoader
from support.jobs import spark_submit
from support.lake import run_in_process
from support.paths import SAMPLE_DIR
from support.spark import lake_catalog

pytestmark = pytest.mark.integration

PACKAGES = spark_packages("postgres")
ANALYTICS = sorted(
    path.name for path in sql_dir().glob("*.sql") if path.name not in {"create_tables.sql", "load_table.sql"}
)
KEYS = {"launches": "launch_id", "launch_cores": "launch_id, core_position"}
KNOWN_TIME = datetime(2025, 6, 27, tzinfo=UTC)  # the snapshot file's date, as --snapshot-time


def run_job(inputs, lake: Path, warehouse: str, *options: str, env: dict[str, str] | None = None):
    return spark_submit(
        "--input",
        *map(str, inputs),
        "--lake",
        str(lake),
        "--warehouse",
        warehouse,
        *options,
        env=env,
        packages=PACKAGES,
    )


def pg_query(url: str, sql: str) -> list[tuple]:
    return PostgresLoader.from_spec(url, Settings()).query(sql)[1]


def dump(query, url_or_path) -> dict[str, list[tuple]]:
    return {
        table: query(url_or_path, f"SELECT * FROM spacex.{table} ORDER BY {key}")
        for table, key in KEYS.items()
    }


def duckdb_query(path: str, sql: str) -> list[tuple]:
    return DuckDBLoader(path).query(sql)[1]


def duckdb_from_lake(spark, lake: Path, tmp_path: Path) -> str:
    """The lake's committed tables loaded into a new DuckDB file: the reference to compare against."""
    path = str(tmp_path / f"reference-{uuid.uuid4().hex[:6]}.duckdb")
    lakehouse = Lakehouse(spark, lake_catalog(spark, lake))
    snapshots = {table: lakehouse.snapshot(table) for table in KEYS}
    DuckDBLoader(path).sync(lakehouse, snapshots, "reference")
    return path


def assert_ok(result) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]


def assert_same_as_duckdb(spark, url: str, lake: Path, tmp_path: Path) -> None:
    reference = duckdb_from_lake(spark, lake, tmp_path)
    assert dump(pg_query, url) == dump(duckdb_query, reference)
    for name in ANALYTICS:
        assert pg_query(url, read_sql(name)) == duckdb_query(reference, read_sql(name)), name


def test_real_snapshot_matches_duckdb_and_reruns_change_nothing(spark, snapshot_file, database, tmp_path):
    """In this test's Spark session: spark-submit into PostgreSQL is the secrets test's path below."""
    lake = tmp_path / "lake"
    tables = run_in_process(spark, [snapshot_file], lake, database, "first")["warehouse"]["tables"]
    assert {table: (stats["before"], stats["after"], stats["loaded"]) for table, stats in tables.items()} == {
        "launches": (0, 205, True),
        "launch_cores": (0, 215, True),
        "cores": (0, 0, True),  # the real snapshot ships no /cores file: an empty table, still loaded
        "launch_sightings": (0, 205, True),
    }
    assert pg_query(database, read_sql("max_core_reuse.sql")) == [("5e9e28a7f3591817f23b2663", None, 13, 14)]
    within_50_days = pg_query(database, read_sql("cores_reused_within_50_days.sql"))
    assert (len(within_50_days), len({row[0] for row in within_50_days})) == (25, 9)
    assert_same_as_duckdb(spark, database, lake, tmp_path)

    first = dump(pg_query, database)
    rerun = run_in_process(spark, [snapshot_file], lake, database, "rerun-1", snapshot_time=KNOWN_TIME)[
        "warehouse"
    ]
    # a known snapshot time beats the first run's unknown one, with the same values: a confirmation that
    # moves launch_sightings and rewrites nothing else
    assert {table: (stats["after"], stats["loaded"]) for table, stats in rerun["tables"].items()} == {
        "launches": (205, False),
        "launch_cores": (215, False),
        "cores": (0, False),
        "launch_sightings": (205, True),
    }
    moved_on = dump(pg_query, database)
    assert moved_on == first
    seen = pg_query(database, "SELECT DISTINCT last_seen_at FROM spacex.launch_sightings")
    assert seen == [(KNOWN_TIME.replace(tzinfo=None),)]
    again = run_in_process(spark, [snapshot_file], lake, database, "rerun-2", snapshot_time=KNOWN_TIME)
    assert again["warehouse"]["up_to_date_before"] is True  # the same snapshot: nothing to load
    assert dump(pg_query, database) == moved_on


def corrected_l005(path: Path) -> Path:
    """A later snapshot of the Falcon Heavy demo: slot 1 flown by another booster, slot 2 gone."""
    launches = json.loads((SAMPLE_DIR / "20240101T060000Z-api-v5.json").read_text())
    launch = next(item for item in launches if item["id"] == "5a3b1e00000000000000d005")
    launch["cores"] = [launch["cores"][0], {**launch["cores"][1], "core": "5a3b1e0000000000000c0f06"}]
    path.write_text(json.dumps([launch]))
    return path


def test_sample_corrected_snapshot_and_a_failed_load(spark, database, tmp_path):
    """In this test's Spark session (the spark-submit path into PostgreSQL: the other tests here)."""
    lake = tmp_path / "lake"
    tables = run_in_process(spark, [SAMPLE_DIR], lake, database, "first")["warehouse"]["tables"]
    assert (tables["launches"]["after"], tables["launch_cores"]["after"]) == (14, 18)
    assert pg_query(database, read_sql("max_core_reuse.sql")) == [("5a3b1e0000000000000c0a01", None, 4, 5)]
    within_50_days = pg_query(database, read_sql("cores_reused_within_50_days.sql"))
    assert (len(within_50_days), len({row[0] for row in within_50_days})) == (4, 3)
    assert_same_as_duckdb(spark, database, lake, tmp_path)
    loaded = dump(pg_query, database)

    # The correction's raw-zone name carries the latest fetch time: it wins.
    inputs = [shutil.copytree(SAMPLE_DIR, tmp_path / "input")]
    corrected_l005(inputs[0] / "20240103T060000Z-corrected.json")
    # A failure between staging and load, for real: the database refuses the load's core inserts
    # after the launches were already replaced in the same transaction.
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute(
            "CREATE FUNCTION spacex.refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
        )
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON spacex.launch_cores FOR EACH ROW EXECUTE FUNCTION spacex.refuse()"
        )
    with pytest.raises(WarehouseError, match="injected failure") as failure:
        run_in_process(spark, inputs, lake, database, "failed")
    assert describe(failure.value, str(lake)).exit_code == 3  # what the job exits with
    assert dump(pg_query, database) == loaded
    leftovers = pg_query(
        database, "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%staging%'"
    )
    assert leftovers == []  # the run's staging tables went with it

    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute("DROP TRIGGER refuse ON spacex.launch_cores")
    # the next run has nothing new for the lake, and loads what the failed one committed
    healed = run_in_process(spark, inputs, lake, database, "healed")
    assert healed["lake"]["launches"]["committed"] is False
    slots = pg_query(
        database,
        "SELECT core_position, core_id FROM spacex.launch_cores "
        "WHERE launch_id = '5a3b1e00000000000000d005' ORDER BY core_position",
    )
    assert slots == [(0, "5a3b1e0000000000000c0b02"), (1, "5a3b1e0000000000000c0f06")]
    assert healed["warehouse"]["tables"]["launch_cores"]["after"] == 17
    assert_same_as_duckdb(spark, database, lake, tmp_path)

    corrected = dump(pg_query, database)
    run_in_process(spark, inputs, lake, database, "again")
    assert dump(pg_query, database) == corrected


def test_credentials_from_a_secrets_manager_secret_never_leak(aws_env, database, tmp_path):
    host_port, name = database.removeprefix("postgresql://postgres@").split("/")
    host, port = host_port.split(":")
    password = f"pw-{uuid.uuid4().hex}"  # trust auth accepts it; it must still appear nowhere
    secret_id = f"spacex/test/{uuid.uuid4().hex[:6]}"
    boto3.client("secretsmanager").create_secret(
        Name=secret_id,
        SecretString=json.dumps(
            {"host": host, "port": int(port), "dbname": name, "username": "postgres", "password": password}
        ),
    )
    lake = tmp_path / "lake"
    result = run_job([SAMPLE_DIR], lake, "postgres", env={"POSTGRES_SECRET_ID": secret_id})
    assert_ok(result)
    report_text = next((lake / "_reports").glob("*.json")).read_text()
    assert json.loads(report_text)["warehouse"]["tables"]["launches"]["after"] == 14
    for text in (result.stdout, result.stderr, report_text):
        assert password not in text
    loader = PostgresLoader.from_spec(
        "postgres", Settings.from_mapping({"postgres": {"secret_id": secret_id}})
    )
    assert password not in loader.describe() and password not in repr(loader.credentials)
    assert loader.query("SELECT COUNT(*) FROM spacex.launch_cores")[1] == [(18,)]
