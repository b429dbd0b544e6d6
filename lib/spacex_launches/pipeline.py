"""One run of the launches job: raw JSON -> staged records -> Iceberg commits -> warehouse load.

The raw input is scanned once: records are parsed, checked and written to a staging Parquet in a single
pass whose counts come from `DataFrame.observe`; every later step reads that Parquet. Each lake table
then changes in one Iceberg commit (or not at all), by precedence of snapshot time (precedence.py), and
the warehouse is brought to the tables' committed snapshots. A crash at any point leaves every table
at its old or its new snapshot; re-running (same or new run id) finishes the work.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from spacex_launches import precedence, quality, schemas, transforms
from spacex_launches.discovery import InputFileError, find_input_files
from spacex_launches.hadoopfs import LakeFS
from spacex_launches.lakehouse import CatalogSettings, Lakehouse, MergeResult
from spacex_launches.layout import LakePaths
from spacex_launches.reader import read_raw_records
from spacex_launches.report import timed
from spacex_launches.warehouse import WarehouseLoader


@dataclass(frozen=True)
class RunOptions:
    inputs: list[str]
    lake: str
    run_id: str
    catalog: CatalogSettings
    default_api_version: str = "v5"
    ingest_date_from: date | None = None
    ingest_date_to: date | None = None
    snapshot_time: datetime | None = None  # for files whose name or manifest carries no fetch time


log = logging.getLogger("spacex_launches")
# A run's staging outlives it only when the run died; a retry with the same run id reuses it. Anything
# older than this is left by a run that nobody retried, and is removed by the next run.
STALE_STAGING_S = 24 * 3600

STAGED_RECORD_COLUMNS = [
    "source_file",
    "source_block",
    "source_row",
    "snapshot_time",
    "id",
    "flight_number",
    "name",
    "launch_ts",
    "date_precision",
    "upcoming",
    "success",
    "rocket",
    "launchpad",
    "details",
    "crew",
    "cores",
    "failed_rules",
]
LAUNCH_COLUMNS = [field.name for field in schemas.LAUNCHES.fields if field.name != "launch_id"]
SLOT_COLUMNS = [
    field.name for field in schemas.LAUNCH_CORES.fields if field.name not in ("launch_id", "core_position")
] + ["ingested_at"]


def _count_where(condition: Column) -> Column:
    return F.sum(condition.cast("long"))


def _intake_metrics() -> list:
    unreadable = F.col("file_problem").isNotNull()
    readable = ~unreadable
    disposition = F.col("disposition")
    return [
        _count_where(readable).alias("input_records"),
        _count_where(unreadable).alias("unreadable_files"),
        F.max(F.when(unreadable, F.concat_ws(": ", "source_file", "file_problem"))).alias(
            "unreadable_example"
        ),
        _count_where(readable & (disposition == transforms.QUARANTINED)).alias("quarantined"),
        _count_where(readable & (disposition == transforms.DUPLICATE)).alias("duplicates_collapsed"),
        _count_where(readable & (disposition == transforms.LATEST)).alias("latest"),
        # the core slots of the launches kept, and how many name no core (an unknown booster)
        F.sum(F.when(disposition == transforms.LATEST, F.size(F.coalesce("cores", F.array())))).alias(
            "slots"
        ),
        F.sum(
            F.when(
                disposition == transforms.LATEST,
                F.size(F.filter("cores", lambda core: core["core"].isNull())),
            )
        ).alias("unknown_core_slots"),
        *[
            _count_where(readable & F.array_contains("failed_rules", rule)).alias(f"rule:{rule}")
            for rule in quality.RULE_NAMES
        ],
    ]


def stage_records(spark: SparkSession, files, staged_path: str) -> dict[str, Any]:
    """The one scan of the raw input: parse, apply the rules, mark duplicates, write every record
    with its disposition to `staged_path` (replacing what a crashed attempt of the run left there).
    The raw text is kept only for quarantined records."""
    intake = Observation("intake")
    raw_if_failed = F.when(~quality.is_valid(), F.col("raw_record")).alias("raw_record")
    records = (
        read_raw_records(spark, files)
        .transform(transforms.parse_launch_records)
        .transform(quality.with_failed_rules)
        .select(*STAGED_RECORD_COLUMNS, raw_if_failed, "file_problem")
        .transform(transforms.with_disposition)
        .observe(intake, *_intake_metrics())
        .filter(F.col("file_problem").isNull())
        .drop("file_problem")
    )
    records.write.mode("overwrite").parquet(staged_path)
    return {key: value if key == "unreadable_example" else (value or 0) for key, value in intake.get.items()}


def commit_records(
    lake: Lakehouse, staged: DataFrame, intake: dict[str, Any], options: RunOptions
) -> dict[str, Any]:
    """Commit the run's records: its quarantine, then launches, then launch_cores, each table in one
    Iceberg commit (skipped when nothing changes). Returns per table what happened."""
    outcome: dict[str, Any] = {}
    if intake["quarantined"]:
        quarantined = staged.filter(F.col("disposition") == transforms.QUARANTINED)
        snapshot, rows = lake.replace_quarantine(
            quarantined.transform(transforms.to_quarantine), options.run_id
        )
        outcome["quarantine"] = {"rows": rows, **snapshot.as_dict(), "committed": True}
    if not intake["latest"]:
        return outcome

    latest = staged.filter(F.col("disposition") == transforms.LATEST)
    launches = transforms.to_launches(latest, options.default_api_version)
    slots = transforms.to_launch_cores(latest)
    merged = lake.merge(
        "launches",
        launches,
        lambda current: precedence.launch_changes(launches, current, LAUNCH_COLUMNS),
        options.run_id,
    )
    outcome["launches"] = _merge_outcome(merged, first_load={precedence.INSERT: merged.rows_added})
    merged = lake.merge(
        "launch_cores",
        slots,
        lambda current: precedence.slot_set_changes(
            slots, launches, current, lake.read("launches"), SLOT_COLUMNS
        ),
        options.run_id,
    )
    outcome["launch_cores"] = _merge_outcome(merged, first_load={precedence.INSERT: intake["latest"]})
    if merged.launches is None and merged.rows_added != intake["slots"]:  # a bug, not bad input
        raise RuntimeError(f"launch_cores: {merged.rows_added} rows written for {intake['slots']} core slots")
    return outcome


def _merge_outcome(merged: MergeResult, first_load: dict[str, int]) -> dict[str, Any]:
    """What the report says of a merge; `first_load`: the launch counts of a first load, which
    writes without comparing (for launches the rows its commit added: one per launch)."""
    return {
        **merged.snapshot.as_dict(),
        "committed": merged.committed,
        "launches": {**dict.fromkeys(precedence.CHANGES, 0), **(merged.launches or first_load)},
        "rows_added": merged.rows_added,
        "rows_removed": merged.rows_removed,
        "attempts": merged.attempts,
    }


def run_pipeline(
    spark: SparkSession, options: RunOptions, loader: WarehouseLoader | None, report: dict[str, Any]
) -> dict[str, Any]:
    """Run once, filling `report` as it goes. Raises InputFileError / LakeError / CommitConflict /
    WarehouseError."""
    lakefs = LakeFS(spark)
    paths = LakePaths.at(options.lake)
    staging = paths.staging(options.run_id)
    lake = Lakehouse(spark, options.catalog)
    remove_stale_staging(lakefs, paths)
    try:
        with timed(report, "discover_inputs"):
            discovery = find_input_files(
                lakefs,
                options.inputs,
                options.ingest_date_from,
                options.ingest_date_to,
                options.snapshot_time,
            )
        files = discovery.files
        report["inputs"]["skipped"] = discovery.skipped
        report["inputs"]["files"] = [
            {
                "path": f.path,
                "format": f.format,
                "bytes": f.size,
                "compressed": f.compressed,
                "snapshot_time": f.snapshot_time.isoformat() if f.snapshot_time else None,
                "snapshot_time_from": f.snapshot_time_from,
            }
            for f in files
        ]

        with timed(report, "read_parse_validate"):
            intake = stage_records(spark, files, f"{staging}/records")
        if intake["unreadable_files"]:
            raise InputFileError(
                unquote(intake["unreadable_example"])
                + (
                    f"; {intake['unreadable_files'] - 1} more such file(s)"
                    if intake["unreadable_files"] > 1
                    else ""
                )
            )
        report["rule_failures"] = {rule: intake[f"rule:{rule}"] for rule in quality.RULE_NAMES}

        with timed(report, "commit"):
            lake.ensure_tables()
            if intake["input_records"]:
                staged = spark.read.parquet(f"{staging}/records")
                report["lake"] = commit_records(lake, staged, intake, options)
            else:
                report["lake"] = {}
                report["message"] = "the input holds no launch records: the lake is unchanged"
        report["counts"] = _counts(intake, report["lake"])
        _check_conservation(report)
        if intake["input_records"] and not intake["latest"]:
            report["message"] = (
                f"every one of the {intake['input_records']} input records failed the quality rules: they "
                f"are in the quarantine (run_id {options.run_id}); launches and warehouse are unchanged"
            )

        snapshots = {table: lake.snapshot(table) for table in ("launches", "launch_cores")}
        report["lake_snapshots"] = {table: snapshot.as_dict() for table, snapshot in snapshots.items()}
        if loader is not None:
            report["warehouse"] = {"target": loader.target, "location": loader.describe()}
            with timed(report, "warehouse_load"):
                report["warehouse"].update(loader.sync(spark, lake, snapshots, options.run_id))
        report["status"] = "succeeded" if intake["input_records"] else "no_op"
        return report
    finally:
        lakefs.delete(staging)


def remove_stale_staging(lakefs: LakeFS, paths: LakePaths) -> None:
    """Delete the staging of runs that died over STALE_STAGING_S ago (never a live run's)."""
    cutoff = time.time() - STALE_STAGING_S
    for uri, modified in lakefs.children(paths.staging("")):
        if modified < cutoff:
            log.info("removing the staging of a run that died: %s", uri)
            lakefs.delete(uri)


def _counts(intake: dict[str, Any], lake: dict[str, Any]) -> dict[str, int]:
    return {
        "input_records": intake["input_records"],
        "launches": sum(lake.get("launches", {}).get("launches", {}).values()),
        "duplicates_collapsed": intake["duplicates_collapsed"],
        "quarantined": lake.get("quarantine", {}).get("rows", 0),
        "launch_cores": intake["slots"],
        "unknown_core_slots": intake["unknown_core_slots"],
    }


def _check_conservation(report: dict[str, Any]) -> None:
    """Every input record is a launch the merge decided on, a collapsed duplicate or a quarantined
    row read back from the committed table: counted apart from the intake's own counts."""
    counts = report["counts"]
    accounted = counts["launches"] + counts["duplicates_collapsed"] + counts["quarantined"]
    report["conservation"] = {
        "rule": "input_records = launches + duplicates_collapsed + quarantined",
        "holds": accounted == counts["input_records"],
    }
    if not report["conservation"]["holds"]:  # a bug, not bad input: every commit is still whole
        raise RuntimeError(
            f"record conservation failed: {counts['input_records']} in, {accounted} accounted for "
            f"({counts['launches']} launches decided, {counts['duplicates_collapsed']} duplicates, "
            f"{counts['quarantined']} quarantined rows committed)"
        )
