"""Start the Spark job on Amazon EMR on EKS (what `make submit` runs).

    python jobs/submit_emr.py --env dev [--run-date YYYY-MM-DD] [--wait] [--version SHA]

Sends the request built by spacex_launches.orchestration.emr_request.build_job_run_request (the same one the Airflow DAG
sends), prints the job run id and where its logs are. If a run for that date is still in flight, it is
followed instead of starting a second one; after a FAILED or CANCELLED run, a new attempt starts. With
--wait, polls the run until it ends; on failure prints the state reason and the end of the driver's log.
Exit codes: 0 started (or COMPLETED with --wait), 1 FAILED or CANCELLED, 2 bad config/request or refused.
prod is changed only by automation: --env prod refuses unless CI=true.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, date, datetime

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from spacex_launches.common.settings import load_settings
from spacex_launches.exceptions import ConfigError, EmrRequestError, JobRunFailed, RunInFlightElsewhere
from spacex_launches.orchestration.emr_request import log_locations
from spacex_launches.orchestration.emr_runs import (
    failure_report,
    request_for_next_run,
    submit,
    wait_for_job_run,
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", required=True, choices=("dev", "prod"))
    parser.add_argument(
        "--run-date", type=date.fromisoformat, help="the ingest_date to process (default: today, UTC)"
    )
    parser.add_argument(
        "--version", help="deployed artifacts version (default: EMR_ARTIFACTS_VERSION or git sha)"
    )
    parser.add_argument("--wait", action="store_true", help="follow the run until it ends")
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    return parser.parse_args(argv)


def print_progress(run: dict, elapsed: float) -> None:
    details = f"  {run['stateDetails']}" if run.get("stateDetails") else ""
    print(f"  [{elapsed:6.0f}s] {run['state']}{details}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.env == "prod" and os.environ.get("CI", "").lower() != "true":
        print(
            "refusing to submit to prod outside automation (prod runs from CI / the DAG; CI=true)",
            file=sys.stderr,
        )
        return 2
    run_date = args.run_date or datetime.now(UTC).date()
    region = None
    try:
        config = load_settings(args.env)
        region = config.aws_region
        client = boto3.client("emr-containers", region_name=region)
        following = request_for_next_run(client, config, run_date, version=args.version)
        request = following.request
        cluster = request["virtualClusterId"]
        if following.in_flight:
            run = following.in_flight
            print(f"job run {run['id']} for {run_date} is {run['state']}: following it, not starting another")
        job_run_id = submit(client, request)
    except (ConfigError, EmrRequestError, RunInFlightElsewhere) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"error: StartJobRun failed: {exc}", file=sys.stderr)
        return 2
    logs = log_locations(request, job_run_id)
    print(f"job run      {job_run_id}  ({request['name']}, virtual cluster {cluster})")
    print(f"cloudwatch   log group {logs['log_group']}, streams {logs['log_stream_prefix']}/...")
    print(f"s3 logs      {logs['s3_logs']}")
    print("spark ui     EMR console > Virtual clusters > job run > Spark UI (persistent app UI)")
    if not args.wait:
        return 0
    try:
        run = wait_for_job_run(client, cluster, job_run_id, args.poll_seconds, on_poll=print_progress)
    except JobRunFailed as exc:
        s3 = boto3.client("s3", region_name=region)
        cloudwatch_logs = boto3.client("logs", region_name=region)
        print(f"error: {failure_report(exc.job_run, s3, cloudwatch_logs)}", file=sys.stderr)
        return 1
    print(f"job run {job_run_id} {run['state']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
