"""Which incoming launches replace what the lake holds, and what a table's touched partitions become.

Precedence is a record's *version*: its snapshot's own time (`ingested_at`: when the raw file was
fetched), never file order, then its `record_hash` (a hash of the record's text), which decides
between two different records of the same snapshot time the same way whatever order they arrive in.
A launch is replaced only by a record of a later or equal version, and only when something the
contract holds differs, so a backfill of an older snapshot never reverts newer data, re-merging the
same snapshot changes nothing, and a refetch of unchanged data rewrites nothing. A launch's held
version is the newest of its row's and of its sighting's (`launch_sightings`: the last snapshot that
listed it), so a backfill older than the last confirmation loses too. An unknown snapshot time
(NULL) is older than every known one.

A launch's core slots are one unit: they are replaced together, by the slots of a launch record at
least as new as both the slots held and the launch row held (a launch whose newer record has no
cores has no slot rows left to carry its time).

Pure DataFrame -> DataFrame functions; lakehouse.py reads the current table and commits the result.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

INSERT, UPDATE, UNCHANGED, KEPT_NEWER = "insert", "update", "unchanged", "kept_newer"
CHANGED = (INSERT, UPDATE)
CHANGES = (INSERT, UPDATE, UNCHANGED, KEPT_NEWER)
KEY = "launch_id"
_UNKNOWN_TIME = datetime(1970, 1, 1)
_NO_HASH = -(1 << 63)  # rows written before record_hash existed rank below any hash


def _column(column: str | Column) -> Column:
    return F.col(column) if isinstance(column, str) else column


def precedence(column: str | Column) -> Column:
    """A snapshot time to compare: an unknown (NULL) time sorts before every known one."""
    return F.coalesce(_column(column), F.lit(_UNKNOWN_TIME))


def version(time: str | Column, record_hash: str | Column) -> Column:
    """A record's version to compare (structs compare field by field): its snapshot time, then its
    text's hash. NULL only when both are."""
    return F.struct(
        precedence(time).alias("time"), F.coalesce(_column(record_hash), F.lit(_NO_HASH)).alias("hash")
    )


def held_versions(current: DataFrame, sightings: DataFrame | None, key: str = KEY) -> DataFrame:
    """(key, held_version) of each row in `current`: the newer of the row's own version and its
    sighting's (launch_sightings: launch_id, last_seen_at, record_hash)."""
    own = current.select(key, version("ingested_at", "record_hash").alias("row_version"))
    if sightings is None:
        return own.select(key, F.col("row_version").alias("held_version"))
    seen = sightings.select(
        F.col("launch_id").alias(key), version("last_seen_at", "record_hash").alias("seen_version")
    )
    return own.join(seen, key, "left").select(
        key, F.greatest("row_version", F.coalesce("seen_version", "row_version")).alias("held_version")
    )


def _same_values(columns: list[str], left: str = "i", right: str = "c") -> Column:
    same = F.lit(True)
    for column in columns:
        same = same & F.col(f"{left}.{column}").eqNullSafe(F.col(f"{right}.{column}"))
    return same


def row_changes(
    incoming: DataFrame,
    current: DataFrame,
    compared: list[str],
    key: str = KEY,
    sightings: DataFrame | None = None,
) -> DataFrame:
    """Per incoming row (a launch, or a core of the API's /cores): `change` (insert | update |
    unchanged | kept_newer) and, for tables partitioned by launch year, the years of its current and
    incoming rows (the partitions a rewrite touches). `compared`: the columns whose difference makes an
    update (the contract's values; a newer `ingested_at` alone is no change)."""
    held = current.join(held_versions(current, sightings, key), key)
    joined = incoming.alias("i").join(held.alias("c"), F.col(f"i.{key}") == F.col(f"c.{key}"), "left")
    same_time_conflict = (
        (precedence("i.ingested_at") == F.col("c.held_version.time"))
        & (F.coalesce("i.record_hash", F.lit(_NO_HASH)) != F.col("c.held_version.hash"))
        & ~_same_values(compared)
    )
    change = (
        F.when(F.col(f"c.{key}").isNull(), F.lit(INSERT))
        .when(version("i.ingested_at", "i.record_hash") < F.col("c.held_version"), F.lit(KEPT_NEWER))
        .when(_same_values(compared), F.lit(UNCHANGED))
        .otherwise(F.lit(UPDATE))
    )
    dated = "date_utc" in incoming.columns
    return joined.select(
        F.col(f"i.{key}").alias(key),
        change.alias("change"),
        F.coalesce(same_time_conflict, F.lit(False)).alias("same_time_conflict"),
        (F.year("c.date_utc") if dated else F.lit(None).cast("int")).alias("current_year"),
        (F.year("i.date_utc") if dated else F.lit(None).cast("int")).alias("incoming_year"),
    )


def slot_set_changes(
    incoming_slots: DataFrame,
    incoming_launches: DataFrame,
    current_slots: DataFrame,
    current_launches: DataFrame,
    compared: list[str],
    sightings: DataFrame | None = None,
) -> DataFrame:
    """Per incoming launch: the `change` of its whole set of core slots and the years of its current
    and incoming slots. `incoming_launches`/`current_launches` give each launch's version
    (launch_id, ingested_at, record_hash, date_utc); `compared`: the slot columns whose difference
    makes an update."""
    ids = incoming_launches.select(KEY)
    held = current_slots.join(ids, KEY, "left_semi")
    slot_key = [KEY, "core_position"]
    per_slot = incoming_slots.alias("i").join(
        held.alias("c"),
        [F.col(f"i.{column}") == F.col(f"c.{column}") for column in slot_key],
        "full_outer",
    )
    differs = F.col("i.core_position").isNull() | F.col("c.core_position").isNull() | ~_same_values(compared)
    slot_sets = per_slot.groupBy(F.coalesce(F.col(f"i.{KEY}"), F.col(f"c.{KEY}")).alias(KEY)).agg(
        F.max(differs).alias("differs"),
        F.max(F.col("c.core_position").isNotNull()).alias("held"),
        F.max(F.when(F.col("c.core_position").isNotNull(), version("c.ingested_at", "c.record_hash"))).alias(
            "held_slots_version"
        ),
        F.max(F.year("c.date_utc")).alias("current_year"),
    )
    launch_versions = held_versions(current_launches, sightings)
    joined = (
        incoming_launches.select(KEY, "ingested_at", "record_hash", "date_utc")
        .join(slot_sets, KEY, "left")
        .join(launch_versions, KEY, "left")
    )
    nothing = version(F.lit(None), F.lit(None))
    held_version = F.greatest(F.coalesce("held_slots_version", nothing), F.coalesce("held_version", nothing))
    change = (
        F.when(version("ingested_at", "record_hash") < held_version, F.lit(KEPT_NEWER))
        .when(~F.coalesce("differs", F.lit(False)), F.lit(UNCHANGED))
        .when(F.coalesce("held", F.lit(False)), F.lit(UPDATE))
        .otherwise(F.lit(INSERT))
    )
    return joined.select(
        KEY,
        change.alias("change"),
        F.col("current_year"),
        F.year("date_utc").alias("incoming_year"),
    )


def rewritten_partitions(
    current: DataFrame, incoming: DataFrame, changes: DataFrame, years: list[int] | None, key: str = KEY
) -> DataFrame:
    """What the table's rows in `years` (None: the whole table) become: the rows held there, less those
    of changed keys, plus the incoming rows of changed keys. `current` and `incoming` share the
    table's columns."""
    changed = changes.filter(F.col("change").isin(*CHANGED)).select(key)
    held = current if years is None else current.filter(F.year("date_utc").isin(years))
    kept = held.join(changed, key, "left_anti")
    replacing = incoming.join(changed, key, "left_semi")
    return kept.unionByName(replacing)


def sighting_changes(incoming: DataFrame, current: DataFrame) -> DataFrame:
    """Per incoming launch_sightings row: insert (first sighting), update (a newer version saw it) or
    unchanged; in row_changes' shape (no years: the table is not partitioned)."""
    joined = incoming.alias("i").join(current.alias("c"), F.col(f"i.{KEY}") == F.col(f"c.{KEY}"), "left")
    newer = version("i.last_seen_at", "i.record_hash") > version("c.last_seen_at", "c.record_hash")
    change = (
        F.when(F.col(f"c.{KEY}").isNull(), F.lit(INSERT))
        .when(newer, F.lit(UPDATE))
        .otherwise(F.lit(UNCHANGED))
    )
    return joined.select(
        F.col(f"i.{KEY}").alias(KEY),
        change.alias("change"),
        F.lit(False).alias("same_time_conflict"),
        F.lit(None).cast("int").alias("current_year"),
        F.lit(None).cast("int").alias("incoming_year"),
    )


def change_summary(changes: DataFrame) -> tuple[dict[str, int], list[int]]:
    """(launches per change and `same_time_conflicts`, sorted years a rewrite touches), in one small
    aggregation."""
    if "same_time_conflict" not in changes.columns:
        changes = changes.withColumn("same_time_conflict", F.lit(False))
    rows = (
        changes.groupBy("change")
        .agg(
            F.count(F.lit(1)).alias("launches"),
            F.sum(F.col("same_time_conflict").cast("long")).alias("conflicts"),
            F.array_distinct(
                F.flatten(
                    F.collect_list(
                        F.when(
                            F.col("change").isin(*CHANGED),
                            F.array_compact(F.array("current_year", "incoming_year")),
                        )
                    )
                )
            ).alias("years"),
        )
        .collect()
    )
    counts = dict.fromkeys(CHANGES, 0) | {"same_time_conflicts": 0}
    years: set[int] = set()
    for row in rows:
        counts[row["change"]] = row["launches"]
        counts["same_time_conflicts"] += row["conflicts"] or 0
        years.update(row["years"] or [])
    return counts, sorted(years)
