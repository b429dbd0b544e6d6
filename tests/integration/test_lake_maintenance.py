"""`make maintain` on a lake with several correction runs: the correction audit (`make history`) prints
the same before and after, validated/ holds fewer files, the snapshot the warehouse holds and a later
one it has not loaded stay, and of two orphan files only the one older than the window goes."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from spacex_launches.lake.maintenance import tree_size
from support.lake import core, hid, lake_table, launch, query, raw_file, run_in_process
from support.paths import REPO

pytestmark = pytest.mark.integration


def make(*args: str) -> subprocess.CompletedProcess:
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def snapshot_ids(spark, lake: Path, table: str) -> set[int]:
    return {row.snapshot_id for row in lake_table(spark, lake, f"{table}.snapshots").collect()}


def test_maintenance_keeps_the_audit_and_what_the_warehouse_has_not_loaded(spark, tmp_path, conf_copy):
    settings = yaml.safe_load((conf_copy / "base.yaml").read_text())
    settings["maintenance"]["snapshot_retention_h"] = 0  # every snapshot is past its retention
    (conf_copy / "base.yaml").write_text(yaml.safe_dump(settings))
    lake, warehouse, raw = tmp_path / "lake", tmp_path / "w.duckdb", tmp_path / "raw"
    fh1 = hid("FH1")
    corrections = [
        [core("B1"), core("B2"), core("C1")],
        [core("B1"), core("B9", 2)],
        [core("B1"), core("B9", 2), core("C3")],
        [core("B7"), core("B9", 2), core("C3")],
        [core("B7"), core("B9", 3)],
    ]
    for day, cores in enumerate(corrections, start=1):
        source = raw_file(
            raw,
            f"202401{day:02d}T060000",
            [
                launch(fh1, "2020-03-01T20:45:00Z", cores),
                launch(hid(f"L{day}"), f"20{10 + day}-01-01T00:00:00Z", [core(f"S{day}")]),
            ],
        )
        last = day == len(corrections)  # the last run's snapshot is never loaded into the warehouse
        run_in_process(spark, [source], lake, None if last else warehouse, f"run-{day}")
    loaded = dict(query(warehouse, "SELECT table_name, snapshot_id FROM spacex.lake_loads"))
    unloaded = (
        lake_table(spark, lake, "launch_cores.snapshots").orderBy("committed_at").collect()[-1].snapshot_id
    )
    assert unloaded != loaded["launch_cores"]

    data = lake / "validated" / "spacex" / "launches" / "data"
    old_orphan, young_orphan = data / "orphan-old.parquet", data / "orphan-young.parquet"
    for orphan in (old_orphan, young_orphan):
        orphan.write_bytes(b"left by a run that died")
    four_days_ago = time.time() - 4 * 24 * 3600  # the window is 72 h (conf/base.yaml)
    os.utime(old_orphan, (four_days_ago, four_days_ago))

    before = make("history", f"LAUNCH={fh1}", f"LAKE={lake}")
    assert before.returncode == 0, before.stderr[-3000:]
    assert f"{hid('B2')} -> {hid('B9')}" in before.stdout and "(9 changes)" in before.stdout
    files_before = tree_size(str(lake / "validated"))
    snapshots_before = snapshot_ids(spark, lake, "launch_cores")

    maintained = make("maintain", f"LAKE={lake}", f"WAREHOUSE={warehouse}")

    assert maintained.returncode == 0, maintained.stdout[-3000:] + maintained.stderr[-3000:]
    print(maintained.stdout)
    assert "maintenance done:" in maintained.stdout
    after = make("history", f"LAUNCH={fh1}", f"LAKE={lake}")
    assert after.returncode == 0, after.stderr[-3000:]
    assert after.stdout == before.stdout  # the audit survives expiry
    snapshots_after = snapshot_ids(spark, lake, "launch_cores")
    assert len(snapshots_before - snapshots_after) >= 3  # the first runs' snapshots expired
    assert {loaded["launch_cores"], unloaded} <= snapshots_after  # the warehouse's and a later one stay
    assert loaded["launches"] in snapshot_ids(spark, lake, "launches")
    assert not old_orphan.exists() and young_orphan.exists()
    files_after = tree_size(str(lake / "validated"))
    assert files_after[0] < files_before[0], (files_before, files_after)
    print(f"validated/: {files_before} -> {files_after} (files, bytes)")
