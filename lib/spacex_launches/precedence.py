"""Which incoming launches replace what the lake holds, and what a table's touched partitions become.

Precedence is the snapshot's own time (`ingested_at`: when the raw file was fetched), never file
order: a launch is replaced only by a record from the same or a later snapshot, and only when
something differs, so a backfill of an older snapshot never reverts newer data and re-merging the
same snapshot changes nothing. An unknown snapshot time (NULL) is older than every known one.

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


def precedence(column: str | Column) -> Column:
    """A snapshot time to compare: an unknown (NULL) time sorts before every known one."""
    return F.coalesce(F.col(column) if isinstance(column, str) else column, F.lit(_UNKNOWN_TIME))


def _same_values(columns: list[str], left: str = "i", right: str = "c") -> Column:
    same = F.lit(True)
    for column in columns:
        same = same & F.col(f"{left}.{column}").eqNullSafe(F.col(f"{right}.{column}"))
    return same


def launch_changes(incoming: DataFrame, current: DataFrame, compared: list[str]) -> DataFrame:
    """Per incoming launch: `change` (insert | update | unchanged | kept_newer) and the years of its
    current and incoming rows (the partitions a rewrite touches). `compared`: the columns whose
    difference makes an update (the contract's, `ingested_at` included)."""
    joined = incoming.alias("i").join(current.alias("c"), F.col(f"i.{KEY}") == F.col(f"c.{KEY}"), "left")
    change = (
        F.when(F.col(f"c.{KEY}").isNull(), F.lit(INSERT))
        .when(precedence("i.ingested_at") < precedence("c.ingested_at"), F.lit(KEPT_NEWER))
        .when(_same_values(compared), F.lit(UNCHANGED))
        .otherwise(F.lit(UPDATE))
    )
    return joined.select(
        F.col(f"i.{KEY}").alias(KEY),
        change.alias("change"),
        F.year("c.date_utc").alias("current_year"),
        F.year("i.date_utc").alias("incoming_year"),
    )


def slot_set_changes(
    incoming_slots: DataFrame,
    incoming_launches: DataFrame,
    current_slots: DataFrame,
    current_launches: DataFrame,
    compared: list[str],
) -> DataFrame:
    """Per incoming launch: the `change` of its whole set of core slots and the years of its current
    and incoming slots. `incoming_launches`/`current_launches` give each launch's snapshot time
    (launch_id, ingested_at, date_utc); `compared`: the slot columns whose difference makes an update."""
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
        F.max(precedence("c.ingested_at")).alias("held_slots_time"),
        F.max(F.year("c.date_utc")).alias("current_year"),
    )
    launch_times = current_launches.select(KEY, precedence("ingested_at").alias("held_launch_time"))
    joined = (
        incoming_launches.select(KEY, "ingested_at", "date_utc")
        .join(slot_sets, KEY, "left")
        .join(launch_times, KEY, "left")
    )
    held_time = F.greatest(
        F.coalesce("held_slots_time", F.lit(_UNKNOWN_TIME)),
        F.coalesce("held_launch_time", F.lit(_UNKNOWN_TIME)),
    )
    change = (
        F.when(precedence("ingested_at") < held_time, F.lit(KEPT_NEWER))
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
    current: DataFrame, incoming: DataFrame, changes: DataFrame, years: list[int]
) -> DataFrame:
    """What the table's rows in `years` become: the rows held there, less those of changed launches,
    plus the incoming rows of changed launches. `current` and `incoming` share the table's columns."""
    changed = changes.filter(F.col("change").isin(*CHANGED)).select(KEY)
    kept = current.filter(F.year("date_utc").isin(years)).join(changed, KEY, "left_anti")
    replacing = incoming.join(changed, KEY, "left_semi")
    return kept.unionByName(replacing)


def change_summary(changes: DataFrame) -> tuple[dict[str, int], list[int]]:
    """(launches per change, sorted years a rewrite touches), in one small aggregation."""
    rows = (
        changes.groupBy("change")
        .agg(
            F.count(F.lit(1)).alias("launches"),
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
    counts = dict.fromkeys(CHANGES, 0)
    years: set[int] = set()
    for row in rows:
        counts[row["change"]] = row["launches"]
        years.update(row["years"] or [])
    return counts, sorted(years)
