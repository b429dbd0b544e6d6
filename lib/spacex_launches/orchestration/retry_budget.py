"""The retry budget of the Spark job on EMR on EKS, in one place: which failures are retried, by whom, and
how many driver runs one run date can take. docs/operating-on-aws.md "Retry budget" shows the same table.

EMR's retry policy restarts a failed driver whatever the reason (it cannot tell a refused input from a
lost node), and AWS aims it at long-running streaming jobs. So EMR retries nothing (EMR_MAX_ATTEMPTS) and
the DAG's EMR task decides per failure class: a class that is not retried fails the task for good
(AirflowFailException), a retried one uses one of the task's Airflow retries. A date's driver runs are at
most max_driver_runs(retries).

The class comes from the job's exit code, read in this order: the run report's `exit_code`
(<lake>/_reports/<run_id>.json); a report without one (written before it had the field): its error, the
way errors.describe words each class; no report: the exit code in EMR's state details, else the driver's
`error:` line (a configuration refused before the run started); else the driver never finished (LOST).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from spacex_launches.common.settings import Settings
from spacex_launches.exceptions import EXIT_BUG, EXIT_CONFLICT, EXIT_INPUT, EXIT_WAREHOUSE, ConfigError

EMR_MAX_ATTEMPTS = 1  # retryPolicyConfiguration.maxAttempts: one driver per job run


@dataclass(frozen=True)
class FailureClass:
    name: str
    exit_code: int | None  # the job's exit code; None: the job did not decide (it never finished)
    retried: bool
    meaning: str


BUG = FailureClass("bug", EXIT_BUG, False, "a bug: the same code fails the same way again")
REFUSED = FailureClass(
    "refused", EXIT_INPUT, False, "input, configuration or lake refused: it needs a fix, not a retry"
)
WAREHOUSE = FailureClass(
    "warehouse", EXIT_WAREHOUSE, True, "warehouse outage: the lake is committed, the next run loads it"
)
CONFLICT = FailureClass(
    "conflict", EXIT_CONFLICT, True, "a lake commit lost to concurrent runs: a re-run reads afresh"
)
LOST = FailureClass(
    "lost",
    None,
    True,
    "the driver never finished: its pod or node was lost, capacity never came, or AWS throttled the calls",
)
FAILURE_CLASSES = (BUG, REFUSED, WAREHOUSE, CONFLICT, LOST)
BY_EXIT_CODE = {failure.exit_code: failure for failure in FAILURE_CLASSES if failure.exit_code is not None}

# How errors.describe words the classes (read only from a report without exit_code).
_BUG_WORDS = ("unexpected failure (a bug",)
_CONFLICT_WORDS = ("lost to concurrent runs",)
_WAREHOUSE_WORDS = (
    ": cannot connect",
    "load failed, target unchanged",
    "preparing the tables failed",
    "preparing staging failed",
    "no database user",
    "counting rows failed",
)
_EXIT_CODE_IN_DETAILS = re.compile(r"exit code (\d+)")
# AWS API errors at submit or poll that a later try gets past.
THROTTLING_CODES = (
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
)


@dataclass(frozen=True)
class Verdict:
    failure: FailureClass
    evidence: str  # where the class was read

    def describe(self) -> str:
        who = "retried by Airflow" if self.failure.retried else "not retried"
        code = f"exit {self.failure.exit_code}, " if self.failure.exit_code is not None else ""
        return f"failure class {self.failure.name} ({code}{self.evidence}): {self.failure.meaning}; {who}"


def emr_max_attempts(config: Settings) -> int:
    """EMR's driver attempts: EMR_MAX_ATTEMPTS; a conf emr.max_attempts asking for more is refused,
    since EMR would retry refused input and bugs too."""
    wanted = config.emr.max_attempts
    if wanted is not None and int(wanted) != EMR_MAX_ATTEMPTS:
        raise ConfigError(
            f"emr.max_attempts: {wanted}: EMR's retry policy restarts every failed driver, refused input "
            f"and bugs included; it must be {EMR_MAX_ATTEMPTS} (retries are Airflow's, by failure class: "
            'docs/operating-on-aws.md "Retry budget")'
        )
    return EMR_MAX_ATTEMPTS


def max_driver_runs(task_retries: int) -> int:
    """The most driver runs one run date's DAG run can start: each Airflow try starts one job run."""
    return (1 + task_retries) * EMR_MAX_ATTEMPTS


def classify_exit_code(code: int, evidence: str) -> Verdict:
    return Verdict(BY_EXIT_CODE.get(code, BUG), evidence)


def classify_report_error(error: str) -> FailureClass:
    """A report's error, as errors.describe words it: every failure it does not word as a bug, a lost
    commit or a warehouse failure is a refusal (exit 2)."""
    if any(words in error for words in _BUG_WORDS):
        return BUG
    if any(words in error for words in _CONFLICT_WORDS):
        return CONFLICT
    if any(words in error for words in _WAREHOUSE_WORDS):
        return WAREHOUSE
    return REFUSED


def classify_run(job_run: dict[str, Any], report: dict[str, Any] | None, driver_lines: list[str]) -> Verdict:
    """The failure class of a job run that ended FAILED or CANCELLED (see the module's docstring)."""
    if report is not None and report.get("status") == "failed":
        code = report.get("exit_code")
        if isinstance(code, int) and not isinstance(code, bool):
            return classify_exit_code(code, f"run report exit_code {code}")
        return Verdict(classify_report_error(str(report.get("error") or "")), "run report error")
    if report is None:
        details = f"{job_run.get('stateDetails') or ''}"
        if job_run.get("state") == "FAILED" and (found := _EXIT_CODE_IN_DETAILS.search(details)):
            return classify_exit_code(int(found.group(1)), f"EMR state details: exit code {found.group(1)}")
        if any(line.startswith("error: ") for line in driver_lines):
            return Verdict(REFUSED, "driver log: refused before the run started")
    return Verdict(
        LOST, f"job run {job_run.get('state')}, {'no' if report is None else 'an unfinished'} run report"
    )


def retryable_api_error(code: str) -> bool:
    """An AWS API error code (StartJobRun, DescribeJobRun) worth another try: throttling, a service error."""
    return code in THROTTLING_CODES
