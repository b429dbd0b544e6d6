"""Run metrics: a real run report (spark-submit over sample/launches) as statsd gauges, read by the DAG's
run_metrics task from the moto S3 server and sent through Airflow's stats API to a real UDP listener."""

from __future__ import annotations

import json
import socket
from datetime import date

import pytest

from spacex_launches.common.paths import LakePaths
from spacex_launches.common.s3 import S3Settings, split_s3_uri
from spacex_launches.common.settings import load_settings
from spacex_launches.job.run_report import RunReport
from spacex_launches.orchestration.emr_request import build_job_run_request
from spacex_launches.orchestration.run_metrics import job_arguments, read_run_report, report_metrics

RUN_DATE = date(2026, 11, 23)


def test_report_metrics_of_a_real_run(sample_run_report):
    report = json.loads(sample_run_report.read_text())
    metrics = report_metrics(RunReport.from_dict(report))
    base = f"spacex_launches.{report['env']}"
    counts = {name.rsplit(".", 1)[1]: v for name, v in metrics.items() if name.startswith(f"{base}.records.")}
    assert counts == report["counts"]
    for name in ("input_records", "launches", "duplicates_collapsed", "quarantined"):
        assert name in counts
    assert (
        counts["input_records"] == counts["launches"] + counts["duplicates_collapsed"] + counts["quarantined"]
    )
    assert counts["quarantined"] > 0  # the sample holds a bad record: the gauge is not trivially zero
    rules = {n.rsplit(".", 1)[1]: v for n, v in metrics.items() if n.startswith(f"{base}.rule_failures.")}
    assert rules == report["rule_failures"] and sum(rules.values()) >= counts["quarantined"]
    assert metrics[f"{base}.run.failed"] == 0.0
    assert metrics[f"{base}.run.duration_seconds"] == report["durations_s"]["total"] > 0
    assert len(metrics) == len(report["counts"]) + len(report["rule_failures"]) + 2


def test_failed_run_report_sets_run_failed(sample_run_report):
    report = json.loads(sample_run_report.read_text())
    report.update(status="failed", error="too many quarantined records")
    assert report_metrics(RunReport.from_dict(report))[f"spacex_launches.{report['env']}.run.failed"] == 1.0


@pytest.fixture
def dev_lake(aws_env, monkeypatch) -> str:
    """An empty bucket on the moto server as the dev lake; the DAG's EMR request points at it."""
    monkeypatch.setenv("SPACEX_LAKE", "s3://run-metrics-lake/lake")
    monkeypatch.setenv("EMR_ARTIFACTS_VERSION", "test")
    client = S3Settings.from_config(load_settings("dev")).client()
    client.create_bucket(Bucket="run-metrics-lake")
    yield "s3://run-metrics-lake/lake"
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="run-metrics-lake"):
        for item in page.get("Contents", []):
            client.delete_object(Bucket="run-metrics-lake", Key=item["Key"])
    client.delete_bucket(Bucket="run-metrics-lake")


def upload_report(lake: str, run_id: str, body: bytes) -> None:
    bucket, key = split_s3_uri(LakePaths.at(lake).report(run_id))
    S3Settings.from_config(load_settings("dev")).client().put_object(Bucket=bucket, Key=key, Body=body)


@pytest.fixture
def statsd_listener(monkeypatch):
    """A UDP socket on 127.0.0.1 that Airflow's stats API (statsd on) sends to; reset afterwards."""
    stats = pytest.importorskip("airflow.sdk.observability.stats")
    from airflow.sdk.observability.metrics import stats_utils

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "True")
        monkeypatch.setenv("AIRFLOW__METRICS__STATSD_HOST", "127.0.0.1")
        monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", str(sock.getsockname()[1]))
        stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=True)
        try:
            yield sock
        finally:
            from airflow.sdk._shared.observability.metrics.base_stats_logger import NoStatsLogger

            stats.initialize(factory=NoStatsLogger, export_legacy_names=True)


def receive_gauges(sock: socket.socket, count: int) -> dict[str, float]:
    gauges = {}
    while len(gauges) < count:
        for line in sock.recv(65535).decode().splitlines():
            name, _, rest = line.partition(":")
            value, kind = rest.split("|")[:2]
            assert kind == "g", line
            gauges[name] = float(value)
    return gauges


class SparkJobXCom:
    """The task instance's view of spark_job's XCom (what LaunchesEmrJobOperator pushes)."""

    def __init__(self, job_run: dict | None):
        self.job_run = job_run

    def xcom_pull(self, task_ids: str, key: str):
        assert (task_ids, key) == ("spark_job", "job_run")
        return self.job_run


def test_task_reads_the_report_of_the_run_spark_job_started_and_sends_gauges(
    dev_lake, sample_run_report, statsd_listener
):
    pytest.importorskip("airflow")
    from spacex_launches.orchestration.airflow_tasks import run_metrics_task

    arguments = job_arguments(build_job_run_request(load_settings("dev"), RUN_DATE, attempt=1))
    assert arguments["--lake"] == dev_lake
    upload_report(dev_lake, arguments["--run-id"], sample_run_report.read_bytes())
    # The same day's first attempt in the same lake: must not be the one read.
    other = job_arguments(build_job_run_request(load_settings("dev"), RUN_DATE))["--run-id"]
    upload_report(dev_lake, other, json.dumps({"env": "dev", "status": "failed", "counts": {}}).encode())

    job_run = {"run_id": arguments["--run-id"], "lake": arguments["--lake"], "state": "COMPLETED"}
    sent = run_metrics_task("dev", SparkJobXCom(job_run))

    assert sent == report_metrics(RunReport.from_dict(json.loads(sample_run_report.read_text())))
    received = receive_gauges(statsd_listener, len(sent))
    assert received == {f"airflow.{name}": value for name, value in sent.items()}  # statsd_prefix "airflow"


def test_no_report_is_skipped_unless_the_job_run_completed(dev_lake):
    pytest.importorskip("airflow")
    from airflow.sdk.exceptions import AirflowSkipException

    from spacex_launches.orchestration.airflow_tasks import run_metrics_task

    with pytest.raises(AirflowSkipException, match="spark_job started no job run"):
        run_metrics_task("dev", SparkJobXCom(None))
    job_run = {"run_id": "dev-20261123-0000cafe", "lake": dev_lake, "state": "CANCELLED"}
    with pytest.raises(
        AirflowSkipException, match=r"no run report at .*dev-20261123-0000cafe.*ended CANCELLED"
    ):
        run_metrics_task("dev", SparkJobXCom(job_run))
    with pytest.raises(FileNotFoundError, match="dev-20261123-0000cafe"):
        run_metrics_task("dev", SparkJobXCom({**job_run, "state": "COMPLETED"}))


def test_missing_report_names_the_s3_path(dev_lake):
    run_id = job_arguments(build_job_run_request(load_settings("dev"), RUN_DATE))["--run-id"]
    with pytest.raises(FileNotFoundError, match=rf"no run report at {dev_lake}/_reports/{run_id}\.json"):
        read_run_report(load_settings("dev"), dev_lake, run_id)


def test_report_is_read_from_a_local_lake(sample_run_report):
    lake = sample_run_report.parent.parent
    assert read_run_report(load_settings("local"), str(lake), "sample-run") == json.loads(
        sample_run_report.read_text()
    )
