"""The bare-Spark floor of `make bench`: the job's essential work on the same input, and nothing else.

    spark-submit bench/floor.py --input DIR --out DIR     (bench_launches.floor_command builds it)

Read the JSON Lines input with the job's explicit launch schema (job.schemas.RAW_LAUNCH), keep the
launches columns, explode `cores` into one row per launch x core slot, and write both as Parquet: two
writes, one scan of the input each, as the plain way would do it. RAW_LAUNCH reads `cores` as
array<string> (each element's own text, so the job can tell a `null` or `{}` slot from a core whose
fields are all null); the floor parses each element with job.schemas.RAW_CORE via `from_json`, which is
what the job does too, so the floor pays the same JSON parsing and no more.

Nothing of the job's own is here: no raw-record text kept per row, no quality rules or quarantine, no
de-duplication or same-time window, no record hash, no Iceberg lake or commit, no run report. The
Spark settings are the job's (conf/local.yaml's spark.conf) so that timestamps and Parquet are written
the same way. The job's time over this one (bench_launches' ratio) is what those features cost.

It prints one JSON line on stdout: {"floor_s": ..., "launches": ..., "launch_cores": ...}; floor_s is
the Spark work from the first read to the second write's end, without JVM start and session creation.
The row counts come from the written Parquet footers, after the clock has stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spacex_launches.common.settings import load_settings
from spacex_launches.job.schemas import RAW_CORE, RAW_LAUNCH


def launches(raw: DataFrame) -> DataFrame:
    """One row per launch record, the launches columns only."""
    return raw.select(
        F.col("id").alias("launch_id"),
        F.col("flight_number"),
        F.col("name"),
        F.to_timestamp("date_utc").alias("date_utc"),
        F.col("date_unix"),
        F.col("date_precision"),
        F.col("upcoming"),
        F.col("success"),
        F.col("rocket").alias("rocket_id"),
        F.col("launchpad").alias("launchpad_id"),
        F.col("details"),
    )


def launch_cores(raw: DataFrame) -> DataFrame:
    """One row per launch x core slot, each slot's text parsed with RAW_CORE."""
    slots = raw.select(
        F.col("id").alias("launch_id"),
        F.to_timestamp("date_utc").alias("date_utc"),
        F.col("upcoming"),
        F.posexplode("cores").alias("core_position", "core_text"),
    ).withColumn("core", F.from_json("core_text", RAW_CORE))
    return slots.select(
        "launch_id",
        "core_position",
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
        "upcoming",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="a directory of JSON Lines launch files")
    parser.add_argument("--out", required=True, help="an empty or absent directory for the Parquet")
    args = parser.parse_args(argv)
    builder = SparkSession.builder.appName("spacex-launches-floor")
    for key, value in (load_settings("local").spark.conf or {}).items():
        builder = builder.config(key, str(value))
    spark = builder.getOrCreate()
    out = Path(args.out)
    started = time.monotonic()
    raw = spark.read.schema(RAW_LAUNCH).json(args.input)
    launches(raw).write.mode("overwrite").parquet(str(out / "launches"))
    launch_cores(raw).write.mode("overwrite").parquet(str(out / "launch_cores"))
    elapsed = time.monotonic() - started
    counts = {name: spark.read.parquet(str(out / name)).count() for name in ("launches", "launch_cores")}
    spark.stop()
    print(json.dumps({"floor_s": round(elapsed, 3), **counts}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
