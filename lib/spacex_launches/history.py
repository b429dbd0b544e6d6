"""How a launch's core slots changed across the lake's Iceberg snapshots: an audit of corrections.

Iceberg's changelog of `launch_cores` (every commit's inserted, deleted and updated rows, keyed by
launch and slot) joined with the table's snapshots (when, which run). Each row of a slot names the raw
file and the snapshot time it came from, so a correction reads as: when it landed, from which file,
the old and the new core. A commit that only moved a slot to a later snapshot with the same values is
a refresh, left out unless asked for. History reaches back as far as the table's snapshots are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import functions as F

from spacex_launches import schemas
from spacex_launches.lakehouse import RUN_ID_PROPERTY, Lakehouse

SLOT_KEY = ("launch_id", "core_position")
# What a change is about: the contract's slot columns (the launch's date repeated on every slot aside).
DESCRIBED = [
    name
    for name in schemas.LAUNCH_CORES.fieldNames()
    if name not in (*SLOT_KEY, "core_id", "date_utc", "date_unix", "upcoming")
]


@dataclass(frozen=True)
class SlotChange:
    committed_at: datetime
    snapshot_id: int
    run_id: str | None
    core_position: int
    change: str  # added | removed | changed | refreshed
    old_core: str | None
    new_core: str | None
    other_changes: str  # "landing_success: None -> True, ..."
    source_file: str | None  # the raw file of the new row (of the old one for a removal)
    snapshot_time: datetime | None


def _differences(before: dict, after: dict) -> str:
    return ", ".join(
        f"{name}: {before.get(name)} -> {after.get(name)}"
        for name in DESCRIBED
        if before.get(name) != after.get(name)
    )


def slot_changes(lake: Lakehouse, launch_id: str, refreshes: bool = False) -> list[SlotChange]:
    """The changes of `launch_id`'s core slots, oldest first."""
    spark = lake.spark
    view = spark.sql(
        f"CALL {lake.settings.name}.system.create_changelog_view("
        f"table => '{lake.settings.database}.launch_cores', "
        "changelog_view => 'spacex_launch_cores_changelog', "
        "identifier_columns => array('launch_id', 'core_position'), compute_updates => true)"
    ).first()[0]
    snapshots = spark.table(f"{lake.name('launch_cores')}.snapshots").select(
        F.col("snapshot_id").alias("_commit_snapshot_id"),
        "committed_at",
        F.col("summary")[RUN_ID_PROPERTY].alias("committed_by"),
    )
    rows = [
        row.asDict()
        for row in spark.table(view)
        .filter(F.col("launch_id") == launch_id)
        .join(snapshots, "_commit_snapshot_id", "left")
        .orderBy("_change_ordinal", "core_position", F.col("_change_type") == "UPDATE_AFTER")
        .collect()
    ]
    pending_before: dict[tuple, dict] = {}
    changes = []
    for row in rows:
        key = (row["_change_ordinal"], row["core_position"])
        kind = row["_change_type"]
        if kind == "UPDATE_BEFORE":
            pending_before[key] = row
            continue
        before = pending_before.pop(key, None) if kind == "UPDATE_AFTER" else None
        if kind == "INSERT":
            change, old, new = "added", None, row
        elif kind == "DELETE":
            change, old, new = "removed", row, None
        else:
            same = before["core_id"] == row["core_id"] and not _differences(before, row)
            change, old, new = ("refreshed" if same else "changed"), before, row
        if change == "refreshed" and not refreshes:
            continue
        origin = new or old
        changes.append(
            SlotChange(
                committed_at=row["committed_at"],
                snapshot_id=row["_commit_snapshot_id"],
                run_id=row["committed_by"],
                core_position=row["core_position"],
                change=change,
                old_core=old["core_id"] if old else None,
                new_core=new["core_id"] if new else None,
                other_changes=_differences(old, new) if old and new else "",
                source_file=origin["source_file"],
                snapshot_time=origin["ingested_at"],
            )
        )
    return changes
