"""One run of the job: raw JSON -> staged records -> Iceberg commits -> warehouse load.

Two datasets go through it the same way: the API's `/launches` (required) and `/cores` (booster
serials, when given). Each input is scanned once: records are parsed, checked and written to a staging
Parquet in a single pass whose counts come from `DataFrame.observe`; every later step reads that
Parquet. Each lake table then changes in one Iceberg commit (or not at all), by precedence of snapshot
time (precedence.py), and the warehouse is brought to the tables' committed snapshots. A crash at any
point leaves every table at its old or its new snapshot; re-running (same or new run id) finishes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from spacex_launches import contract
from spacex_launches.common.paths import LakePaths
from spacex_launches.exceptions import InputFileError, NoInputFiles
from spacex_launches.job import cores, quality, transforms
from spacex_launches.job.discovery import InputFile, find_input_files
from spacex_launches.job.outcomes import (
    Conservation,
    CoreCounts,
    CoresOutcome,
    CoresSkipped,
    InputFileEntry,
    Intake,
    KeyChanges,
    LakeOutcome,
    LaunchCounts,
    MergeOutcome,
    NotListed,
    QuarantineOutcome,
    WarehouseOutcome,
    rule_metric,
    warning_metric,
)
from spacex_launches.job.reader import read_raw_records
from spacex_launches.job.run_report import RunReport, timed
from spacex_launches.lake import precedence
from spacex_launches.lake.catalog import CatalogSettings
from spacex_launches.lake.hadoopfs import LakeFS
from spacex_launches.lake.tables import Lakehouse, MergeResult
from spacex_launches.warehouse import WarehouseLoader

log = logging.getLogger("spacex_launches")
# A run's staging outlives it only when the run died; a retry with the same run id reuses it. Anything
# older than this is left by a run that nobody retried, and is removed by the next run.
STALE_STAGING_S = 24 * 3600


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
    cores_inputs: list[str] = field(default_factory=list)  # the API's /cores; none: the table stays
    cores_optional: bool = False  # cores_inputs holding no files is no error (the configured default)


def _count_where(condition: Column) -> Column:
    return F.sum(condition.cast("long"))


def _slot_metrics() -> list[Column]:
    """The core slots of the launches kept, and how many name no core (an unknown booster)."""
    latest = F.col("disposition") == transforms.LATEST
    return [
        F.sum(F.when(latest, F.size(F.coalesce("cores", F.array())))).alias("slots"),
        F.sum(F.when(latest, F.size(F.filter("cores", lambda core: core["core"].isNull())))).alias(
            "unknown_core_slots"
        ),
    ]


@dataclass(frozen=True)
class Dataset:
    """How one of the API's datasets is parsed, checked and staged."""

    name: str
    parse: Callable[[DataFrame], DataFrame]
    check: Callable[[DataFrame], DataFrame]
    rule_names: tuple[str, ...]
    fields: list[str]  # the parsed fields staged beside the record's origin
    metrics: Callable[[], list[Column]] = list


LAUNCH_DATA = Dataset(
    "launches",
    transforms.parse_launch_records,
    quality.with_failed_rules,
    quality.RULE_NAMES,
    [
        "id",
        "flight_number",
        "name",
        "launch_ts",
        "date_unix",
        "date_precision",
        "upcoming",
        "success",
        "rocket",
        "launchpad",
        "details",
        "crew",
        "cores",
        "record_hash",
    ],
    _slot_metrics,
)
CORE_DATA = Dataset(
    "cores",
    cores.parse_core_records,
    cores.with_core_failed_rules,
    cores.CORE_RULE_NAMES,
    ["id", "serial", "block", "status", *cores.COUNTS, "last_update", "record_hash"],
)
ORIGIN = ["source_file", "source_block", "source_row", "snapshot_time"]
WARNING_NAMES = {"launches": tuple(quality.WARNING_RULES), "cores": ()}
# The values whose difference makes an update: a later `ingested_at` alone is a confirmation, kept in
# launch_sightings without rewriting the tables (precedence.py).
LAUNCH_COLUMNS = [
    name for name in contract.column_names("launches") if name not in ("launch_id", "ingested_at")
]
SLOT_COLUMNS = [
    name for name in contract.column_names("launch_cores") if name not in ("launch_id", "core_position")
]
CORE_COLUMNS = [name for name in contract.column_names("cores") if name != "core_id"]


def _first_named(value: Column, limit: int = 20) -> Column:
    """Up to `limit` distinct non-null values, sorted, as one `; `-separated text (an observed metric
    reaches Python as a plain value; an array would arrive as a JVM object)."""
    return F.array_join(F.slice(F.sort_array(F.collect_set(value)), 1, limit), "; ")


def _intake_metrics(dataset: Dataset) -> list[Column]:
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
        _count_where(readable & F.col("same_time_conflict")).alias("same_time_conflicts"),
        _first_named(F.when(F.col("same_time_conflict"), F.col("id"))).alias("same_time_conflict_ids"),
        *dataset.metrics(),
        *[
            _count_where(readable & F.array_contains("failed_rules", rule)).alias(rule_metric(rule))
            for rule in dataset.rule_names
        ],
        *[
            _count_where(readable & F.array_contains("warned_rules", rule)).alias(warning_metric(rule))
            for rule in WARNING_NAMES[dataset.name]
        ],
        _first_named(
            F.when(F.size("warned_rules") > 0, F.concat_ws(": ", "id", F.array_join("warned_rules", ", ")))
        ).alias("warned_records"),
    ]


def stage_records(spark: SparkSession, files: list[InputFile], staged_path: str, dataset: Dataset) -> Intake:
    """The one scan of a dataset's raw input: parse, apply the rules, mark duplicates, write every
    record with its disposition to `staged_path` (replacing what a crashed attempt of the run left
    there). The raw text is kept only for quarantined records. Raises InputFileError for a file that
    cannot be read whole."""
    intake = Observation(dataset.name)
    raw_if_failed = F.when(~quality.is_valid(), F.col("raw_record")).alias("raw_record")
    records = (
        read_raw_records(spark, files)
        .transform(dataset.parse)
        .transform(dataset.check)
        .select(*ORIGIN, *dataset.fields, "failed_rules", "warned_rules", raw_if_failed, "file_problem")
        .transform(transforms.with_disposition)
        .observe(intake, *_intake_metrics(dataset))
        .filter(F.col("file_problem").isNull())
        .drop("file_problem")
    )
    records.write.mode("overwrite").parquet(staged_path)
    counts = Intake.from_observed(
        observed(intake, dataset.name), dataset.rule_names, WARNING_NAMES[dataset.name]
    )
    if counts.unreadable_files:
        more = counts.unreadable_files - 1
        raise InputFileError(
            unquote(counts.unreadable_example or "") + (f"; {more} more such file(s)" if more else "")
        )
    return counts


def observed(observation: Observation, what: str, timeout_s: float = 120) -> dict[str, Any]:
    """An observation's metrics. Spark sends them when the action ends, so the wait is bounded: a
    plan that never reports them (no task ran) is a clear error, not a hang."""
    metrics: dict[str, Any] = {}
    waiter = threading.Thread(target=lambda: metrics.update(observation.get), daemon=True)
    waiter.start()
    waiter.join(timeout_s)
    if waiter.is_alive():
        raise RuntimeError(f"Spark did not report the {what} counts within {timeout_s:.0f} s")
    return metrics


def _by_disposition(staged: DataFrame, disposition: str) -> DataFrame:
    return staged.filter(F.col("disposition") == disposition)


def commit_records(
    lake: Lakehouse, staged: dict[str, DataFrame], intake: dict[str, Intake], options: RunOptions
) -> LakeOutcome:
    """Commit the run's records: its quarantine, then launches, launch_cores and cores, each table in
    one Iceberg commit (skipped when nothing changes). Returns per table what happened."""
    outcome = LakeOutcome()
    quarantined = [
        _by_disposition(staged[name], transforms.QUARANTINED)
        .transform(transforms.to_quarantine)
        .withColumn("dataset", F.lit(name))
        for name in staged
        if intake[name].quarantined
    ]
    if quarantined:
        rows = quarantined[0]
        for more in quarantined[1:]:
            rows = rows.unionByName(more)
        snapshot, _ = lake.replace_quarantine(rows, options.run_id)
        per_dataset = (
            lake.read("quarantine", snapshot)
            .filter(F.col("run_id") == options.run_id)
            .groupBy("dataset")
            .count()
        )
        counted = {row["dataset"]: row["count"] for row in per_dataset.collect()}
        outcome.quarantine = QuarantineOutcome(sum(counted.values()), counted, snapshot)

    launches_in = intake["launches"]
    if launches_in.latest:
        latest = _by_disposition(staged["launches"], transforms.LATEST)
        launches = transforms.to_launches(latest, options.default_api_version)
        slots = transforms.to_launch_cores(latest)
        sightings = lake.read("launch_sightings")
        merged = lake.merge(
            "launches",
            launches,
            lambda current: precedence.row_changes(launches, current, LAUNCH_COLUMNS, sightings=sightings),
            options.run_id,
            incoming_rows=launches_in.latest,
        )
        outcome.launches = _merge_outcome(merged, first_load=merged.rows_added)
        merged = lake.merge(
            "launch_cores",
            slots,
            lambda current: precedence.slot_set_changes(
                slots, launches, current, lake.read("launches"), SLOT_COLUMNS, sightings
            ),
            options.run_id,
            incoming_rows=launches_in.slots,
        )
        outcome.launch_cores = _merge_outcome(merged, first_load=launches_in.latest)
        if merged.changes is None and merged.rows_added != launches_in.slots:  # a bug, not input
            raise RuntimeError(
                f"launch_cores: {merged.rows_added} rows written for {launches_in.slots} slots"
            )
        seen = launches.select(
            "launch_id", F.col("ingested_at").alias("last_seen_at"), "record_hash", "source_file"
        )
        merged = lake.merge(
            "launch_sightings",
            seen,
            lambda current: precedence.sighting_changes(seen, current),
            options.run_id,
            incoming_rows=launches_in.latest,
        )
        outcome.launch_sightings = _merge_outcome(merged, first_load=merged.rows_added)

    if "cores" in staged and intake["cores"].latest:
        boosters = cores.to_cores(_by_disposition(staged["cores"], transforms.LATEST))
        merged = lake.merge(
            "cores",
            boosters,
            lambda current: precedence.row_changes(boosters, current, CORE_COLUMNS, key="core_id"),
            options.run_id,
            incoming_rows=intake["cores"].latest,
        )
        outcome.cores = _merge_outcome(merged, first_load=merged.rows_added)
    return outcome


def _merge_outcome(merged: MergeResult, first_load: int) -> MergeOutcome:
    """What the report says of a merge; `first_load`: the keys a first load inserted, which writes
    without comparing (for launches and cores the rows its commit added: one per key)."""
    changes = (
        KeyChanges(insert=first_load) if merged.changes is None else KeyChanges.from_dict(merged.changes)
    )
    return MergeOutcome(
        merged.snapshot, merged.committed, changes, merged.rows_added, merged.rows_removed, merged.attempts
    )


def _file_entries(files: list[InputFile]) -> list[InputFileEntry]:
    return [
        InputFileEntry(
            path=f.path,
            format=f.format,
            bytes=f.size,
            compressed=f.compressed,
            snapshot_time=f.snapshot_time.isoformat() if f.snapshot_time else None,
            snapshot_time_from=f.snapshot_time_from,
        )
        for f in files
    ]


def run_pipeline(
    spark: SparkSession, options: RunOptions, loader: WarehouseLoader | None, report: RunReport
) -> RunReport:
    """Run once, filling `report` as it goes (what a failed run got to stays in it). Raises InputFileError / LakeError / CommitConflict /
    WarehouseError."""
    lakefs = LakeFS(spark)
    paths = LakePaths.at(options.lake)
    staging = paths.staging(options.run_id)
    lake = Lakehouse(spark, options.catalog)
    remove_stale_staging(lakefs, paths)
    try:
        with timed(report, "discover_inputs"):
            window = (options.ingest_date_from, options.ingest_date_to, options.snapshot_time)
            discovery = {"launches": find_input_files(lakefs, options.inputs, *window)}
            if options.cores_inputs:
                try:
                    discovery["cores"] = find_input_files(lakefs, options.cores_inputs, *window)
                except NoInputFiles as exc:
                    if not options.cores_optional:
                        raise
                    report.cores = CoresSkipped(str(exc))
        report.inputs.files = _file_entries(discovery["launches"].files)
        report.inputs.skipped = [entry for found in discovery.values() for entry in found.skipped]
        if "cores" in discovery:
            report.inputs.cores_files = _file_entries(discovery["cores"].files)

        with timed(report, "read_parse_validate"):
            datasets = {"launches": LAUNCH_DATA, "cores": CORE_DATA}
            intake = {
                name: stage_records(spark, found.files, f"{staging}/{name}", datasets[name])
                for name, found in discovery.items()
            }
        launches_in = intake["launches"]
        report.rule_failures = dict(launches_in.rule_failures)
        report.rule_warnings = dict(launches_in.rule_warnings)
        if any(report.rule_warnings.values()):
            report.warnings.append(
                'kept as sent, failing a warning rule (docs/data-quality.md "Warning rules"): '
                + (launches_in.warned_records or "")
            )

        with timed(report, "commit"):
            lake.ensure_tables()
            staged = {
                name: spark.read.parquet(f"{staging}/{name}") for name in intake if intake[name].input_records
            }
            report.lake = commit_records(lake, staged, intake, options) if staged else LakeOutcome()
        report.counts = _counts(launches_in, report.lake)
        if report.counts.same_time_conflicts:
            report.warnings.append(_conflict_warning(report.counts.same_time_conflicts, launches_in))
        report.conservation = _check_conservation(report.counts, "launches")
        if "cores" in intake:
            report.cores = _core_report(intake["cores"], report.lake)
            report.cores.conservation = _check_conservation(report.cores.counts, "cores")
        if not launches_in.input_records:
            report.message = "the input holds no launch records: launches are unchanged"
        elif not launches_in.latest:
            report.message = (
                f"every one of the {launches_in.input_records} input records failed the quality rules: "
                f"they are in the quarantine (run_id {options.run_id}); launches and warehouse are unchanged"
            )

        complete = _newest_complete_snapshot(discovery["launches"].files)
        if complete is not None and launches_in.input_records:
            report.not_listed = _not_listed(lake, complete)
        report.lake_snapshots = {table: lake.snapshot(table) for table in contract.TABLES}
        if loader is not None:
            report.warehouse = WarehouseOutcome(loader.target, loader.describe())
            with timed(report, "warehouse_load"):
                report.warehouse.sync = loader.sync(lake, report.lake_snapshots, options.run_id)
        report.status = "succeeded" if launches_in.input_records else "no_op"
        return report
    finally:
        lakefs.delete(staging)


def _newest_complete_snapshot(files: list[InputFile]) -> datetime | None:
    """The newest fetch time among raw-zone files named by it: each is the API's whole /launches
    (a file timed by its manifest or --snapshot-time may be an export of part of it)."""
    times = [f.snapshot_time for f in files if f.snapshot_time_from == "name" and f.snapshot_time]
    return max(times, default=None)


def _not_listed(lake: Lakehouse, complete: datetime) -> NotListed:
    """The launches the lake holds that the complete snapshot fetched at `complete` did not list (nor
    any later one): last seen before it. They stay in the lake, the warehouse and the answers."""
    held = lake.read("launches").select("launch_id", "ingested_at")
    seen = lake.read("launch_sightings").select("launch_id", "last_seen_at")
    last_seen = F.coalesce("last_seen_at", "ingested_at")
    rows = (
        held.join(seen, "launch_id", "left")
        .filter(last_seen < F.lit(complete))
        .select("launch_id", last_seen.alias("last_seen_at"))
        .orderBy("launch_id")
        .collect()
    )
    return NotListed(
        complete_snapshot=complete.isoformat(),
        launches=len(rows),
        launch_ids=[row["launch_id"] for row in rows],
        last_seen_at={row["launch_id"]: row["last_seen_at"].isoformat() for row in rows},
    )


def remove_stale_staging(lakefs: LakeFS, paths: LakePaths) -> None:
    """Delete the staging of runs that died over STALE_STAGING_S ago (never a live run's)."""
    cutoff = time.time() - STALE_STAGING_S
    for uri, modified in lakefs.children(paths.staging("")):
        if modified < cutoff:
            log.info("removing the staging of a run that died: %s", uri)
            lakefs.delete(uri)


def _conflict_warning(conflicts: int, intake: Intake) -> str:
    named = intake.same_time_conflict_ids
    among = f" (in this run's input: {named})" if named else ""
    return (
        f"{conflicts} launch(es) had two different records with the same fetch time{among}: the record "
        "with the greater record_hash is kept, whatever the order of files and runs "
        '(docs/lake.md "Precedence")'
    )


def _counts(intake: Intake, lake: LakeOutcome) -> LaunchCounts:
    return LaunchCounts(
        input_records=intake.input_records,
        launches=lake.changes("launches").decided,
        duplicates_collapsed=intake.duplicates_collapsed,
        quarantined=lake.quarantined("launches"),
        launch_cores=intake.slots,
        unknown_core_slots=intake.unknown_core_slots,
        same_time_conflicts=intake.same_time_conflicts + (lake.changes("launches").same_time_conflicts or 0),
    )


def _core_report(intake: Intake, lake: LakeOutcome) -> CoresOutcome:
    counts = CoreCounts(
        input_records=intake.input_records,
        cores=lake.changes("cores").decided,
        duplicates_collapsed=intake.duplicates_collapsed,
        quarantined=lake.quarantined("cores"),
    )
    return CoresOutcome(counts, dict(intake.rule_failures))


def _check_conservation(counts: LaunchCounts | CoreCounts, dataset: str) -> Conservation:
    """Every input record is a row the merge decided on, a collapsed duplicate or a quarantined row
    read back from the committed table: counted apart from the intake's own counts."""
    accounted = counts.kept + counts.duplicates_collapsed + counts.quarantined
    if accounted == counts.input_records:
        return Conservation(f"input_records = {dataset} + duplicates_collapsed + quarantined", holds=True)
    raise RuntimeError(  # a bug, not bad input: every commit is still whole
        f"{dataset}: record conservation failed: {counts.input_records} in, {accounted} accounted for "
        f"({counts.kept} decided, {counts.duplicates_collapsed} duplicates, {counts.quarantined} quarantined)"
    )
