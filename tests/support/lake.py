"""Shared by the spark and integration tests: launch records to write as raw files, runs of the pipeline
in the test's Spark session, and reading back what a run left in the lake and the warehouse."""

from __future__ import annotations

import json
import re
from pathlib import Path

from spacex_launches import contract
from spacex_launches.common.settings import Settings
from spacex_launches.contract import ID_PATTERN
from spacex_launches.job.pipeline import RunOptions, run_pipeline
from spacex_launches.job.run_report import RunReport
from spacex_launches.warehouse import loader_for, read_sql
from spacex_launches.warehouse.duckdb import DuckDBLoader
from support.spark import lake_catalog


def hid(name: str) -> str:
    """An id in the contract's form (24 lowercase hex characters) that still reads as `name`."""
    return name.encode().hex().rjust(24, "0")[-24:]


def query(warehouse: Path, sql: str) -> list[tuple]:
    return DuckDBLoader(str(warehouse)).query(sql)[1]


def answers(warehouse: Path) -> tuple[list[tuple], list[tuple]]:
    return (
        query(warehouse, read_sql("max_core_reuse.sql")),
        query(warehouse, read_sql("cores_reused_within_50_days.sql")),
    )


def table_dump(warehouse: Path) -> dict[str, list[tuple]]:
    return {
        table: query(warehouse, f"SELECT * FROM spacex.{table} ORDER BY ALL")
        for table in ("launches", "launch_cores")
    }


def read_report(lake: Path) -> dict:
    reports = sorted((lake / "_reports").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(reports[-1].read_text())


def validated_files(lake: Path) -> dict[str, float]:
    root = lake / "validated"
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*") if p.is_file()}


def run_in_process(spark, inputs, lake: Path, warehouse: Path | str | None, run_id: str, **options) -> dict:
    """One run of the pipeline in the test's session; `warehouse`: a DuckDB file, a postgresql:// URL
    or None (no warehouse load). Returns the run's report as the JSON document it writes."""
    report = RunReport.start(run_id, "local", [str(i) for i in inputs], str(lake))
    run = RunOptions(
        inputs=[str(i) for i in inputs],
        lake=str(lake),
        run_id=run_id,
        catalog=lake_catalog(spark, lake),
        **options,
    )
    loader = loader_for(str(warehouse), Settings()) if warehouse is not None else None
    return run_pipeline(spark, run, loader, report).as_dict()


def lake_table(spark, lake: Path, table: str):
    return spark.table(lake_catalog(spark, lake).table(table))


def write_json(path: Path, launches: list[dict] | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(launches if isinstance(launches, str) else json.dumps(launches))
    return path


def launch(launch_id: str | None, date_utc: str, cores: list, **fields) -> dict:
    """A launch record; a readable test name for its id (`"FH1"`) becomes a contract id (`hid`)."""
    return {
        "id": launch_id if launch_id is None or re.fullmatch(ID_PATTERN, launch_id) else hid(launch_id),
        "flight_number": 1,
        "name": launch_id,
        "date_utc": date_utc,
        "date_precision": "hour",
        "upcoming": False,
        "success": True,
        "cores": cores,
        **fields,
    }


def core(core_id: str | None, flight: int | None = 1) -> dict:
    """A core slot; a readable test name for its id (`"B1"`) becomes a contract id (`hid`)."""
    if core_id is not None and not re.fullmatch(ID_PATTERN, core_id):
        core_id = hid(core_id)
    return {"core": core_id, "flight": flight, "reused": bool(flight and flight > 1)}


def lake_rows(spark, lake: Path, table: str) -> set[tuple]:
    """A lake table's rows in the warehouse contract's columns (plus launch_cores' snapshot time),
    without the run that wrote them: comparable across lakes and runs."""
    columns = contract.column_names(table)
    if table == "launch_cores":
        columns.append("ingested_at")
    return {tuple(row) for row in lake_table(spark, lake, table).select(*columns).collect()}


def warehouse_rows(warehouse: Path, table: str) -> set[tuple]:
    columns = ", ".join(contract.column_names(table))
    return set(query(warehouse, f"SELECT {columns} FROM spacex.{table}"))


def assert_warehouse_mirrors_lake(spark, lake: Path, warehouse: Path) -> None:
    for table in contract.TABLES:
        in_lake = {row[: len(contract.TABLES[table])] for row in lake_rows(spark, lake, table)}
        assert warehouse_rows(warehouse, table) == in_lake, f"warehouse {table} differs from the lake"


def raw_file(folder: Path, fetched: str, launches: list[dict]) -> Path:
    """A raw-zone file fetched at `fetched` (YYYYMMDDTHHMMSS): its name carries the snapshot time."""
    return write_json(
        folder
        / f"ingest_date={fetched[:4]}-{fetched[4:6]}-{fetched[6:8]}"
        / f"{fetched}Z-{fetched[-6:]}0000000000.json",
        launches,
    )
