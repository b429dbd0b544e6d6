"""spark-submit entry point: raw SpaceX /launches JSON -> validated Iceberg tables -> warehouse.

    spark-submit jobs/launches_etl.py [--env local] [--input PATH ...] [--lake ROOT] [--warehouse TARGET]

Exit codes (spacex_launches.exceptions): 0 success or no-op; 2 bad input, configuration or lake; 3 the
warehouse load failed (the lake is committed; the next run loads it); 4 a lake commit lost to
concurrent runs every time (re-run); 1 a bug (its trace in a log file the message names); 143 / 130
stopped by SIGTERM / SIGINT (the report's status is "cancelled" and its phase the one stopped). A failure
prints one paragraph, no stack trace. A JSON run report is written to <lake>/_reports/<run_id>.json.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from spacex_launches.common.paths import LakePaths
from spacex_launches.common.redact import redact_text
from spacex_launches.common.s3 import S3Settings, is_s3_uri, split_s3_uri
from spacex_launches.common.settings import Settings, default_inputs, load_settings
from spacex_launches.exceptions import EXIT_INPUT, Cancelled, ConfigError, root_cause
from spacex_launches.job.errors import describe, write_trace
from spacex_launches.job.pipeline import RunOptions, run_pipeline
from spacex_launches.job.run_report import RunReport, summary, to_json, utc_now
from spacex_launches.job.session import build_session
from spacex_launches.lake.catalog import CatalogSettings, catalog_conf
from spacex_launches.lake.hadoopfs import LakeFS
from spacex_launches.warehouse import loader_for

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def run_id_arg(value: str) -> str:
    if not RUN_ID.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r}: a run id is 1-128 characters of letters, digits and . _ : - (it names files and tables)"
        )
    return value


def snapshot_time_arg(value: str) -> datetime:
    """An ISO 8601 time; without an offset it is UTC."""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r}: expected an ISO 8601 time, e.g. 2025-06-27T12:00:00Z"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="local", help="conf/<env>.yaml to use (local, dev, prod)")
    parser.add_argument(
        "--input",
        nargs="+",
        help="files, directories or globs (default: the config's input, else <lake>/raw/spacex/launches)",
    )
    parser.add_argument(
        "--cores-input",
        nargs="+",
        help="the API's /cores files (booster serials) (default, when --input is not given either: the "
        "config's cores_input, else <lake>/raw/spacex/cores)",
    )
    parser.add_argument("--lake", help="lake root: a directory or s3a://bucket/prefix (default: config)")
    parser.add_argument(
        "--warehouse",
        help="duckdb | <file>.duckdb | postgres | postgresql://user@host:port/db | redshift | none (default: config)",
    )
    parser.add_argument("--ingest-date", type=date.fromisoformat, help="only this raw ingest_date partition")
    parser.add_argument("--from-date", type=date.fromisoformat, help="first ingest_date partition to read")
    parser.add_argument("--to-date", type=date.fromisoformat, help="last ingest_date partition to read")
    parser.add_argument(
        "--snapshot-time",
        type=snapshot_time_arg,
        help="fetch time of input files whose name or manifest does not carry one (raw-zone files do); "
        "default: unknown, which loses to every snapshot with a known time",
    )
    parser.add_argument(
        "--run-id",
        type=run_id_arg,
        help="default: UTC time + random suffix; a retry passes the same id and finishes the run",
    )
    args = parser.parse_args(argv)
    if args.ingest_date:
        args.from_date = args.to_date = args.ingest_date
    return args


def job_inputs(args: argparse.Namespace, config: Settings, lake_root: str) -> tuple[list[str], list[str]]:
    """(launches, cores) to read: --input and --cores-input, else the defaults (config.default_inputs:
    the config's input and cores_input, else the lake's raw zones). --input alone reads no cores."""
    launches, cores = default_inputs(config, lake_root)
    if args.input:
        return args.input, args.cores_input or []
    return [launches], args.cores_input or [cores]


_stop_requested: list[Cancelled] = []


def _on_signal(signum: int, _frame) -> None:
    """Stop the run where it is: the pipeline unwinds (its staging is removed on the way)."""
    _stop_requested.append(Cancelled(signum))
    raise _stop_requested[-1]


def stop_on_signals() -> None:
    """SIGTERM (Airflow, Kubernetes, `kill`) and SIGINT (Ctrl-C) end the run as cancelled. Set after
    the session starts: pyspark's own SIGINT handler would only cancel the Spark jobs."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _on_signal)


def ignore_signals() -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)


def requested_stop(exc: BaseException) -> Cancelled | None:
    """The signal's Cancelled, also when the JVM (signalled with the same process group) broke the call
    the run was in before the handler ran, or a cleanup on the way up raised another error."""
    return exc if isinstance(exc, Cancelled) else (_stop_requested[0] if _stop_requested else None)


def write_without_jvm(path: str, text: str, config: Settings) -> None:
    """Write the report with Python alone: a local file, or an S3 object through boto3."""
    if is_s3_uri(path):
        bucket, key = split_s3_uri(path)
        S3Settings.from_config(config).client().put_object(Bucket=bucket, Key=key, Body=text.encode())
        return
    target = Path(path.removeprefix("file:"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def stop_session(spark, exit_code: int) -> None:
    """Stop Spark; after a signal the JVM may already be gone, which is no new failure."""
    try:
        spark.stop()
    except Exception:
        if exit_code <= 128:
            raise


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stdout
    )
    logging.getLogger("spacex_launches").setLevel(logging.INFO)  # the job's progress lines, not py4j's
    started = time.monotonic()
    run_id = args.run_id or new_run_id()
    try:
        config = load_settings(args.env)
        loader = loader_for(args.warehouse, config)
        lake = LakePaths.at(args.lake or config.required.lake)
        catalog = CatalogSettings.from_config(config, lake.root)
        spark = build_session(config, extra_conf=catalog_conf(catalog))
    except ConfigError as exc:
        print(f"error: {redact_text(str(exc))}", file=sys.stderr)
        return EXIT_INPUT
    inputs, cores_inputs = job_inputs(args, config, lake.root)
    options = RunOptions(
        inputs=inputs,
        cores_inputs=cores_inputs,
        cores_optional=not args.cores_input,
        lake=lake.root,
        run_id=run_id,
        catalog=catalog,
        default_api_version=config.api.version,
        ingest_date_from=args.from_date,
        ingest_date_to=args.to_date,
        snapshot_time=args.snapshot_time,
    )
    report = RunReport.start(options.run_id, args.env, options.inputs, lake.root)
    exit_code = 0
    stop_on_signals()
    try:
        run_pipeline(spark, options, loader, report)
    except BaseException as exc:
        cancelled = requested_stop(exc)
        if cancelled is None and not isinstance(exc, Exception):
            raise
        if cancelled is not None:
            exit_code, report.status = cancelled.exit_code, "cancelled"
            report.error = (
                f"{cancelled}: the {report.phase or 'start-up'} phase was stopped. Every lake table is at "
                "its last committed snapshot and the warehouse at its last load; re-run to finish."
            )
        else:
            failure = describe(exc, lake.root, S3Settings.from_config(config).endpoint_url)
            exit_code, report.status, report.error = failure.exit_code, "failed", failure.message
            if failure.bug:
                log_file = write_trace(
                    exc, options.run_id, None if "://" in lake.root else f"{lake.root}/_reports"
                )
                report.error += f" (the trace is in {log_file})"
    finally:
        ignore_signals()  # the report is written whole: a signal now (a second one) is ignored
        report.exit_code = exit_code
        report.finished_at = utc_now()
        report.durations_s["total"] = round(time.monotonic() - started, 3)
        report_path = lake.report(options.run_id)
        try:
            if exit_code > 128:  # the JVM was signalled too and is stopping: write without it
                write_without_jvm(report_path, to_json(report), config)
            else:
                LakeFS(spark).write_text(report_path, to_json(report))
        except Exception as exc:  # the run's own outcome matters more than its report
            report_path = f"not written ({root_cause(exc)})"
        print(summary(report), file=sys.stderr if exit_code else sys.stdout)
        if report.message:
            print(f"  note       {report.message}")
        print(redact_text(f"  report     {report_path}"), flush=True)
        stop_session(spark, exit_code)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
