"""The retry budget: one table of failure classes, read from the run report, EMR's state or the driver log."""

from __future__ import annotations

import dataclasses

import pytest

from spacex_launches.common.settings import load_settings
from spacex_launches.exceptions import (
    CommitConflict,
    ConfigError,
    InputFileError,
    LakeError,
    SpacexError,
    WarehouseError,
)
from spacex_launches.orchestration.emr_request import build_job_run_request
from spacex_launches.orchestration.retry_budget import (
    BUG,
    CONFLICT,
    FAILURE_CLASSES,
    LOST,
    REFUSED,
    WAREHOUSE,
    classify_run,
    max_driver_runs,
)

FAILED = {"id": "j1", "state": "FAILED", "failureReason": "USER_ERROR", "stateDetails": "Jobrun failed."}


def test_the_exit_codes_are_the_jobs_and_only_outages_and_lost_drivers_are_retried():
    # Each class's code is the one the job's own failures carry.
    assert REFUSED.exit_code == ConfigError.exit_code == InputFileError.exit_code == LakeError.exit_code
    assert (WAREHOUSE.exit_code, CONFLICT.exit_code) == (WarehouseError.exit_code, CommitConflict.exit_code)
    assert BUG.exit_code == SpacexError.exit_code and LOST.exit_code is None
    assert {failure.name: failure.retried for failure in FAILURE_CLASSES} == {
        "bug": False,
        "refused": False,
        "warehouse": True,
        "conflict": True,
        "lost": True,
    }


@pytest.mark.parametrize(
    ("job_run", "report", "lines", "expected", "evidence"),
    [
        (FAILED, {"status": "failed", "exit_code": 2, "error": "x"}, [], REFUSED, "run report exit_code 2"),
        (FAILED, {"status": "failed", "exit_code": 3, "error": "x"}, [], WAREHOUSE, "run report exit_code 3"),
        (FAILED, {"status": "failed", "exit_code": 4}, [], CONFLICT, "run report exit_code 4"),
        (FAILED, {"status": "failed", "exit_code": 1}, [], BUG, "run report exit_code 1"),
        (FAILED, {"status": "failed", "exit_code": 9}, [], BUG, "run report exit_code 9"),
        # Reports written before exit_code: the error as errors.describe words it.
        (FAILED, {"status": "failed", "error": "PostgreSQL x: cannot connect: refused"}, [], WAREHOUSE,
         "run report error"),
        (FAILED, {"status": "failed", "error": "launches: 3 commits in a row lost to concurrent runs"}, [],
         CONFLICT, "run report error"),
        (FAILED, {"status": "failed", "error": "unexpected failure (a bug, please report it): X"}, [], BUG,
         "run report error"),
        (FAILED, {"status": "failed", "error": "input file s3://b/k: not JSON"}, [], REFUSED, "run report error"),
        # No report: EMR's state details, then the driver's `error:` line, else the driver never finished.
        ({**FAILED, "stateDetails": "Main Spark container terminated with errors (exit code 2)."}, None, [],
         REFUSED, "EMR state details: exit code 2"),
        (FAILED, None, ["error: secret 's' could not be read: ResourceNotFoundException"], REFUSED,
         "driver log: refused before the run started"),
        (FAILED, None, ["Killed"], LOST, "job run FAILED, no run report"),
        ({"id": "j1", "state": "CANCELLED"}, None, [], LOST, "job run CANCELLED, no run report"),
        (FAILED, {"status": "running"}, [], LOST, "job run FAILED, an unfinished run report"),
    ],
)  # fmt: skip
def test_a_failed_run_is_classified_from_the_best_evidence_there_is(
    job_run, report, lines, expected, evidence
):
    verdict = classify_run(job_run, report, lines)
    assert (verdict.failure, verdict.evidence) == (expected, evidence)
    assert ("retried by Airflow" in verdict.describe()) == expected.retried


def test_emr_retries_nothing_and_a_date_takes_at_most_retries_plus_one_driver_runs():
    for env in ("dev", "prod"):
        config = load_settings(env, environ={})
        assert build_job_run_request(config, date_(), version="a")["retryPolicyConfiguration"] == {
            "maxAttempts": 1
        }
        retries = config.airflow.retries
        assert max_driver_runs(retries) == retries + 1
    config = load_settings("dev", environ={})
    config = dataclasses.replace(config, emr=dataclasses.replace(config.emr, max_attempts=2))
    with pytest.raises(ConfigError, match=r"emr\.max_attempts: 2: EMR's retry policy restarts every failed"):
        build_job_run_request(config, date_(), version="a")


def date_():
    from datetime import date

    return date(2026, 11, 23)
