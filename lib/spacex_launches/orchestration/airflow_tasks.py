"""What the Airflow DAGs run (dags/spacex_launches.py, and the weekly lake upkeep of
dags/spacex_lake_maintenance.py), so the DAG files stay a thin wiring of tasks.

Imported only where Airflow and its Amazon provider are installed (the `airflow` extra).

The run date is the DAG run's logical date (run_date): ingest lands the API response in that date's
partition and the Spark step reads that partition. The Spark step hands the run it started (run id,
lake, job run id, final state) to the later tasks through XCom (JOB_RUN_KEY).
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import tempfile
import uuid
from collections import deque
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NoReturn

import requests
from airflow.exceptions import AirflowException
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.operators.emr import EmrContainerOperator
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from airflow.sdk.observability import stats
from botocore.exceptions import ClientError

from spacex_launches.common.paths import LakePaths
from spacex_launches.common.redact import redact_location, redact_text
from spacex_launches.common.settings import PROJECT_DIR, Settings, load_settings
from spacex_launches.exceptions import ConfigError, EmrRequestError, meaning
from spacex_launches.ingest.fetch import DATASETS, ingest
from spacex_launches.job.run_report import RunReport
from spacex_launches.job.submit import WAREHOUSE_VARIABLE
from spacex_launches.orchestration.emr_runs import (
    ACTIVE_STATES,
    driver_log_tails,
    failure_report,
    maintenance_job,
    request_for_next_run,
)
from spacex_launches.orchestration.retry_budget import (
    LOST,
    REFUSED,
    Verdict,
    classify_run,
    retryable_api_error,
)
from spacex_launches.orchestration.run_metrics import job_arguments, read_run_report, report_metrics
from spacex_launches.warehouse import loader_for
from spacex_launches.warehouse.checks import run_checks

log = logging.getLogger(__name__)

ROW_COUNTS_KEY = "row_counts"
JOB_RUN_KEY = "job_run"  # XCom of spark_job: {run_id, lake, run_date, state, [job_run_id, ...]}
SPARK_TASK_ID = "spark_job"
MAINTENANCE_TASK_ID = "maintain"
TRIGGER_FAILED = "__fail__"  # next_method of a task resumed to fail (e.g. its trigger timed out)


def default_args(config: Settings) -> dict[str, Any]:
    """Task defaults: retries with exponential backoff, and the alert on every failed try."""
    alert = FailureAlert(config.env, config.airflow.required.alert_webhook_variable)
    return {
        "owner": "data-platform",
        "retries": int(config.airflow.retries),
        "retry_delay": timedelta(seconds=float(config.airflow.retry_delay_s)),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": alert,
        "on_retry_callback": alert,
    }


def api_failure(exc: ClientError) -> AirflowException:
    """An AWS API error at submit: throttling or a service error is retried, anything else (a refused
    request, missing permissions, an unknown virtual cluster) fails the task for good."""
    code = exc.response.get("Error", {}).get("Code", "")
    if retryable_api_error(code):
        return AirflowException(f"{exc}\n{Verdict(LOST, f'AWS API {code}').describe()}")
    return AirflowFailException(f"{exc}\n{Verdict(REFUSED, f'AWS API {code}').describe()}")


def run_date(context: dict[str, Any]) -> date:
    """The run's date: its logical date, or when it was due for a run without one (manual, Airflow 3)."""
    if context.get("ds"):
        return date.fromisoformat(context["ds"])
    return context["dag_run"].run_after.date()


def ingest_task(env: str, **context: Any) -> dict[str, dict[str, Any]]:
    """Fetch the API's launches and cores once each and land them in their raw zones' partitions for this
    run's date (write-once; a date that already has a response is not fetched again)."""
    when = run_date(context)
    config = load_settings(env)
    landed = {}
    for dataset in DATASETS:
        result = ingest(config, dataset=dataset, ingest_date=when)
        log.info(
            "ingest %s for %s: %s, %s records at %s",
            redact_location(result.url),
            when,
            result.outcome,
            result.records,
            result.location,
        )
        landed[dataset] = {"outcome": result.outcome, "records": result.records, "location": result.location}
    return landed


def warehouse_checks_task(env: str, ti) -> dict[str, int]:
    """sql/checks/ against the env's warehouse; the row counts go to XCom for the next run to compare."""
    config = load_settings(env)
    loader = loader_for(None, config)
    if loader is None:
        raise RuntimeError(f"env {env!r} has no warehouse to check (warehouse.target is none)")
    previous = ti.xcom_pull(task_ids=ti.task_id, key=ROW_COUNTS_KEY, include_prior_dates=True)
    max_age = timedelta(hours=float(config.airflow.freshness_hours))
    counts = run_checks(loader.query, previous, max_age)
    ti.xcom_push(key=ROW_COUNTS_KEY, value=counts)
    log.info("warehouse checks passed on %s: %s (previous %s)", loader.describe(), counts, previous)
    return counts


def spark_job_task(
    env: str,
    config: Settings,
    task_id: str = SPARK_TASK_ID,
    local_command: LocalCommand | None = None,
    **job: Any,
) -> BaseOperator:
    """The Spark step: the job on EMR on EKS (dev, prod), or spark-submit on this machine (local).
    Another entry point than the ETL's: `job` (emr.build_job_run_request's entry_point, arguments,
    job_name) on EMR, `local_command` (like local_job_command) locally."""
    if env == "local":
        return LocalSparkJobOperator(task_id=task_id, env=env, command=local_command or local_job_command)
    poll = int(config.airflow.emr_poll_s)
    timeout = int(config.airflow.emr_timeout_s)
    return LaunchesEmrJobOperator(
        task_id=task_id,
        env=env,
        job=job,
        aws_conn_id=config.airflow.required.aws_conn_id,
        deferrable=True,
        poll_interval=poll,
        # The trigger gives up after emr_timeout_s and the task cancels the job run (execute_complete);
        # execution_timeout is the backstop for the whole task, submit included.
        max_polling_attempts=max(1, math.ceil(timeout / poll)),
        execution_timeout=timedelta(seconds=timeout + 2 * poll + 300),
    )


def maintenance_task(env: str, config: Settings) -> BaseOperator:
    """The weekly lake upkeep: maintain_lake.py on EMR on EKS through the same request builder (its own
    job name, so its own runs and client tokens), or as `make maintain` runs it on this machine (local)."""
    return spark_job_task(
        env, config, MAINTENANCE_TASK_ID, local_maintenance_command, **maintenance_job(config)
    )


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
    """EmrContainerOperator sending the request emr_runs.request_for_next_run chooses for the run date,
    for the ETL or, with `job` (entry_point, arguments, job_name), another entry point.

    The request depends on the run date and on the runs already started for it, so it is built in
    execute(): while an attempt is in flight its own request is sent again (same client token: EMR
    returns that run), after a FAILED or CANCELLED one a new attempt (new token, new run). When the
    trigger gives up (airflow.emr_timeout_s) or the deferral times out, the job run is cancelled. A
    failure raises with the state reason and the tail of the driver's log.
    """

    def __init__(self, *, env: str, job: dict[str, Any] | None = None, **kwargs: Any) -> None:
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
        self.job = dict(job or {})

    def apply_request(self, request: dict[str, Any]) -> None:
        for attribute, value in operator_kwargs(request).items():
            setattr(self, attribute, value)

    def execute(self, context):
        config = load_settings(self.env)
        when = run_date(context)
        self.virtual_cluster_id = config.emr.required.virtual_cluster_id  # before self.hook exists
        try:
            following = request_for_next_run(self.hook.conn, config, when, **self.job)
        except (ConfigError, EmrRequestError) as exc:  # the request itself is refused: a retry cannot help
            raise AirflowFailException(f"{exc}\n{Verdict(REFUSED, 'the request').describe()}") from exc
        except ClientError as exc:
            raise api_failure(exc) from exc
        request = following.request
        self.apply_request(request)
        if following.in_flight:
            self.log.warning(
                "job run %s for %s is %s: following it instead of starting another",
                following.in_flight["id"],
                when,
                following.in_flight["state"],
            )
        self.log.info(
            "submitting %s, attempt %s (client token %s)",
            request["name"],
            request["tags"]["attempt"],
            request["clientToken"],
        )
        arguments = job_arguments(request)
        job_run = {
            "run_date": when.isoformat(),
            "attempt": int(request["tags"]["attempt"]),
            "run_id": arguments["--run-id"],
            "lake": arguments["--lake"],
            "virtual_cluster_id": self.virtual_cluster_id,
            "state": "SUBMITTED",
        }
        try:
            job_id = super().execute(context)  # defers (TaskDeferred) while the run is not finished
        except ClientError as exc:  # StartJobRun refused or throttled
            raise api_failure(exc) from exc
        except Exception:
            if self.job_id:
                job_run["state"] = self.hook.check_query_status(self.job_id) or "UNKNOWN"
            raise
        else:
            job_run["state"] = "COMPLETED"
            return job_id
        finally:
            if self.job_id:
                context["ti"].xcom_push(key=JOB_RUN_KEY, value={**job_run, "job_run_id": self.job_id})

    def _job_run(self, context) -> dict[str, Any]:
        job_run = context["ti"].xcom_pull(task_ids=self.task_id, key=JOB_RUN_KEY) or {}
        self.virtual_cluster_id = job_run.get("virtual_cluster_id") or (
            load_settings(self.env).emr.required.virtual_cluster_id
        )
        return job_run

    def _client(self, service: str):
        return AwsBaseHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            client_type=service,
        ).conn

    def _end(self, context, job_run: dict[str, Any], job_id: str, why: str) -> NoReturn:
        """Cancel the job run if it is still active, then raise with its reason and driver log tail."""
        client = self.hook.conn
        described = client.describe_job_run(id=job_id, virtualClusterId=self.virtual_cluster_id)["jobRun"]
        if described["state"] in ACTIVE_STATES:
            self.log.error("%s: cancelling job run %s (%s)", why, job_id, described["state"])
            self.hook.stop_query(job_id)
            described = client.describe_job_run(id=job_id, virtualClusterId=self.virtual_cluster_id)["jobRun"]
            why = f"{why}: cancelled job run {job_id}"
        context["ti"].xcom_push(key=JOB_RUN_KEY, value={**job_run, "state": described["state"]})
        tails, looked = driver_log_tails(described, self._client("s3"), self._client("logs"))
        detail = failure_report(described, tails=(tails, looked))
        verdict = classify_run(
            described, self._run_report(job_run), [line for t in tails for line in t.lines]
        )
        self.log.error("%s\n%s\n%s", why, verdict.describe(), detail)
        error = AirflowException if verdict.failure.retried else AirflowFailException
        raise error(f"{why}\n{verdict.describe()}\n{detail}")

    def _run_report(self, job_run: dict[str, Any]) -> dict[str, Any] | None:
        """The job run's report (<lake>/_reports/<run_id>.json), None when it wrote none or it is unreadable."""
        if not (job_run.get("lake") and job_run.get("run_id")):
            return None
        try:
            return read_run_report(load_settings(self.env), job_run["lake"], job_run["run_id"])
        except (OSError, ValueError) as exc:  # FileNotFoundError included; ValueError: not JSON
            self.log.warning("no run report for %s: %s", job_run["run_id"], exc)
            return None

    def execute_complete(self, context, event: dict[str, Any] | None = None) -> str:
        job_run = self._job_run(context)
        if (event or {}).get("status") == "success":
            context["ti"].xcom_push(key=JOB_RUN_KEY, value={**job_run, "state": "COMPLETED"})
            return super().execute_complete(context, event)
        job_id = (event or {}).get("job_id") or job_run["job_run_id"]
        message = str((event or {}).get("message") or event).splitlines()[0]
        if "max attempts" in message:
            message = (
                f"gave up on job run {job_id} after {self.max_polling_attempts} checks "
                f"{self.poll_interval} s apart (airflow.emr_timeout_s)"
            )
        self._end(context, job_run, job_id, message)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context):
        if next_method == TRIGGER_FAILED:  # the deferral timed out or the trigger failed
            job_run = self._job_run(context)
            if job_run.get("job_run_id"):
                error = (next_kwargs or {}).get("error", "trigger failed")
                self._end(context, job_run, job_run["job_run_id"], f"gave up waiting ({error})")
        return super().resume_execution(next_method, next_kwargs, context)


# The command line that builds and runs spark-submit as `make job` and `make maintain` do.
SUBMIT = (sys.executable, "-m", "spacex_launches.job.submit")
# (config, run date, run id, exit code file) -> the command of a Spark job on this machine.
LocalCommand = Callable[[Settings, date, str, Path], list[str]]


class LocalSparkJobOperator(BaseOperator):
    """The Spark step in the local env (`make airflow`): the job with spark-submit on this machine, the
    way `make job` runs it (same jars, JVM options, lake and warehouse), for this run's date partition;
    or another `make` target's job (`command`, e.g. local_maintenance_command)."""

    def __init__(self, *, env: str, command: LocalCommand | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.env = env
        self.command = command or local_job_command

    def execute(self, context) -> str:
        config = load_settings(self.env)
        when = run_date(context)
        lake = LakePaths.at(in_project(str(config.required.lake))).root
        run_id = f"{self.env}-{when:%Y%m%d}-{uuid.uuid4().hex[:8]}"
        job_run = {"run_date": when.isoformat(), "run_id": run_id, "lake": lake, "state": "RUNNING"}
        context["ti"].xcom_push(key=JOB_RUN_KEY, value=job_run)
        with tempfile.TemporaryDirectory(prefix="spacex-job-") as scratch:
            exit_file = Path(scratch) / "exit_code"
            command = self.command(config, when, run_id, exit_file)
            self.log.info("running %s", " ".join(command))
            tail: deque[str] = deque(maxlen=40)
            with subprocess.Popen(
                command,
                cwd=PROJECT_DIR,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, **local_job_environment(config)},
            ) as process:
                assert process.stdout is not None  # stdout=PIPE
                for line in process.stdout:
                    self.log.info("%s", line.rstrip())
                    tail.append(line.rstrip())
            # The job's own code (docs/running.md "Exit codes") as the command wrote it, else how the command ended.
            code = int(exit_file.read_text()) if exit_file.is_file() else process.returncode
        state = "COMPLETED" if code == 0 else "FAILED"
        context["ti"].xcom_push(key=JOB_RUN_KEY, value={**job_run, "state": state, "exit_code": code})
        if code != 0:
            raise AirflowException(
                f"the Spark job exited with code {code} ({meaning(code)}); last lines:\n" + "\n".join(tail)
            )
        return run_id


def in_project(path: str) -> str:
    """A local path from conf (relative to the repo, as `make` uses it) made absolute; URIs unchanged."""
    return path if "://" in path or Path(path).is_absolute() else str(PROJECT_DIR / path)


def local_job_command(config: Settings, when: date, run_id: str, exit_code_file: Path) -> list[str]:
    """`make job` for one run date, through the same builder (spacex_launches.job.submit): the job reads
    <lake>/raw/spacex/{launches,cores}/ingest_date=<when> and writes its exit code to `exit_code_file`.
    The warehouse goes in the environment (local_job_environment): a process's arguments are readable
    by every user of the machine."""
    lake = LakePaths.at(in_project(str(config.required.lake)))
    return [
        *SUBMIT,
        "job",
        "--env",
        config.env,
        f"--input={lake.raw('launches')}",
        f"--cores-input={lake.raw('cores')}",
        f"--lake={lake.root}",
        f"--exit-code-file={exit_code_file}",
        f"--job-args=--ingest-date {when} --run-id {run_id}",
    ]


def local_maintenance_command(config: Settings, when: date, run_id: str, exit_code_file: Path) -> list[str]:
    """`make maintain` on the env's lake (the run date plays no part: the upkeep covers every table);
    the warehouse, whose loaded snapshots are kept, in the environment as for local_job_command."""
    lake = LakePaths.at(in_project(str(config.required.lake)))
    return [
        *SUBMIT,
        "maintain",
        "--env",
        config.env,
        f"--lake={lake.root}",
        f"--exit-code-file={exit_code_file}",
        f"--job-args=--run-id {run_id}",
    ]


def local_job_environment(config: Settings) -> dict[str, str]:
    """What the local Spark step reads from the environment: the warehouse (a path or a URL)."""
    warehouse = config.warehouse.target
    if warehouse == "duckdb":
        warehouse = in_project(str(config.warehouse.duckdb_path))
    return {WAREHOUSE_VARIABLE: warehouse}


def post_alert(url: str, text: str, timeout: float = 10.0) -> None:
    """POST a Slack-compatible message ({"text": ...}) to an incoming-webhook URL."""
    response = requests.post(url, json={"text": text}, timeout=timeout)
    response.raise_for_status()


def failure_text(env: str, context: dict[str, Any]) -> str:
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    retrying = getattr(ti, "state", None) == "up_for_retry"
    return (
        f":red_circle: {getattr(dag_run, 'dag_id', None) or 'spacex_launches'} ({env}) task "
        f"{getattr(ti, 'task_id', '?')} failed"
        f"{' (will retry)' if retrying else ''} in run {getattr(dag_run, 'run_id', '?')}"
        f" (try {getattr(ti, 'try_number', '?')}): {redact_text(str(context.get('exception')))}"
    )


class FailureAlert:
    """on_failure_callback / on_retry_callback: log the failure and post it to the webhook URL held in an
    Airflow Variable. A missing Variable or an unreachable webhook is logged, never raised (the task has
    failed anyway)."""

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


def run_metrics_task(env: str, ti, **context: Any) -> dict[str, float]:
    """Read the report of the run spark_job started (run id and lake from its XCom) and send its counts,
    rule failures, status and duration as statsd gauges. Skipped when the job run wrote no report
    because it never ran to the end (cancelled, or failed before the job started)."""
    config = load_settings(env)
    job_run = ti.xcom_pull(task_ids=SPARK_TASK_ID, key=JOB_RUN_KEY)
    if not job_run:
        raise AirflowSkipException(f"{SPARK_TASK_ID} started no job run: no report to send")
    try:
        report = read_run_report(config, job_run["lake"], job_run["run_id"])
    except FileNotFoundError as exc:
        if job_run.get("state") == "COMPLETED":
            raise
        raise AirflowSkipException(f"{exc} (the job run ended {job_run.get('state')})") from exc
    run = RunReport.from_dict(report)
    metrics = report_metrics(run)
    for name, value in metrics.items():
        stats.gauge(name, value)
    log.info("run %s (%s): sent %d gauges: %s", run.run_id, run.status, len(metrics), metrics)
    return metrics
