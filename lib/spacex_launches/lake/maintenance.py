"""Upkeep of the validated zone's Iceberg tables, and the way back from a damaged one.

`maintain` runs Iceberg's procedures on every lake table: compaction of small data files, manifest
rewrite, expiry of snapshots older than the retention (never the one the warehouse holds, nor a later
one: `spacex.lake_loads`), and removal of orphan files older than a safety window. Before anything
expires, the changelog of `launch_cores` is archived (append-only, once per snapshot) into
`launch_cores_history`, which history.py reads beside the live changelog: the correction audit survives.

`set_aside` moves a local lake's validated zone aside (never deleted) so `make rebuild` can rebuild it
from the raw zone.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from pyspark.sql import functions as F

from spacex_launches import contract
from spacex_launches.common.paths import local_path
from spacex_launches.common.settings import Settings
from spacex_launches.exceptions import ConfigError, first_line
from spacex_launches.lake import history
from spacex_launches.lake.tables import LAKE_TABLES, Lakehouse

log = logging.getLogger("spacex_launches")

SET_ASIDE = "_set_aside"


class LoadedSnapshots(Protocol):
    """What upkeep asks of a warehouse loader (warehouse.WarehouseLoader has it): the lake sits below
    the warehouse, so it names the two calls it makes instead of importing the loader's type."""

    def describe(self) -> str: ...

    def query(self, sql: str) -> tuple[list[str], list[tuple]]: ...


def set_aside(lake_root: str, now: datetime | None = None) -> Path | None:
    """Move `<lake>/validated` to `<lake>/_set_aside/validated-<UTC time>`; None when there is none.
    Local lakes only: on S3 a move is a copy of every object (do it with the AWS CLI, then rebuild)."""
    root = local_path(lake_root)
    if root is None:
        raise ValueError(
            f"{lake_root}: set the validated zone aside on S3 with the AWS CLI (aws s3 mv --recursive "
            f"{lake_root}/validated {lake_root}/{SET_ASIDE}/validated-<time>), then run the job over the raw zone"
        )
    validated = root / "validated"
    if not validated.exists():
        return None
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = root / SET_ASIDE / f"validated-{stamp}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise FileExistsError(f"{target} exists already: wait a second and run again")
    shutil.move(str(validated), str(target))
    return target


@dataclass(frozen=True)
class MaintenanceSettings:
    """conf `maintenance:`: how long snapshots are kept, how old an unreferenced file must be before
    it counts as an orphan (longer than the longest run: a live run's files are not in a snapshot yet),
    and the compaction's minimum files per group."""

    snapshot_retention_h: float
    orphan_window_h: float
    compaction_min_files: int

    @classmethod
    def from_config(cls, config: Settings) -> MaintenanceSettings:
        maintenance = config.maintenance
        settings = cls(
            snapshot_retention_h=float(maintenance.snapshot_retention_h),
            orphan_window_h=float(maintenance.orphan_window_h),
            compaction_min_files=int(maintenance.compaction_min_files),
        )
        if settings.snapshot_retention_h < 0:
            raise ConfigError("maintenance.snapshot_retention_h must be 0 or more hours")
        if settings.orphan_window_h < MIN_ORPHAN_WINDOW_H:
            raise ConfigError(
                f"maintenance.orphan_window_h is {settings.orphan_window_h:g}: it must be at least "
                f"{MIN_ORPHAN_WINDOW_H} hours (Iceberg's own floor; and longer than the longest run, whose "
                "files are in no snapshot until it commits)"
            )
        if settings.compaction_min_files < 2:
            raise ConfigError("maintenance.compaction_min_files must be 2 or more")
        return settings


MIN_ORPHAN_WINDOW_H = 24


def archive_changelog(lake: Lakehouse) -> int:
    """Append launch_cores' changelog since the archive's end to launch_cores_history (once per
    snapshot: rows of a snapshot already archived are not added again), then move the archive's end
    to the current snapshot. Returns the rows added."""
    spark = lake.spark
    current = lake.snapshot("launch_cores").snapshot_id
    through = history.archived_through(lake)
    if not current or current == through:
        return 0
    rows = history.changelog(lake, through)
    columns = [*LAKE_TABLES["launch_cores"][0].fieldNames(), *history.CHANGE_COLUMNS]
    rows = rows.select(*columns)
    name = lake.name(history.HISTORY_TABLE)
    if spark.catalog.tableExists(name):
        archived = spark.table(name).select("_commit_snapshot_id").distinct()
        rows = rows.join(archived, "_commit_snapshot_id", "left_anti").select(*columns)
        added = rows.count()
        if added:
            rows.writeTo(name).append()
    else:
        added = rows.count()
        rows.writeTo(name).using("iceberg").tableProperty("format-version", "2").create()
    spark.sql(f"ALTER TABLE {name} SET TBLPROPERTIES ('{history.ARCHIVED_THROUGH}' = '{current}')")
    return added


def warehouse_holds(loader: LoadedSnapshots | None) -> dict[str, tuple[str, int]] | None:
    """(table uuid, snapshot id) the warehouse holds per table (spacex.lake_loads); None: no warehouse."""
    if loader is None:
        return None
    try:
        rows = loader.query(contract.lake_loads_query())[1]
    except Exception as exc:  # no lake_loads yet: the warehouse has loaded nothing
        log.info("warehouse %s: no lake_loads (%s): it holds no snapshot", loader.describe(), first_line(exc))
        return {}
    return {table: (str(table_uuid), int(snapshot_id)) for table, table_uuid, _, snapshot_id in rows}


def expiry_cutoff(
    lake: Lakehouse, table: str, retention_h: float, holds: dict[str, tuple[str, int]] | None, now: datetime
) -> tuple[datetime | None, str]:
    """The time before which `table`'s snapshots may expire, and why: the retention, moved back to the
    commit the warehouse holds (it and every later one stay). None: nothing may expire."""
    cutoff = now - timedelta(hours=retention_h)
    if holds is None or table not in contract.TABLES:
        return cutoff, f"retention {retention_h:g} h"
    snapshot = lake.snapshot(table)
    held = holds.get(table)
    if held is None or held[0] != snapshot.table_uuid:
        return None, "the warehouse has loaded none of its snapshots"
    found = (
        lake.spark.table(f"{lake.name(table)}.snapshots")
        .filter(F.col("snapshot_id") == held[1])
        .select("committed_at")
        .collect()
    )
    if not found:
        return None, f"the snapshot the warehouse holds ({held[1]}) is not in the table"
    loaded_at = found[0][0].replace(tzinfo=UTC) if found[0][0].tzinfo is None else found[0][0]
    if loaded_at < cutoff:
        return loaded_at, f"the warehouse holds snapshot {held[1]}: it and later ones stay"
    return cutoff, f"retention {retention_h:g} h"


def _call(lake: Lakehouse, procedure: str, arguments: str) -> dict[str, Any]:
    row = lake.spark.sql(f"CALL {lake.settings.name}.system.{procedure}({arguments})").collect()
    return row[0].asDict() if row else {}


def _timestamp(when: datetime) -> str:
    return f"TIMESTAMP '{when.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def orphan_arguments(warehouse: str) -> str:
    """remove_orphan_files' path options: on S3 the metadata may say s3:// where a listing says s3a://
    (one place, two spellings): equal, and any other mismatch stops it (ERROR, Iceberg's default)."""
    if warehouse.startswith(("s3://", "s3a://", "s3n://")):
        return ", equal_schemes => map('s3a,s3n', 's3'), prefix_mismatch_mode => 'ERROR'"
    return ""


def maintain_table(
    lake: Lakehouse, table: str, settings: MaintenanceSettings, holds, now: datetime
) -> dict[str, Any]:
    """Compact, rewrite manifests, expire, remove orphans: one table; returns what each step did."""
    name = f"{lake.settings.database}.{table}"
    outcome: dict[str, Any] = {"table": table}
    if not lake.snapshot(table).snapshot_id:
        return {**outcome, "skipped": "no snapshot yet"}
    compacted = _call(
        lake,
        "rewrite_data_files",
        f"table => '{name}', options => map('min-input-files', '{settings.compaction_min_files}')",
    )
    outcome["files_compacted"] = int(compacted.get("rewritten_data_files_count") or 0)
    outcome["files_written"] = int(compacted.get("added_data_files_count") or 0)
    manifests = _call(lake, "rewrite_manifests", f"table => '{name}'")
    outcome["manifests_rewritten"] = int(manifests.get("rewritten_manifests_count") or 0)
    cutoff, why = expiry_cutoff(lake, table, settings.snapshot_retention_h, holds, now)
    outcome["expiry"] = why
    before = lake.spark.table(f"{lake.name(table)}.snapshots").count()
    if cutoff is not None:
        expired = _call(
            lake,
            "expire_snapshots",
            f"table => '{name}', older_than => {_timestamp(cutoff)}, retain_last => 1",
        )
        outcome["data_files_deleted"] = int(expired.get("deleted_data_files_count") or 0)
    outcome["snapshots_expired"] = before - lake.spark.table(f"{lake.name(table)}.snapshots").count()
    window = now - timedelta(hours=settings.orphan_window_h)
    orphans = lake.spark.sql(
        f"CALL {lake.settings.name}.system.remove_orphan_files(table => '{name}', "
        f"older_than => {_timestamp(window)}{orphan_arguments(lake.settings.warehouse)})"
    ).collect()
    outcome["orphans_removed"] = len(orphans)
    return outcome


def maintain(
    lake: Lakehouse,
    settings: MaintenanceSettings,
    loader: LoadedSnapshots | None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every lake table's upkeep (the changelog archived before anything expires); prints progress."""
    now = now or datetime.now(UTC)
    lake.ensure_tables()  # also refuses a copied, moved or damaged lake before any write
    holds = warehouse_holds(loader)
    print(f"archiving launch_cores' changelog into {history.HISTORY_TABLE} ...", flush=True)
    archived = archive_changelog(lake)
    print(f"  {archived} changelog rows archived", flush=True)
    outcomes = []
    for table in [*LAKE_TABLES, history.HISTORY_TABLE]:
        if not lake.spark.catalog.tableExists(lake.name(table)):
            continue
        print(f"{table} ...", flush=True)
        outcome = maintain_table(lake, table, settings, holds, now)
        print(
            "  " + ", ".join(f"{key} {value}" for key, value in outcome.items() if key != "table"), flush=True
        )
        outcomes.append(outcome)
    return outcomes


def tree_size(path: str) -> tuple[int, int]:
    """(files, bytes) under a local directory ((0, 0) when it is absent or not local)."""
    files = size = 0
    for folder, _, names in os.walk(path):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(folder, name))
    return files, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="set a local lake's validated zone aside (make rebuild)")
    parser.add_argument("command", choices=["set-aside"])
    parser.add_argument("--lake", required=True)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        moved = set_aside(args.lake)
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if moved is None:
        print(f"{args.lake}/validated does not exist: nothing to set aside")
    else:
        print(
            f"set aside: {args.lake}/validated -> {moved} (kept; delete it yourself once the rebuild is checked)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
