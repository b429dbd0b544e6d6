"""Every failure the project raises on purpose, and the exit code each one ends a job with.

A leaf: it imports nothing of ours, so every layer can raise and catch these without importing another layer.
One base (`SpacexError`), one subclass per layer, the exit code on the class. What a code means to its user is
in EXIT_MEANINGS (docs/running.md "Exit codes"); `spacex_launches.job.errors` turns any exception, ours or the
JVM's, into the paragraph and code a run ends with. `python -m spacex_launches.exceptions N` prints what code
N means.

| exit | meaning |
| --- | --- |
| 0 | success, or nothing to do |
| 1 | a bug: the paragraph names the log file with the trace |
| 2 | bad input, configuration or lake (nothing of the run committed where it says so) |
| 3 | the warehouse load failed (the lake is committed; the next run loads it) |
| 4 | a lake commit lost to concurrent runs every time (re-run) |
| 130 / 143 | cancelled by SIGINT / SIGTERM (128 + the signal): the report says which phase was stopped |
"""

from __future__ import annotations

import re
import signal
import sys
from typing import Any

EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_WAREHOUSE, EXIT_CONFLICT = 0, 1, 2, 3, 4
EXIT_MEANINGS = {
    EXIT_OK: "success, or nothing to do",
    EXIT_BUG: "a bug: the message names the log file with the trace",
    EXIT_INPUT: "bad input, configuration or lake",
    EXIT_WAREHOUSE: "the warehouse load failed: the lake is committed, the next run loads it",
    EXIT_CONFLICT: "a lake commit lost to concurrent runs every time: re-run",
}


def meaning(code: int) -> str:
    """What exit code `code` of a job says."""
    if code in EXIT_MEANINGS:
        return EXIT_MEANINGS[code]
    if code > 128 and code - 128 in signal.valid_signals():
        return f"cancelled by {signal.Signals(code - 128).name}"
    return "not one of the job's codes: spark-submit or the JVM failed before the job ran"


def first_line(exc: BaseException) -> str:
    """An exception's first line: for a JVM error its cause, without a page of stack trace."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def root_cause(exc: BaseException) -> str:
    """The innermost cause a JVM error reports (`Caused by: X: message`), else its first line."""
    causes = re.findall(
        r"^Caused by: (?:[\w.$]+\.)?([\w$]+(?:Exception|Error)): (.*)$", str(exc), re.MULTILINE
    )
    if causes:
        name, message = causes[-1]
        return f"{name}: {message.strip()}"
    return first_line(exc)


class SpacexError(Exception):
    """A failure the project raises on purpose; its message says what, where and what to do."""

    exit_code = EXIT_BUG


class Cancelled(BaseException):
    """SIGTERM or SIGINT asked the run to stop. A BaseException, so that no `except Exception` on the
    way up takes it for a failure of the step it interrupted."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 143 for SIGTERM, 130 for SIGINT


# -- shared core -------------------------------------------------------------------------------------
class ConfigError(SpacexError, ValueError):
    """A configuration file or value is missing or malformed."""

    exit_code = EXIT_INPUT


class SecretError(SpacexError, RuntimeError):
    """The secret cannot be read or is malformed. Messages name the secret, never its content."""

    exit_code = EXIT_INPUT


# -- ingest ------------------------------------------------------------------------------------------
class IngestError(SpacexError, RuntimeError):
    """The endpoint could not be fetched (after every retry); nothing was written."""

    exit_code = EXIT_INPUT


class PayloadRefused(IngestError):
    """The response is not a usable launches array, or is over a size limit; nothing was written."""


# -- the Spark job -----------------------------------------------------------------------------------
class InputFileError(SpacexError, ValueError):
    """A whole input file cannot be used; the message names it and says why."""

    exit_code = EXIT_INPUT


class NoInputFiles(InputFileError):
    """An input path holds no data files at all (or does not exist)."""


# -- the lake ----------------------------------------------------------------------------------------
class LakeError(SpacexError, RuntimeError):
    """The validated zone cannot be used as it is (an old layout, an unreadable table)."""

    exit_code = EXIT_INPUT


class CommitConflict(SpacexError, RuntimeError):
    """Concurrent runs kept committing to the same table: this run's commit lost every retry."""

    exit_code = EXIT_CONFLICT


# -- the warehouse -----------------------------------------------------------------------------------
class WarehouseError(SpacexError, RuntimeError):
    """Loading or querying the warehouse failed; the target tables are unchanged."""

    exit_code = EXIT_WAREHOUSE


class WarehouseCheckFailed(SpacexError, RuntimeError):
    """One or more warehouse checks failed; the message lists each."""

    exit_code = EXIT_WAREHOUSE


# -- orchestration -----------------------------------------------------------------------------------
class EmrRequestError(SpacexError, ValueError):
    """The StartJobRun request is not what the API accepts (an unknown Spark key is a ConfigError)."""

    exit_code = EXIT_INPUT


class JobRunFailed(SpacexError, RuntimeError):
    """The job run ended FAILED or CANCELLED; `job_run` is its last description."""

    def __init__(self, message: str, job_run: dict[str, Any]):
        super().__init__(message)
        self.job_run = job_run


class RunInFlightElsewhere(SpacexError, RuntimeError):
    """A run for this date is in flight under another request (other artifacts or settings): not
    starting a second one."""

    exit_code = EXIT_INPUT


if __name__ == "__main__":
    exit_code = int(sys.argv[1])
    print(f"the job exited with code {exit_code} ({meaning(exit_code)})", file=sys.stderr)
