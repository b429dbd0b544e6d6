"""Job runs on EMR on EKS: which request to send for a run date, following a run, and why it failed.

One run date may take several attempts. While an attempt is in flight, sending its request again (same
client token) returns that run: a duplicate submit or a retried Airflow task never starts a second one.
Once it ended FAILED or CANCELLED, the next attempt has a new token, so EMR starts a new run. Both
`make submit` (jobs/submit_emr.py) and the Airflow DAG's EMR task choose the request this way.

When a run fails, what a user needs is the service's reason and the end of the driver's log, read from
where the run's monitoringConfiguration sends it (S3, else CloudWatch Logs).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from spacex_launches.common.redact import redact_text
from spacex_launches.common.s3 import split_s3_uri
from spacex_launches.common.settings import Settings
from spacex_launches.exceptions import JobRunFailed, RunInFlightElsewhere
from spacex_launches.orchestration.emr_request import REQUEST_TAG, build_job_run_request, job_run_name

ACTIVE_STATES = ("PENDING", "SUBMITTED", "RUNNING")
TERMINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED")
FAILED_STATES = ("FAILED", "CANCELLED", "CANCEL_PENDING")
LOG_TAIL_LINES = 25  # per stream: the driver's stdout and stderr
MAINTENANCE_ENTRY_POINT = "maintain_lake.py"  # the lake's upkeep, shipped by jobs/package.py


@dataclass(frozen=True)
class NextRun:
    request: dict[str, Any]
    in_flight: dict[str, Any] | None  # the active run that `request` returns again, if there is one


def job_runs_named(client, virtual_cluster_id: str, name: str) -> list[dict[str, Any]]:
    """Every job run of the virtual cluster with exactly this name, oldest first."""
    pages = client.get_paginator("list_job_runs").paginate(virtualClusterId=virtual_cluster_id, name=name)
    runs = [run for page in pages for run in page.get("jobRuns", []) if run.get("name") == name]
    return sorted(runs, key=lambda run: str(run.get("createdAt", "")))


def attempt_of(job_run: dict[str, Any]) -> int:
    return int((job_run.get("tags") or {}).get("attempt", 0))


def request_for_next_run(
    client, config: Settings, run_date: date, version: str | None = None, **job: Any
) -> NextRun:
    """The request to send for `run_date`: the in-flight attempt's own request if one is active (same
    client token: EMR returns that run), else the request of the attempt after the last one (a new run).
    The token hashes the request, so a changed request (other artifacts, settings) while an attempt is
    in flight is refused, naming both. `job`: another entry point (emr.build_job_run_request)."""
    runs = job_runs_named(
        client, config.emr.required.virtual_cluster_id, job_run_name(config, run_date, job.get("job_name"))
    )
    active = [run for run in runs if run["state"] in ACTIVE_STATES]
    if active:
        in_flight = active[0]
        request = build_job_run_request(config, run_date, version, attempt_of(in_flight), **job)
        if request["clientToken"] != in_flight.get("clientToken"):
            raise RunInFlightElsewhere(in_flight_elsewhere(in_flight, request))
        return NextRun(request, in_flight)
    attempt = max((attempt_of(run) for run in runs), default=-1) + 1
    return NextRun(build_job_run_request(config, run_date, version, attempt, **job), None)


def maintenance_job(config: Settings) -> dict[str, Any]:
    """The lake upkeep as another job of request_for_next_run: maintain_lake.py on the env's lake, under
    its own job name (its runs are followed by name, apart from the ETL's)."""
    app_name = config.spark.app_name or "spacex-launches-etl"
    return {
        "entry_point": MAINTENANCE_ENTRY_POINT,
        "arguments": ["--env", config.required.env, "--lake", str(config.required.lake)],
        "job_name": f"{app_name}-maintenance",
    }


def in_flight_elsewhere(in_flight: dict[str, Any], request: dict[str, Any]) -> str:
    """Why a request is not sent: another request's run for the same date is in flight (both named)."""
    theirs, ours = in_flight.get("tags") or {}, request["tags"]
    return (
        f"job run {in_flight['id']} ({in_flight['name']}, attempt {theirs.get('attempt', '?')}) is "
        f"{in_flight['state']} with request {theirs.get(REQUEST_TAG, '?')} (artifacts "
        f"{theirs.get('git_sha', '?')}, client token {in_flight.get('clientToken', '?')}); this request is "
        f"{ours[REQUEST_TAG]} (artifacts {ours['git_sha']}, client token {request['clientToken']}): not "
        "starting a second run for this date while it is in flight; wait for it to end or cancel it"
    )


def submit(client, request: dict[str, Any]) -> str:
    """Start the job run; returns its id (the existing run's id when the client token was used before)."""
    return client.start_job_run(**request)["id"]


def wait_for_job_run(
    client,
    virtual_cluster_id: str,
    job_run_id: str,
    poll_seconds: float = 30,
    on_poll: Callable[[dict[str, Any], float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll describe_job_run until a terminal state; returns the final jobRun.
    Raises JobRunFailed on FAILED/CANCELLED with the service's stateDetails/failureReason."""
    started = time.monotonic()
    while True:
        run = client.describe_job_run(id=job_run_id, virtualClusterId=virtual_cluster_id)["jobRun"]
        if on_poll:
            on_poll(run, time.monotonic() - started)
        if run["state"] in TERMINAL_STATES:
            break
        sleep(poll_seconds)
    if run["state"] in FAILED_STATES:
        raise JobRunFailed(state_reason(run), run)
    return run


def state_reason(job_run: dict[str, Any]) -> str:
    reason = job_run.get("failureReason") or "no failureReason"
    details = job_run.get("stateDetails") or "no stateDetails"
    return f"job run {job_run['id']} {job_run['state']}: {reason}: {details}"


@dataclass(frozen=True)
class LogTail:
    stream: str  # stdout | stderr
    location: str  # s3://... or cloudwatch:<group>:<stream>
    lines: list[str]


def driver_log_tails(
    job_run: dict[str, Any], s3=None, logs=None, max_lines: int = LOG_TAIL_LINES
) -> tuple[list[LogTail], list[str]]:
    """The last lines of the driver's stdout and stderr, from where the run's monitoringConfiguration
    sends logs: S3 first, then CloudWatch Logs. Both matter: the driver's Python output (the job's
    summary, a traceback) reaches the driver container's stdout through spark-submit, Spark's own log
    its stderr. EMR on EKS layout: <logUri>/<virtual cluster>/jobs/<job run>/containers/<spark app>/
    <...-driver>/stdout.gz and log streams <prefix>/<virtual cluster>/jobs/<job run>/containers/
    <spark app>/<...-driver>/stdout (stderr alike). Returns (tails found, places looked at in vain)."""
    monitoring = (job_run.get("configurationOverrides") or {}).get("monitoringConfiguration") or {}
    job_path = f"{job_run['virtualClusterId']}/jobs/{job_run['id']}/containers/"
    looked: list[str] = []
    log_uri = (monitoring.get("s3MonitoringConfiguration") or {}).get("logUri")
    if log_uri and s3 is not None:
        bucket, prefix = split_s3_uri(log_uri)
        prefix = f"{prefix}/{job_path}" if prefix else job_path
        tails = _s3_tails(s3, bucket, prefix, max_lines)
        if tails:
            return tails, looked
        looked.append(f"s3://{bucket}/{prefix}")
    cloudwatch = monitoring.get("cloudWatchMonitoringConfiguration") or {}
    if cloudwatch.get("logGroupName") and logs is not None:
        group = cloudwatch["logGroupName"]
        prefix = f"{cloudwatch.get('logStreamNamePrefix') or ''}/{job_path}".lstrip("/")
        tails = _cloudwatch_tails(logs, group, prefix, max_lines)
        if tails:
            return tails, looked
        looked.append(f"CloudWatch Logs {group}, streams {prefix}")
    return [], looked


def _is_driver_log(name: str, stream: str) -> bool:
    parent, _, leaf = name.rpartition("/")
    return parent.endswith("-driver") and leaf in (stream, f"{stream}.gz")


def _s3_tails(s3, bucket: str, prefix: str, max_lines: int) -> list[LogTail]:
    tails = []
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        objects = [item for page in pages for item in page.get("Contents", [])]
        for stream in ("stdout", "stderr"):
            found = sorted(
                (item for item in objects if _is_driver_log(item["Key"], stream)),
                key=lambda item: item["LastModified"],
            )
            if not found:
                continue
            key = found[-1]["Key"]  # the last driver attempt
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            text = (gzip.decompress(body) if key.endswith(".gz") else body).decode("utf-8", "replace")
            lines = text.rstrip("\n").splitlines()
            if lines:
                tails.append(LogTail(stream, f"s3://{bucket}/{key}", lines[-max_lines:]))
    except (ClientError, BotoCoreError, OSError):
        return tails
    return tails


def _cloudwatch_tails(logs, group: str, prefix: str, max_lines: int) -> list[LogTail]:
    tails = []
    try:
        pages = logs.get_paginator("describe_log_streams").paginate(
            logGroupName=group, logStreamNamePrefix=prefix
        )
        streams = [stream for page in pages for stream in page.get("logStreams", [])]
        for kind in ("stdout", "stderr"):
            found = sorted(
                (s for s in streams if _is_driver_log(s["logStreamName"], kind)),
                key=lambda s: s.get("lastEventTimestamp") or s.get("creationTime") or 0,
            )
            if not found:
                continue
            name = found[-1]["logStreamName"]
            events = logs.get_log_events(
                logGroupName=group, logStreamName=name, limit=max_lines, startFromHead=False
            )["events"]
            lines = [line for event in events for line in event["message"].rstrip("\n").splitlines()]
            if lines:
                tails.append(LogTail(kind, f"cloudwatch:{group}:{name}", lines[-max_lines:]))
    except (ClientError, BotoCoreError):
        return tails
    return tails


def failure_report(
    job_run: dict[str, Any],
    s3=None,
    logs=None,
    max_lines: int = LOG_TAIL_LINES,
    tails: tuple[list[LogTail], list[str]] | None = None,
) -> str:
    """The state reason and the end of the driver's logs (`tails`: driver_log_tails' answer, read here
    when not given), as a user reads them in a terminal, a task log or an alert; secrets in locations (a
    URL's password, a signed query) are masked."""
    found, looked = tails if tails is not None else driver_log_tails(job_run, s3, logs, max_lines)
    text = [state_reason(job_run)]
    for tail in found:
        text.append(f"driver {tail.stream}, last {len(tail.lines)} lines ({tail.location}):")
        text += [f"  | {line}" for line in tail.lines]
    if not found:
        where = "; ".join(looked) or "no S3 or CloudWatch location in the request"
        text.append(f"driver log: not found (yet) at {where}")
    return "\n".join(redact_text(line) for line in text)
