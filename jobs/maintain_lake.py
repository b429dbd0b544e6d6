"""spark-submit entry point: upkeep of the lake's Iceberg tables (spacex_launches.lake.maintenance).

    spark-submit jobs/maintain_lake.py [--env local] [--lake ROOT] [--warehouse TARGET] [--run-id ID]

Archives launch_cores' changelog, then per table: compacts small files, rewrites manifests, expires
snapshots older than maintenance.snapshot_retention_h (never the one the warehouse holds, nor a later
one), removes orphan files older than maintenance.orphan_window_h. Prints progress and a summary.

--run-id is the id the weekly DAG's job run carries (the EMR request appends it to every entry point's
arguments): it is printed, so a driver log says which run it is, and changes nothing else.

Exit codes (docs/running.md "Exit codes"): 0 done; 2 refused: bad configuration, a warehouse that cannot be
named, or a lake that cannot be used as it is (copied, moved, damaged), nothing changed; 1 a bug: the message
names the file with the trace. An Iceberg procedure commits each step on its own, so a failure leaves every
table at a consistent snapshot and the next run does what is left.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from datetime import UTC, datetime

from spacex_launches.common.paths import LakePaths
from spacex_launches.common.redact import redact_text
from spacex_launches.common.settings import load_settings
from spacex_launches.exceptions import (
    EXIT_BUG,
    EXIT_INPUT,
    ConfigError,
    LakeError,
    WarehouseError,
    root_cause,
)
from spacex_launches.job.errors import write_trace
from spacex_launches.job.session import build_session
from spacex_launches.lake.catalog import CatalogSettings, catalog_conf
from spacex_launches.lake.maintenance import MaintenanceSettings, maintain, tree_size
from spacex_launches.lake.tables import Lakehouse
from spacex_launches.warehouse import loader_for

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def run_id_arg(value: str) -> str:
    """A run id as launches_etl.py takes it: it may name a trace file, so no path characters."""
    if not RUN_ID.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r}: a run id is 1-128 characters of letters, digits and . _ : - (it names files)"
        )
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="local", help="conf/<env>.yaml to use (local, dev, prod)")
    parser.add_argument("--lake", help="lake root (default: the config's)")
    parser.add_argument("--warehouse", help="the warehouse whose loaded snapshots are kept (default: config)")
    parser.add_argument("--run-id", type=run_id_arg, help="the DAG's job run id: printed, nothing else")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    run_id = args.run_id or datetime.now(UTC).strftime("maintain-%Y%m%dT%H%M%SZ")
    print(f"lake maintenance, run {run_id}", flush=True)
    try:
        config = load_settings(args.env)
        settings = MaintenanceSettings.from_config(config)
        loader = loader_for(args.warehouse, config)
        lake = LakePaths.at(args.lake or config.required.lake)
        catalog = CatalogSettings.from_config(config, lake.root)
        files_before = tree_size(lake.validated) if "://" not in lake.root else None
        spark = build_session(config, app_name="spacex-lake-maintenance", extra_conf=catalog_conf(catalog))
    except (ConfigError, WarehouseError) as exc:
        print(f"error: {redact_text(str(exc))}", file=sys.stderr)
        return EXIT_INPUT
    try:
        outcomes = maintain(Lakehouse(spark, catalog), settings, loader)
    except LakeError as exc:
        print(f"error: {redact_text(str(exc))}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:  # a bug: one paragraph here, the trace in a file
        where = write_trace(exc, run_id, None if "://" in lake.root else f"{lake.root}/_reports")
        print(
            redact_text(
                f"error: unexpected failure (a bug, please report it): {root_cause(exc)} "
                f"(the trace is in {where})"
            ),
            file=sys.stderr,
        )
        return EXIT_BUG
    finally:
        spark.stop()
    total = {
        key: sum(int(outcome.get(key, 0)) for outcome in outcomes)
        for key in ("snapshots_expired", "files_compacted", "orphans_removed", "data_files_deleted")
    }
    print(
        "maintenance done: " + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in total.items())
    )
    if files_before is not None:
        after = tree_size(lake.validated)
        print(
            f"  validated/ {files_before[0]} files, {files_before[1]:,} bytes -> {after[0]} files, {after[1]:,} bytes"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
