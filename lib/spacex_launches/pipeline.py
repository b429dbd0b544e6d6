"""One run of the launches job: raw JSON -> staged outputs -> checks -> publish -> warehouse merge.

The raw input is scanned once: records are parsed, checked and written to a staging Parquet in a single
pass whose counts come from `DataFrame.observe`; every later step reads that Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from spacex_launches import quality, transforms
from spacex_launches.lake import (
    InputFileError,
    LakeFS,
    LakePaths,
    find_input_files,
    publish,
    read_raw_records,
)
from spacex_launches.report import timed
from spacex_launches.warehouse import WarehouseLoader


class PipelineError(RuntimeError):
    """The run cannot succeed; the message names the file, record or rule and nothing was published."""


@dataclass(frozen=True)
class RunOptions:
    inputs: list[str]
    lake: str
    run_id: str
    default_api_version: str = "v5"
    ingest_date_from: date | None = None
    ingest_date_to: date | None = None


STAGED_RECORD_COLUMNS = [
    "source_file",
    "source_block",
    "source_row",
    "source_modified_at",
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


def _count_where(condition: Column) -> Column:
    return F.sum(condition.cast("long"))


def _intake_metrics() -> list:
    readable = ~F.col("unreadable_file")
    disposition = F.col("disposition")
    return [
        _count_where(readable).alias("input_records"),
        _count_where(F.col("unreadable_file")).alias("unreadable_files"),
        F.max(F.when(F.col("unreadable_file"), F.col("source_file"))).alias("unreadable_example"),
        _count_where(readable & (disposition == transforms.QUARANTINED)).alias("quarantined"),
        _count_where(readable & (disposition == transforms.DUPLICATE)).alias("duplicates_collapsed"),
        _count_where(readable & (disposition == transforms.LATEST)).alias("latest"),
        *[
            _count_where(readable & F.array_contains("failed_rules", rule)).alias(f"rule:{rule}")
            for rule in quality.RULE_NAMES
        ],
    ]


def stage_records(spark: SparkSession, files, staged_path: str) -> dict[str, Any]:
    """The one scan of the raw input: parse, apply the rules, mark duplicates, write every record
    with its disposition to `staged_path`. The raw text is kept only for quarantined records."""
    intake = Observation("intake")
    raw_if_failed = F.when(~quality.is_valid(), F.col("raw_record")).alias("raw_record")
    records = (
        read_raw_records(spark, files)
        .transform(transforms.parse_launch_records)
        .transform(quality.with_failed_rules)
        .select(*STAGED_RECORD_COLUMNS, raw_if_failed, "unreadable_file")
        .transform(transforms.with_disposition)
        .observe(intake, *_intake_metrics())
        .filter(~F.col("unreadable_file"))
        .drop("unreadable_file")
    )
    records.write.mode("overwrite").parquet(staged_path)
    return {key: value if key == "unreadable_example" else (value or 0) for key, value in intake.get.items()}


def _with_launch_year(df: DataFrame) -> DataFrame:
    """Partition column of the validated zone: few, evenly sized partitions and one file each."""
    return df.withColumn("launch_year", F.year("date_utc")).repartition("launch_year")


def _write_counted(df: DataFrame, path: str, *extra_metrics) -> dict[str, int]:
    written = Observation(path.rsplit("/", 1)[-1])
    counted = df.observe(written, F.count(F.lit(1)).alias("rows"), *extra_metrics)
    if "date_utc" in df.columns:
        counted.transform(_with_launch_year).write.partitionBy("launch_year").parquet(path)
    else:
        counted.repartition(1).write.parquet(path)
    return {key: value or 0 for key, value in written.get.items()}


def build_outputs(
    spark: SparkSession, options: RunOptions, intake: dict[str, Any], staged_records: str, staging: str
) -> dict[str, int]:
    """From the staged records write quarantine, launches and launch_cores into `staging`.
    An output the intake counted no rows for is not written (nor its empty job run)."""
    written = {"quarantined": 0, "launches": 0, "launch_cores": 0, "unknown_core_slots": 0}
    records = spark.read.parquet(staged_records)
    if intake["quarantined"]:
        quarantined = records.filter(F.col("disposition") == transforms.QUARANTINED)
        quarantine = _write_counted(quarantined.transform(transforms.to_quarantine), f"{staging}/quarantine")
        written["quarantined"] = quarantine["rows"]
    if intake["latest"]:
        latest = records.filter(F.col("disposition") == transforms.LATEST)
        launches = _write_counted(
            transforms.to_launches(latest, options.default_api_version), f"{staging}/launches"
        )
        cores = _write_counted(
            transforms.to_launch_cores(latest),
            f"{staging}/launch_cores",
            _count_where(F.col("core_id").isNull()).alias("unknown"),
        )
        written.update(
            launches=launches["rows"], launch_cores=cores["rows"], unknown_core_slots=cores["unknown"]
        )
    return written


def run_pipeline(
    spark: SparkSession, options: RunOptions, loader: WarehouseLoader | None, report: dict[str, Any]
) -> dict[str, Any]:
    """Run once, filling `report` as it goes. Raises InputFileError / PipelineError / WarehouseError."""
    lakefs = LakeFS(spark)
    paths = LakePaths.at(options.lake)
    staging = paths.staging(options.run_id)
    try:
        with timed(report, "discover_inputs"):
            files = find_input_files(lakefs, options.inputs, options.ingest_date_from, options.ingest_date_to)
        report["inputs"]["files"] = [{"path": f.path, "format": f.format, "bytes": f.size} for f in files]

        with timed(report, "read_parse_validate"):
            intake = stage_records(spark, files, f"{staging}/records")
        if intake["unreadable_files"]:
            raise InputFileError(
                f"{intake['unreadable_example']}: not a complete JSON array (truncated or malformed)"
                + (
                    f"; {intake['unreadable_files'] - 1} more such file(s)"
                    if intake["unreadable_files"] > 1
                    else ""
                )
            )
        report["rule_failures"] = {rule: intake[f"rule:{rule}"] for rule in quality.RULE_NAMES}
        if intake["input_records"] == 0:
            report["counts"] = {"input_records": 0}
            report["status"] = "no_op"
            report["message"] = "the input holds no launch records: nothing was published or loaded"
            return report

        with timed(report, "write_outputs"):
            written = build_outputs(spark, options, intake, f"{staging}/records", staging)
        counts = {
            "input_records": intake["input_records"],
            "launches": written["launches"],
            "duplicates_collapsed": intake["duplicates_collapsed"],
            "quarantined": written["quarantined"],
            "launch_cores": written["launch_cores"],
            "unknown_core_slots": written["unknown_core_slots"],
        }
        report["counts"] = counts
        accounted = counts["launches"] + counts["duplicates_collapsed"] + counts["quarantined"]
        # The written counts are observed separately from the intake's: a row lost between the raw
        # input and the outputs breaks the balance.
        report["conservation"] = {
            "rule": "input_records = launches + duplicates_collapsed + quarantined",
            "holds": accounted == counts["input_records"]
            and (written["launches"], written["quarantined"]) == (intake["latest"], intake["quarantined"]),
        }
        if not report["conservation"]["holds"]:
            raise PipelineError(
                f"record conservation failed: {counts['input_records']} in, {accounted} accounted for "
                f"(intake: {intake['latest']} latest, {intake['quarantined']} quarantined)"
            )

        with timed(report, "publish"):
            if counts["quarantined"]:
                lakefs.rename(f"{staging}/quarantine", paths.quarantine(options.run_id))
                report["outputs"]["quarantine"] = paths.quarantine(options.run_id)
            if counts["launches"] == 0:
                raise PipelineError(
                    f"none of the {counts['input_records']} input records passed the quality rules "
                    f"(see {paths.quarantine(options.run_id)}): validated data and warehouse left unchanged"
                )
            for table in ("launches", "launch_cores"):
                publish(
                    lakefs,
                    f"{staging}/{table}",
                    paths.validated(table),
                    f"{paths.trash(options.run_id)}/{table}",
                )
                report["outputs"][table] = paths.validated(table)

        if loader is not None:
            report["warehouse"] = {"target": loader.target, "location": loader.describe()}
            with timed(report, "warehouse_load"):
                report["warehouse"]["tables"] = loader.load(
                    spark, {table: paths.validated(table) for table in ("launches", "launch_cores")}
                )
        report["status"] = "succeeded"
        return report
    finally:
        lakefs.delete(staging)
