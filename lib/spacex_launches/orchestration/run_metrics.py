"""A run's report as metrics: the record counts, rule failures, outcome and duration of one run of the job,
read from <lake>/_reports/<run_id>.json and named as statsd gauges. The Airflow task that sends them is
airflow_tasks.run_metrics_task; the statsd exporter mappings in k8s/airflow/values.yaml make them
Prometheus metrics (spacex_launches_records{env, count} etc.) for the Grafana dashboard in k8s/monitoring/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from spacex_launches.common.paths import LakePaths
from spacex_launches.common.s3 import S3Settings, is_s3_uri, split_s3_uri
from spacex_launches.common.settings import Settings
from spacex_launches.job.run_report import RunReport

METRICS_PREFIX = "spacex_launches"  # Airflow's statsd_prefix ("airflow.") comes before it


def report_metrics(report: RunReport) -> dict[str, float]:
    """{statsd gauge name: value} for one run report (RunReport.from_dict of the JSON the job wrote).
    The env is a name component, so the statsd exporter mappings turn it, and the count or rule name,
    into labels."""
    base = f"{METRICS_PREFIX}.{report.env}"
    counts = report.counts.as_dict() if report.counts else {}
    metrics = {f"{base}.records.{name}": float(n) for name, n in counts.items()}
    metrics.update({f"{base}.rule_failures.{rule}": float(n) for rule, n in report.rule_failures.items()})
    metrics[f"{base}.run.failed"] = float(report.status == "failed")
    total = report.durations_s.get("total")
    if total is not None:
        metrics[f"{base}.run.duration_seconds"] = float(total)
    return metrics


def job_arguments(request: dict[str, Any]) -> dict[str, str]:
    """The `--flag value` entry-point arguments of a StartJobRun request, e.g. {"--run-id": ...}."""
    words = request["jobDriver"]["sparkSubmitJobDriver"]["entryPointArguments"]
    return dict(zip(words[::2], words[1::2], strict=True))


def read_run_report(config: Settings, lake: str, run_id: str) -> dict[str, Any]:
    """The JSON report the job wrote to <lake>/_reports/<run_id>.json (S3 through boto3, or a local path)."""
    path = LakePaths.at(lake).report(run_id)
    if is_s3_uri(path):
        bucket, key = split_s3_uri(path)
        client = S3Settings.from_config(config).client()
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(f"no run report at {path}: did the Spark job start?") from exc
        except ClientError as exc:  # e.g. AccessDenied: name the object, which botocore's message does not
            raise OSError(f"could not read the run report {path}: {exc}") from exc
        return json.loads(body)
    local = Path(path.removeprefix("file:"))
    if not local.is_file():
        raise FileNotFoundError(f"no run report at {path}: did the Spark job start?")
    return json.loads(local.read_text())
