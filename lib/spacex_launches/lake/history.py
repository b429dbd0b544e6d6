"""How a launch's core slots changed across the lake's Iceberg snapshots: an audit of corrections.

Iceberg's changelog of `launch_cores` (every commit's inserted, deleted and updated rows, keyed by
launch and slot) joined with the table's snapshots (when, which run). Each row of a slot names the raw
file and the snapshot time it came from, so a correction reads as: when it landed, from which file,
the old and the new core. A commit that only moved a slot to a later snapshot with the same values is
a refresh, left out unless asked for. Snapshots that maintenance expires have their changelog archived
first (maintenance.py), so history reaches back to the table's first commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyspark.sql import Row
from pyspark.sql import functions as F

from spacex_launches import contract
from spacex_launches.lake.tables import RUN_ID_PROPERTY, Lakehouse

SLOT_KEY = ("launch_id", "core_position")
# What a change is about: the contract's slot columns (the launch's date repeated on every slot aside).
DESCRIBED = [
    name
    for name in contract.column_names("launch_cores")
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


HISTORY_TABLE = "launch_cores_history"  # the archived changelog of expired snapshots (maintenance.py)
ARCHIVED_THROUGH = "spacex.archived-through"  # its property: the snapshot the archive reaches
CHANGE_COLUMNS = ["_change_type", "_change_ordinal", "_commit_snapshot_id", "committed_at", "committed_by"]


def changelog(lake: Lakehouse, after_snapshot: int | None = None):
    """launch_cores' live changelog (of the snapshots after `after_snapshot`, exclusive), each row with
    its commit's time and run: the rows the archive keeps, in its columns."""
    spark = lake.spark
    options = f", options => map('start-snapshot-id', '{int(after_snapshot)}')" if after_snapshot else ""
    view = spark.sql(
        f"CALL {lake.settings.name}.system.create_changelog_view("
        f"table => '{lake.settings.database}.launch_cores', "
        f"changelog_view => 'spacex_launch_cores_changelog'{options}, "
        "identifier_columns => array('launch_id', 'core_position'), compute_updates => true)"
    ).collect()[0][0]
    snapshots = spark.table(f"{lake.name('launch_cores')}.snapshots").select(
        F.col("snapshot_id").alias("_commit_snapshot_id"),
        "committed_at",
        F.col("summary")[RUN_ID_PROPERTY].alias("committed_by"),
    )
    return spark.table(view).join(snapshots, "_commit_snapshot_id", "left")


def archived_through(lake: Lakehouse) -> int | None:
    """The launch_cores snapshot the archive reaches (its changelog and every earlier one's are in it)."""
    if not lake.spark.catalog.tableExists(lake.name(HISTORY_TABLE)):
        return None
    for row in lake.spark.sql(f"SHOW TBLPROPERTIES {lake.name(HISTORY_TABLE)}").collect():
        if row[0] == ARCHIVED_THROUGH:
            return int(row[1])
    return None


def slot_changes(lake: Lakehouse, launch_id: str, refreshes: bool = False) -> list[SlotChange]:
    """The changes of `launch_id`'s core slots, oldest first: the archive (snapshots maintenance
    expired) and then the live changelog of the snapshots after it."""
    through = archived_through(lake)
    current = lake.snapshot("launch_cores").snapshot_id
    rows: list[Row] = []
    if through is not None:
        rows += lake.spark.table(lake.name(HISTORY_TABLE)).filter(F.col("launch_id") == launch_id).collect()
    if current and current != through:
        rows += changelog(lake, through).filter(F.col("launch_id") == launch_id).collect()
    records = sorted(
        (row.asDict() for row in rows),
        key=lambda row: (
            row["committed_at"],
            row["_commit_snapshot_id"],
            row["core_position"],
            row["_change_type"] == "UPDATE_AFTER",
        ),
    )
    pending_before: dict[tuple, dict] = {}
    changes = []
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    for row in records:
        key = (row["_commit_snapshot_id"], row["core_position"])
        kind = row["_change_type"]
        if kind == "UPDATE_BEFORE":
            pending_before[key] = row
            continue
        before = pending_before.pop(key, None) if kind == "UPDATE_AFTER" else None
        if kind == "INSERT":
            change, old, new = "added", None, row
        elif kind == "DELETE":
            change, old, new = "removed", row, None
        else:  # UPDATE_AFTER: its UPDATE_BEFORE sorts just before it (compute_updates pairs them)
            assert before is not None, key
            same = before["core_id"] == row["core_id"] and not _differences(before, row)
            change, old, new = ("refreshed" if same else "changed"), before, row
        if change == "refreshed" and not refreshes:
            continue
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
                source_file=row["source_file"],  # the new row's, or the removed one's
                snapshot_time=row["ingested_at"],
            )
        )
    return changes
