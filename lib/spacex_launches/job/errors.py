"""What a failed run tells its user: one paragraph (what, where, what to do) and an exit code. A stack
trace goes to a log file the paragraph names, never to the terminal.

Our own failures carry their exit code (spacex_launches.exceptions, which has the table); here the
JVM's are told apart: a full disk, an unwritable lake, an unreachable S3 endpoint, else a bug.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

from spacex_launches.common.redact import redact_text
from spacex_launches.common.s3 import is_s3_uri, split_s3_uri
from spacex_launches.exceptions import EXIT_BUG, EXIT_INPUT, SpacexError, root_cause

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


def describe(exc: BaseException, lake: str, s3_endpoint: str | None = None) -> Failure:
    """The exit code and paragraph for an exception that ended a run on `lake` (S3 through
    `s3_endpoint`, None: AWS's own)."""
    if isinstance(exc, SpacexError):
        return Failure(exc.exit_code, redact_text(str(exc)))
    text = str(exc)
    if any(marker in text for marker in _NO_SPACE):
        return Failure(
            EXIT_INPUT,
            redact_text(
                f"no space left on the disk the lake ({lake}) or Spark's scratch space is on: free some and re-run. "
                "Every lake table is at its last committed snapshot (a half-written file is part of no table)."
            ),
        )
    if is_s3_uri(lake) and any(marker in text for marker in _UNREACHABLE):
        bucket, _ = split_s3_uri(lake)
        return Failure(
            EXIT_INPUT,
            redact_text(
                f"the lake's S3 endpoint {s3_endpoint or '(AWS default)'} could not be reached for bucket "
                f"{bucket}: {root_cause(exc)}. Check s3.endpoint_url (AWS_ENDPOINT_URL) and the network; "
                'S3A gives up within about a minute (docs/ingest.md "S3A bounds"). '
                "Every lake table is at its last committed snapshot."
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
