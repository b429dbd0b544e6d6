"""spark-submit entry point: how a launch's core slots changed across the lake's snapshots.

    spark-submit jobs/launch_history.py --launch <launch id> [--env local] [--lake ROOT] [--all]

Exit codes: 0 history printed (possibly empty), 2 bad arguments or no such lake table.
"""

from __future__ import annotations

import argparse
import sys

from spacex_launches.analytics.answers import format_table
from spacex_launches.common.paths import LakePaths
from spacex_launches.common.settings import load_settings
from spacex_launches.exceptions import ConfigError
from spacex_launches.job.session import build_session
from spacex_launches.lake.catalog import CatalogSettings, catalog_conf
from spacex_launches.lake.history import slot_changes
from spacex_launches.lake.tables import Lakehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--launch", required=True, help="the launch id")
    parser.add_argument("--env", default="local", help="conf/<env>.yaml to use (local, dev, prod)")
    parser.add_argument("--lake", help="lake root (default: the config's)")
    parser.add_argument(
        "--all", action="store_true", help="also list refreshes (a later snapshot, same values)"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = load_settings(args.env)
        lake = LakePaths.at(args.lake or config.required.lake)
        catalog = CatalogSettings.from_config(config, lake.root)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    spark = build_session(config, app_name="spacex-launch-history", extra_conf=catalog_conf(catalog))
    try:
        lakehouse = Lakehouse(spark, catalog)
        if not spark.catalog.tableExists(lakehouse.name("launch_cores")):
            print(
                f"error: no table {lakehouse.name('launch_cores')} under {catalog.warehouse}", file=sys.stderr
            )
            return 2
        changes = slot_changes(lakehouse, args.launch, refreshes=args.all)
    finally:
        spark.stop()
    print(f"\nCore slots of launch {args.launch} across the snapshots of {catalog.table('launch_cores')}")
    columns = [
        "committed_at",
        "run",
        "slot",
        "change",
        "core",
        "also changed",
        "from raw file",
        "snapshot time",
    ]
    rows = [
        (
            change.committed_at,
            change.run_id,
            change.core_position,
            change.change,
            f"{change.old_core} -> {change.new_core}"
            if change.change in ("changed", "refreshed")
            else (change.new_core or change.old_core),
            change.other_changes,
            change.source_file,
            change.snapshot_time,
        )
        for change in changes
    ]
    print(format_table(columns, rows))
    print(f"({len(rows)} change{'s' if len(rows) != 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
