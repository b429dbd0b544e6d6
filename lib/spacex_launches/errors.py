"""What a failed run tells its user: one paragraph (what, where, what to do) and an exit code. A stack
trace goes to a log file the paragraph names, never to the terminal.

| exit | meaning |
| --- | --- |
| 0 | success, or nothing to do |
| 1 | a bug: the paragraph names the log file with the trace |
| 2 | bad input, configuration or lake (nothing of the run committed where it says so) |
| 3 | the warehouse load failed (the lake is committed; the next run loads it) |
| 4 | a lake commit lost to concurrent runs every time (re-run) |
| 130 / 143 | cancelled by SIGINT / SIGTERM (128 + the signal): the report says which phase was stopped |

`python -m spacex_launches.errors N` prints what code N means (the Makefile's recipes, after a job fails).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

from spacex_launches.common.redact import redact_text
from spacex_launches.common.settings import ConfigError
from spacex_launches.job.discovery import InputFileError
from spacex_launches.lake.catalog import CommitConflict, LakeError
from spacex_launches.warehouse import WarehouseError

EXIT_BUG, EXIT_INPUT, EXIT_WAREHOUSE, EXIT_CONFLICT = 1, 2, 3, 4
MEANINGS = {
    0: "success, or nothing to do",
    EXIT_BUG: "a bug: the message names the log file with the trace",
    EXIT_INPUT: "bad input, configuration or lake",
    EXIT_WAREHOUSE: "the warehouse load failed: the lake is committed, the next run loads it",
    EXIT_CONFLICT: "a lake commit lost to concurrent runs every time: re-run",
}


class Cancelled(BaseException):
    """SIGTERM or SIGINT asked the run to stop. A BaseException, so that no `except Exception` on the
    way up takes it for a failure of the step it interrupted."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 143 for SIGTERM, 130 for SIGINT


def meaning(code: int) -> str:
    """What exit code `code` of a job says (README "Exit codes")."""
    if code in MEANINGS:
        return MEANINGS[code]
    if code > 128 and code - 128 in signal.valid_signals():
        return f"cancelled by {signal.Signals(code - 128).name}"
    return "not one of the job's codes: spark-submit or the JVM failed before the job ran"


# Failures of the machine, not of the job, as the JVM words them.
_NO_SPACE = ("No space left on device", "Disk quota exceeded")
_NOT_WRITABLE = (
    "Permission denied",
    "Read-only file system",
    "Mkdirs failed to create",  # Hadoop's local file system on a read-only disk
    "AccessDeniedException",
    "Access Denied",
)
# An S3 endpoint that cannot be reached, as the AWS SDK (through S3A) words it.
_UNREACHABLE = (
    "Unable to execute HTTP request",
    "Connection refused",
    "UnknownHostException",
    "ConnectTimeoutException",
    "connect timed out",
)


@dataclass(frozen=True)
class Failure:
    exit_code: int
    message: str  # the paragraph, secrets masked
    bug: bool = False


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


def describe(exc: BaseException, lake: str, s3_endpoint: str | None = None) -> Failure:
    """The exit code and paragraph for an exception that ended a run on `lake` (S3 through
    `s3_endpoint`, None: AWS's own)."""
    if isinstance(exc, InputFileError | LakeError | ConfigError):
        return Failure(EXIT_INPUT, redact_text(str(exc)))
    if isinstance(exc, WarehouseError):
        return Failure(EXIT_WAREHOUSE, redact_text(str(exc)))
    if isinstance(exc, CommitConflict):
        return Failure(EXIT_CONFLICT, redact_text(str(exc)))
    text = str(exc)
    if any(marker in text for marker in _NO_SPACE):
        return Failure(
            EXIT_INPUT,
            redact_text(
                f"no space left on the disk the lake ({lake}) or Spark's scratch space is on: free some and re-run. "
                "Every lake table is at its last committed snapshot (a half-written file is part of no table)."
            ),
        )
    if lake.startswith(("s3://", "s3a://")) and any(marker in text for marker in _UNREACHABLE):
        bucket = lake.split("://", 1)[1].split("/", 1)[0]
        return Failure(
            EXIT_INPUT,
            redact_text(
                f"the lake's S3 endpoint {s3_endpoint or '(AWS default)'} could not be reached for bucket "
                f"{bucket}: {root_cause(exc)}. Check s3.endpoint_url (AWS_ENDPOINT_URL) and the network; "
                'S3A gives up within about a minute (README "S3A bounds"). Every lake table is at its last committed snapshot.'
            ),
        )
    if any(marker in text for marker in _NOT_WRITABLE):
        return Failure(
            EXIT_INPUT,
            redact_text(
                f"the lake ({lake}) cannot be written: {root_cause(exc)}. Give the job write access to it, or "
                "choose another --lake. Every lake table is at its last committed snapshot."
            ),
        )
    return Failure(
        EXIT_BUG, redact_text(f"unexpected failure (a bug, please report it): {root_cause(exc)}"), bug=True
    )


def write_trace(exc: BaseException, run_id: str, folder: str | None = None) -> str:
    """Write the exception's full trace (secrets masked) to `<folder>/<run_id>.log`, or the system's
    temporary folder when `folder` cannot take it; returns where it went."""
    text = redact_text("".join(traceback.format_exception(exc)))
    for candidate in (folder, os.path.join(tempfile.gettempdir(), "spacex-launches")):
        if not candidate:
            continue
        try:
            Path(candidate).mkdir(parents=True, exist_ok=True)
            path = Path(candidate) / f"{run_id}.log"
            path.write_text(text)
            return str(path)
        except OSError:
            continue
    return "(nowhere: no writable folder)"


if __name__ == "__main__":
    exit_code = int(sys.argv[1])
    print(f"the job exited with code {exit_code} ({meaning(exit_code)})", file=sys.stderr)
