"""SIGTERM to the job's process group (what Airflow signals: make, spark-submit's JVM and the Python
driver it runs) in the middle of the lake commit: the run report says `cancelled`, which phase was
stopped and exit code 143; every lake table is at its old or its new snapshot; the next run succeeds."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from support.jobs import spark_submit
from support.lake import assert_warehouse_mirrors_lake, core, hid, lake_rows, launch, raw_file
from support.paths import REPO, SAMPLE_DIR

pytestmark = pytest.mark.integration


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def lake_state(spark, lake: Path) -> dict[str, set[tuple]]:
    return {table: lake_rows(spark, lake, table) for table in ("launches", "launch_cores")}


def test_sigterm_mid_commit_cancels_cleanly_and_the_next_run_finishes(spark, tmp_path):
    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    first = spark_submit(
        "--input", str(SAMPLE_DIR), "--lake", str(lake), "--warehouse", str(warehouse), "--run-id", "first"
    )
    assert first.returncode == 0, first.stderr[-3000:]
    old = lake_state(spark, lake)
    newer = raw_file(
        tmp_path / "raw",
        "20240105T060000",
        [launch(hid(f"NEW{i}"), "2022-01-01T00:00:00Z", [core("C9")]) for i in range(3)],
    )

    command = [
        "make",
        "--no-print-directory",
        "-o",
        ".venv/.installed",
        "job",
        "CDS=",
        f"INPUT={newer}",
        "CORES_INPUT=",
        f"LAKE={lake}",
        f"WAREHOUSE={warehouse}",
        "JOB_ARGS=--run-id cancelled",
    ]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    printed = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                printed.append(lines.get(timeout=1))
            except queue.Empty:
                assert process.poll() is None, "".join(printed)[-3000:]
                continue
            if printed[-1].rstrip().endswith(" commit ..."):
                break
        else:
            pytest.fail("the job never reached its commit phase:\n" + "".join(printed)[-3000:])
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=120)
        stop = time.monotonic() + 120  # the Python driver may outlive the JVM: it writes the report
        while group_alive(process.pid) and time.monotonic() < stop:
            time.sleep(0.2)
        assert not group_alive(process.pid)
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)

    assert process.returncode == -signal.SIGTERM  # make ends by the signal it got
    report = json.loads((lake / "_reports" / "cancelled.json").read_text())
    assert (report["status"], report["exit_code"], report["phase"]) == ("cancelled", 143, "commit")
    assert report["error"].startswith("stopped by SIGTERM: the commit phase was stopped")

    # The next run (same input) succeeds; each table was left at its old snapshot or at this new one.
    after_cancel = lake_state(spark, lake)
    final = spark_submit(
        "--input", str(newer), "--lake", str(lake), "--warehouse", str(warehouse), "--run-id", "next"
    )
    assert final.returncode == 0, final.stdout[-3000:]
    new = lake_state(spark, lake)
    assert hid("NEW0") in {row[0] for row in new["launches"]}
    for table, rows in after_cancel.items():
        assert rows in (old[table], new[table]), table
    next_report = json.loads((lake / "_reports" / "next.json").read_text())
    assert (next_report["status"], next_report["exit_code"]) == ("succeeded", 0)
    assert_warehouse_mirrors_lake(spark, lake, warehouse)
