"""What the Airflow DAG (dags/spacex_launches.py) runs, so the DAG file stays a thin wiring of tasks.

Imported only where Airflow and its Amazon provider are installed (the `airflow` extra).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import requests
from airflow.providers.amazon.aws.operators.emr import EmrContainerOperator
from airflow.sdk.observability import stats

from spacex_launches.checks import run_checks
from spacex_launches.config import get_dotted, load_config, require
from spacex_launches.emr import build_job_run_request
from spacex_launches.ingest import ingest
from spacex_launches.redact import redact_text
from spacex_launches.run_metrics import job_arguments, read_run_report, report_metrics
from spacex_launches.warehouse import loader_for

log = logging.getLogger(__name__)

ROW_COUNTS_KEY = "row_counts"


def default_args(config: dict[str, Any]) -> dict[str, Any]:
    """Task defaults: retries with exponential backoff, and the failure alert."""
    return {
        "owner": "data-platform",
        "retries": int(get_dotted(config, "airflow.retries", 3)),
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": FailureAlert(config["env"], require(config, "airflow.alert_webhook_variable")),
    }


def run_date(context: dict[str, Any]) -> date:
    """The run's date: its logical date, or when it was due for a run without one (manual, Airflow 3)."""
    if context.get("ds"):
        return date.fromisoformat(context["ds"])
    return context["dag_run"].run_after.date()


def ingest_task(env: str) -> dict[str, Any]:
    """Fetch the API once and land it in the raw zone (write-once; an identical fetch writes nothing)."""
    result = ingest(load_config(env))
    log.info("ingest %s: %s, %s records at %s", result.url, result.outcome, result.records, result.location)
    return {"outcome": result.outcome, "records": result.records, "location": str(result.location)}


def warehouse_checks_task(env: str, ti) -> dict[str, int]:
    """sql/checks/ against the env's warehouse; the row counts go to XCom for the next run to compare."""
    config = load_config(env)
    loader = loader_for(None, config)
    if loader is None:
        raise RuntimeError(f"env {env!r} has no warehouse to check (warehouse.target is none)")
    previous = ti.xcom_pull(task_ids=ti.task_id, key=ROW_COUNTS_KEY, include_prior_dates=True)
    max_age = timedelta(hours=float(get_dotted(config, "airflow.freshness_hours", 36)))
    counts = run_checks(loader.query, previous, max_age)
    ti.xcom_push(key=ROW_COUNTS_KEY, value=counts)
    log.info("warehouse checks passed on %s: %s (previous %s)", loader.describe(), counts, previous)
    return counts


def operator_kwargs(request: dict[str, Any]) -> dict[str, Any]:
    """EmrContainerOperator arguments under which its hook sends exactly `request` to StartJobRun."""
    return {
        "name": request["name"],
        "virtual_cluster_id": request["virtualClusterId"],
        "execution_role_arn": request["executionRoleArn"],
        "release_label": request["releaseLabel"],
        "job_driver": request["jobDriver"],
        "configuration_overrides": request["configurationOverrides"],
        "client_request_token": request["clientToken"],
        "tags": request["tags"],
        "job_retry_max_attempts": request["retryPolicyConfiguration"]["maxAttempts"],
    }


class LaunchesEmrJobOperator(EmrContainerOperator):
    """EmrContainerOperator sending build_job_run_request(conf/<env>.yaml, run date) when the task runs.

    The request depends on the run date (entry-point arguments, client token) and EmrContainerOperator
    does not template the token, so the request is built in execute(): a retried task sends the same
    token and EMR returns the run already started instead of starting a second one.
    """

    def __init__(self, *, env: str, **kwargs: Any) -> None:
        # Placeholders until execute(); aws_conn_id etc. pass through.
        super().__init__(
            name="",
            virtual_cluster_id="",
            execution_role_arn="",
            release_label="",
            job_driver={},
            **kwargs,
        )
        self.env = env

    def apply_request(self, when: date) -> dict[str, Any]:
        request = build_job_run_request(load_config(self.env), when)
        for attribute, value in operator_kwargs(request).items():
            setattr(self, attribute, value)
        return request

    def execute(self, context):
        request = self.apply_request(run_date(context))
        self.log.info("submitting %s (client token %s)", request["name"], request["clientToken"])
        return super().execute(context)


def post_alert(url: str, text: str, timeout: float = 10.0) -> None:
    """POST a Slack-compatible message ({"text": ...}) to an incoming-webhook URL."""
    response = requests.post(url, json={"text": text}, timeout=timeout)
    response.raise_for_status()


def failure_text(env: str, context: dict[str, Any]) -> str:
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    return (
        f":red_circle: spacex_launches ({env}) task {getattr(ti, 'task_id', '?')} failed"
        f" in run {getattr(dag_run, 'run_id', '?')} (try {getattr(ti, 'try_number', '?')}): "
        f"{redact_text(str(context.get('exception')))}"
    )


class FailureAlert:
    """on_failure_callback: log the failure and post it to the webhook URL held in an Airflow Variable.
    A missing Variable or an unreachable webhook is logged, never raised (the task has failed anyway)."""

    def __init__(self, env: str, webhook_variable: str) -> None:
        self.env = env
        self.webhook_variable = webhook_variable

    def __call__(self, context: dict[str, Any]) -> None:
        text = failure_text(self.env, context)
        log.error(text)
        from airflow.sdk import Variable

        url = Variable.get(self.webhook_variable, default=None)
        if not url:
            log.warning("no alert sent: Airflow Variable %r is not set", self.webhook_variable)
            return
        try:
            post_alert(url, text)
        except requests.RequestException as exc:  # the URL is a secret: never log it
            log.warning("alert webhook (Variable %r) failed: %s", self.webhook_variable, type(exc).__name__)


def run_metrics_task(env: str, **context: Any) -> dict[str, float]:
    """Read the report of the run spark_job started for this run date (same --lake and --run-id as its
    request) and send its counts, rule failures, status and duration as statsd gauges."""
    config = load_config(env)
    arguments = job_arguments(build_job_run_request(config, run_date(context)))
    report = read_run_report(config, arguments["--lake"], arguments["--run-id"])
    metrics = report_metrics(report)
    for name, value in metrics.items():
        stats.gauge(name, value)
    log.info("run %s (%s): sent %d gauges: %s", report["run_id"], report["status"], len(metrics), metrics)
    return metrics
