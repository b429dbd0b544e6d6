"""The job's exit code reaches its caller through `make job` (docs/running.md "Exit codes"): make itself can
only exit 0 or 2, so the recipe prints the job's code with its meaning and writes it to EXIT_CODE_FILE; the
run report carries it as `exit_code`. Each case also checks what the lake and the warehouse hold."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from integration.test_lakehouse import duckdb_held_by_another_process
from support.lake import core, hid, launch, query, raw_file
from support.paths import REPO, SAMPLE_DIR

pytestmark = pytest.mark.integration


def make_job(tmp_path: Path, run_id: str, *variables: str, env: dict[str, str] | None = None):
    """`make job` into tmp_path's lake and warehouse; returns (the result, the code in EXIT_CODE_FILE)."""
    code_file = tmp_path / f"{run_id}.code"
    command = [
        "make",
        "--no-print-directory",
        "-o",
        ".venv/.installed",
        "job",
        "CDS=",
        f"LAKE={tmp_path / 'lake'}",
        f"WAREHOUSE={tmp_path / 'w.duckdb'}",
        f"EXIT_CODE_FILE={code_file}",
        f"JOB_ARGS=--run-id {run_id}",
        *variables,
    ]
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}
    )
    return result, int(code_file.read_text())


def report(tmp_path: Path, run_id: str) -> dict:
    return json.loads((tmp_path / "lake" / "_reports" / f"{run_id}.json").read_text())


def test_success_is_0_and_a_locked_warehouse_is_3(tmp_path):
    first, code = make_job(tmp_path, "first", f"INPUT={SAMPLE_DIR}")
    assert (first.returncode, code) == (0, 0), first.stderr[-3000:]
    assert report(tmp_path, "first")["exit_code"] == 0
    assert report(tmp_path, "first")["status"] == "succeeded"
    assert query(tmp_path / "w.duckdb", "SELECT COUNT(*) FROM spacex.launches") == [(14,)]

    newer = raw_file(
        tmp_path / "raw", "20240105T060000", [launch(hid("NEW1"), "2022-01-01T00:00:00Z", [core("C9")])]
    )
    with duckdb_held_by_another_process(tmp_path / "w.duckdb"):
        locked, code = make_job(
            tmp_path, "locked", f"INPUT={newer}", "CORES_INPUT=", env={"SPACEX_WAREHOUSE_LOCK_TIMEOUT_S": "2"}
        )
    assert locked.returncode == 2  # GNU make's own code for any failed recipe
    assert code == 3, locked.stdout[-3000:]
    assert "the job exited with code 3 (the warehouse load failed" in locked.stderr
    assert "another process has held the file" in locked.stdout + locked.stderr
    written = report(tmp_path, "locked")
    assert (written["exit_code"], written["status"], written["phase"]) == (3, "failed", "warehouse_load")
    assert written["lake"]["launches"]["committed"] is True  # the lake has the launch ...
    assert written["lake"]["launches"]["launches"]["insert"] == 1
    new1 = f"SELECT COUNT(*) FROM spacex.launches WHERE launch_id = '{hid('NEW1')}'"
    assert query(tmp_path / "w.duckdb", new1) == [(0,)]  # ... the warehouse does not, and is whole
    assert query(tmp_path / "w.duckdb", "SELECT COUNT(*) FROM spacex.launches") == [(14,)]


def test_bad_input_is_2_and_touches_nothing(tmp_path):
    result, code = make_job(tmp_path, "bad", f"INPUT={tmp_path / 'no-such-input'}", "CORES_INPUT=")

    assert (result.returncode, code) == (2, 2), result.stdout[-3000:]
    assert "the job exited with code 2 (bad input, configuration or lake)" in result.stderr
    assert "no-such-input" in result.stdout + result.stderr
    written = report(tmp_path, "bad")
    assert (written["exit_code"], written["status"]) == (2, "failed")
    assert not (tmp_path / "w.duckdb").exists()
    assert not list((tmp_path / "lake").glob("validated/**/*.parquet"))
