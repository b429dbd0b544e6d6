"""The job's exit codes (docs/running.md "Exit codes"): each failure class maps to its documented code, and a
signal to 128 + its number. Code 4 needs two runs losing every commit retry, too slow to provoke in a test:
its mapping is checked here."""

from __future__ import annotations

import signal
import subprocess
import sys

from spacex_launches.exceptions import Cancelled, CommitConflict, LakeError, WarehouseError, meaning
from spacex_launches.job.errors import describe


def test_each_failure_class_has_its_code():
    lost = describe(
        CommitConflict("lake.spacex.launches: 5 commits in a row lost to concurrent runs"), "lake"
    )
    assert (lost.exit_code, lost.message) == (
        4,
        "lake.spacex.launches: 5 commits in a row lost to concurrent runs",
    )
    assert describe(WarehouseError("w.duckdb: locked"), "lake").exit_code == 3
    assert describe(LakeError("damaged"), "lake").exit_code == 2
    assert describe(ValueError("boom"), "lake").exit_code == 1


def test_an_unreachable_s3_lake_is_bad_configuration_naming_endpoint_and_bucket():
    failure = describe(
        RuntimeError(
            "java.nio.file.AccessDeniedException? no: Caused by: java.net.ConnectException: Connection refused"
        ),
        "s3a://my-lake/spacex",
        "http://127.0.0.1:9",
    )
    assert failure.exit_code == 2
    assert "S3 endpoint http://127.0.0.1:9 could not be reached for bucket my-lake" in failure.message
    assert "ConnectException: Connection refused" in failure.message


def test_signals_are_128_plus_their_number_and_make_prints_the_meaning():
    assert Cancelled(signal.SIGTERM).exit_code == 143 and Cancelled(signal.SIGINT).exit_code == 130
    assert meaning(143) == "cancelled by SIGTERM"
    printed = subprocess.run(
        [sys.executable, "-m", "spacex_launches.exceptions", "4"], capture_output=True, text=True, check=True
    )
    assert printed.stderr.strip() == (
        "the job exited with code 4 (a lake commit lost to concurrent runs every time: re-run)"
    )
