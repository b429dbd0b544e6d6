"""Pure DataFrame -> DataFrame transforms from raw records to the warehouse contract tables."""

from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spacex_launches.job import quality, schemas

_JSON_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": schemas.CORRUPT_RECORD}


def parse_launch_records(raw_records: DataFrame) -> DataFrame:
    """Parse `raw_record` text with the explicit launch schema; add `launch_ts` (UTC timestamp),
    `core_texts` (each `cores` element's own text, for the rules) and `record_hash` (of the text as
    sent: the order-independent tie-break between two records of the same snapshot time)."""
    parsed = F.from_json("raw_record", schemas.RAW_LAUNCH, _JSON_OPTIONS)
    fields = [name for name in schemas.RAW_LAUNCH.fieldNames() if name != "cores"]
    return raw_records.withColumn("launch", parsed).select(
        *[c for c in raw_records.columns if c != "launch"],
        *[F.col(f"launch.{name}").alias(name) for name in fields],
        F.transform("launch.cores", lambda text: F.from_json(text, schemas.RAW_CORE, _JSON_OPTIONS)).alias(
            "cores"
        ),
        F.col("launch.cores").alias("core_texts"),
        F.to_timestamp("launch.date_utc").alias("launch_ts"),
        F.xxhash64("raw_record").alias("record_hash"),
    )


def sent_date_unix() -> Column:
    """`date_unix` as the API sent it; derived from `date_utc` only when the record has none (a value
    that disagrees with date_utc is quarantined: quality's `date_unix_matches_date_utc`)."""
    return F.coalesce(F.col("date_unix"), F.col("launch_ts").cast("long"))


LATEST, DUPLICATE, QUARANTINED = "latest", "duplicate", "quarantined"
_UNKNOWN_TIME = datetime(1970, 1, 1)


def with_disposition(records: DataFrame) -> DataFrame:
    """Add `disposition`: `quarantined` (failed a rule), `duplicate` (an older copy of a valid record id)
    or `latest` (the one record kept per id), and `same_time_conflict` (a duplicate from the same
    snapshot time as the kept record whose text differs).

    The latest snapshot wins: its fetch time (`snapshot_time`; unknown is oldest); between records of
    the same time, the greater `record_hash` (a rule on the content, so the result is the same whatever
    the order of files or runs); identical texts are interchangeable.
    """
    latest_first = Window.partitionBy(F.col("id"), quality.is_valid()).orderBy(
        F.col("snapshot_time").desc_nulls_last(),
        F.col("record_hash").desc(),
        F.col("source_file").desc(),
        F.col("source_block").desc(),
        F.col("source_row").desc(),
    )
    kept_time = F.first(F.coalesce("snapshot_time", F.lit(_UNKNOWN_TIME))).over(latest_first)
    kept_hash = F.first("record_hash").over(latest_first)
    disposition = (
        F.when(~quality.is_valid(), F.lit(QUARANTINED))
        .when(F.row_number().over(latest_first) == 1, F.lit(LATEST))
        .otherwise(F.lit(DUPLICATE))
    )
    return records.withColumn("disposition", disposition).withColumn(
        "same_time_conflict",
        (F.col("disposition") == DUPLICATE)
        & (F.coalesce("snapshot_time", F.lit(_UNKNOWN_TIME)) == kept_time)
        & (F.col("record_hash") != kept_hash),
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
        sent_date_unix().alias("date_unix"),
        F.col("date_precision"),
        F.col("upcoming"),
        F.col("success"),
        F.col("rocket").alias("rocket_id"),
        F.col("launchpad").alias("launchpad_id"),
        F.col("details"),
        F.col("source_api_version"),
        F.col("snapshot_time").alias("ingested_at"),
        F.col("source_file"),
        F.col("record_hash"),
    )


def to_launch_cores(records: DataFrame) -> DataFrame:
    """The `launch_cores` contract table: one row per (launch, core slot), with the snapshot time
    (`ingested_at`) and `source_file` of the launch record the slots came from.

    A launch with an empty `cores` array has no slot to key a row on; it stays in `launches`.
    """
    slots = records.select(
        F.col("id").alias("launch_id"),
        F.col("launch_ts").alias("date_utc"),
        sent_date_unix().alias("date_unix"),
        F.col("upcoming"),
        F.col("snapshot_time").alias("ingested_at"),
        F.col("source_file"),
        F.col("record_hash"),
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
        "date_unix",
        "upcoming",
        "ingested_at",
        "source_file",
        "record_hash",
    )


def to_quarantine(failed_records: DataFrame) -> DataFrame:
    """Quarantine rows: where the record came from, why it failed, and the record as received."""
    return failed_records.select(
        "source_file",
        "source_block",
        "source_row",
        F.col("id").alias("record_id"),
        F.col("failed_rules")[0].alias("rule"),
        "failed_rules",
        "raw_record",
    )
