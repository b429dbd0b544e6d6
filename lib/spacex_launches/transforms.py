"""Pure DataFrame -> DataFrame transforms from raw records to the warehouse contract tables."""

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spacex_launches import quality, schemas

_JSON_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": schemas.CORRUPT_RECORD}


def parse_launch_records(raw_records: DataFrame) -> DataFrame:
    """Parse `raw_record` text with the explicit launch schema; add `launch_ts` (UTC timestamp)."""
    parsed = F.from_json("raw_record", schemas.RAW_LAUNCH, _JSON_OPTIONS)
    return raw_records.withColumn("launch", parsed).select(
        *[c for c in raw_records.columns if c != "launch"],
        "launch.*",
        F.to_timestamp("launch.date_utc").alias("launch_ts"),
    )


LATEST, DUPLICATE, QUARANTINED = "latest", "duplicate", "quarantined"


def with_disposition(records: DataFrame) -> DataFrame:
    """Add `disposition`: `quarantined` (failed a rule), `duplicate` (an older copy of a valid launch id)
    or `latest` (the one record kept per launch id).

    The latest snapshot wins: its fetch time (`snapshot_time`; unknown is oldest), then file path,
    then position in the file.
    """
    latest_first = Window.partitionBy(F.col("id"), quality.is_valid()).orderBy(
        F.col("snapshot_time").desc_nulls_last(),
        F.col("source_file").desc(),
        F.col("source_block").desc(),
        F.col("source_row").desc(),
    )
    return records.withColumn(
        "disposition",
        F.when(~quality.is_valid(), F.lit(QUARANTINED))
        .when(F.row_number().over(latest_first) == 1, F.lit(LATEST))
        .otherwise(F.lit(DUPLICATE)),
    )


def _crew_shape() -> Column:
    """`v5` when a crew member is a {crew, role} object, `v4` when it is a bare id, else null.
    (For a file, the max of its records' shapes: a mixed file counts as v5.)"""
    crew = F.coalesce(F.col("crew"), F.array())
    return F.when(F.exists(crew, lambda member: F.ltrim(member).startswith("{")), F.lit("v5")).when(
        F.size(crew) > 0, F.lit("v4")
    )


def with_source_api_version(records: DataFrame, default_version: str = "v5") -> DataFrame:
    """Add `source_api_version`: the record's own crew shape, else that of its source file (a snapshot
    comes from one API version), else `default_version`. Only crew tells v4 and v5 launches apart."""
    file_versions = records.groupBy("source_file").agg(F.max(_crew_shape()).alias("_file_version"))
    return (
        records.join(F.broadcast(file_versions), "source_file", "left")
        .withColumn("source_api_version", F.coalesce(_crew_shape(), "_file_version", F.lit(default_version)))
        .drop("_file_version")
    )


def to_launches(records: DataFrame, default_api_version: str = "v5") -> DataFrame:
    """The `launches` contract table and each row's `source_file`. `ingested_at` is the fetch time of
    the snapshot the record came from."""
    return records.transform(with_source_api_version, default_api_version).select(
        F.col("id").alias("launch_id"),
        F.col("flight_number").cast("int").alias("flight_number"),
        F.col("name"),
        F.col("launch_ts").alias("date_utc"),
        F.col("launch_ts").cast("long").alias("date_unix"),
        F.col("date_precision"),
        F.col("upcoming"),
        F.col("success"),
        F.col("rocket").alias("rocket_id"),
        F.col("launchpad").alias("launchpad_id"),
        F.col("details"),
        F.col("source_api_version"),
        F.col("snapshot_time").alias("ingested_at"),
        F.col("source_file"),
    )


def to_launch_cores(records: DataFrame) -> DataFrame:
    """The `launch_cores` contract table: one row per (launch, core slot), with the snapshot time
    (`ingested_at`) and `source_file` of the launch record the slots came from.

    A launch with an empty `cores` array has no slot to key a row on; it stays in `launches`.
    """
    slots = records.select(
        F.col("id").alias("launch_id"),
        F.col("launch_ts").alias("date_utc"),
        F.col("upcoming"),
        F.col("snapshot_time").alias("ingested_at"),
        F.col("source_file"),
        F.posexplode_outer("cores").alias("core_position", "core"),
    ).filter(F.col("core_position").isNotNull())
    return slots.select(
        "launch_id",
        F.col("core_position").cast("int").alias("core_position"),
        F.col("core.core").alias("core_id"),
        F.col("core.flight").alias("core_flight"),
        F.col("core.reused").alias("reused"),
        F.col("core.gridfins").alias("gridfins"),
        F.col("core.legs").alias("legs"),
        F.col("core.landing_attempt").alias("landing_attempt"),
        F.col("core.landing_success").alias("landing_success"),
        F.col("core.landing_type").alias("landing_type"),
        F.col("core.landpad").alias("landpad_id"),
        "date_utc",
        F.col("date_utc").cast("long").alias("date_unix"),
        "upcoming",
        "ingested_at",
        "source_file",
    )


def to_quarantine(failed_records: DataFrame) -> DataFrame:
    """Quarantine rows: where the record came from, why it failed, and the record as received."""
    return failed_records.select(
        "source_file",
        "source_block",
        "source_row",
        F.col("id").alias("launch_id"),
        F.col("failed_rules")[0].alias("rule"),
        "failed_rules",
        "raw_record",
    )
