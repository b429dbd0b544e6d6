"""The Airflow DAGs (the daily ETL, the weekly lake upkeep) parse in a DagBag and are wired as designed,
in dev and in local (`make airflow`). Their alert posting to a webhook: tests/integration/test_dag_alert.py."""

from __future__ import annotations

import logging
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from spacex_launches.job import submit

pytest.importorskip("airflow")

REPO = Path(__file__).resolve().parents[2]


def load_dag(tmp_path_factory, env: str, dag_id: str = "spacex_launches"):
    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    patch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    patch.setenv("SPACEX_ENV", env)
    patch.setenv("EMR_ARTIFACTS_VERSION", "abc1234")
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dags) == {"spacex_launches", "spacex_lake_maintenance"}
    return bag.dags[dag_id], patch


@pytest.fixture(scope="module")
def dag(tmp_path_factory):
    dag, patch = load_dag(tmp_path_factory, "dev")
    yield dag
    patch.undo()


def test_tasks_order_and_schedule(dag):
    from spacex_launches.common.settings import load_settings

    assert [task.task_id for task in dag.topological_sort()] == [
        "ingest",
        "spark_job",
        "run_metrics",
        "warehouse_checks",
        "done",
    ]
    assert dag.get_task("spark_job").upstream_task_ids == {"ingest"}
    assert dag.get_task("run_metrics").upstream_task_ids == {"spark_job"}
    # The checks need the Spark job itself to have succeeded, not only its metrics to have been sent.
    assert dag.get_task("warehouse_checks").upstream_task_ids == {"spark_job", "run_metrics"}
    assert dag.get_task("done").upstream_task_ids == {"warehouse_checks"}
    assert dag.timetable.expression == load_settings("dev", environ={}).airflow.schedule == "0 6 * * *"
    assert dag.catchup is False
    assert dag.max_active_runs == 1


def test_retries_backoff_and_an_alert_on_every_failed_try(dag):
    from spacex_launches.orchestration.airflow_tasks import FailureAlert

    for task in dag.tasks:
        assert task.retries == 3
        assert task.retry_exponential_backoff
        assert task.retry_delay == timedelta(minutes=2)
        assert task.max_retry_delay == timedelta(minutes=30)
        [callback] = task.on_failure_callback
        assert isinstance(callback, FailureAlert)
        assert callback.webhook_variable == "spacex_alert_webhook_url"
        assert task.on_retry_callback == [callback]  # a failed try that will be retried alerts too


def test_the_emr_task_waits_deferred_bounded_and_has_a_timeout(dag):
    task = dag.get_task("spark_job")
    assert task.deferrable is True and task.cancel_on_kill is True
    assert task.poll_interval == 60 and task.max_polling_attempts == 120  # 2 h (airflow.emr_timeout_s)
    assert task.execution_timeout == timedelta(seconds=7200 + 2 * 60 + 300)  # the backstop, after it
    assert task.client_request_token is None  # chosen per attempt in execute(), never a fresh uuid


def test_run_metrics_runs_after_a_failed_job_too(dag):
    from airflow.sdk import TriggerRule

    from spacex_launches.orchestration.airflow_tasks import run_metrics_task

    task = dag.get_task("run_metrics")
    assert task.python_callable is run_metrics_task and task.op_kwargs == {"env": "dev"}
    assert task.trigger_rule == TriggerRule.ALL_DONE  # a failed run's report has the counts that matter
    assert dag.get_task("warehouse_checks").trigger_rule == TriggerRule.ALL_SUCCESS


def test_emr_task_takes_exactly_the_built_request(dag):
    from airflow.providers.amazon.aws.operators.emr import EmrContainerOperator

    from spacex_launches.common.settings import load_settings
    from spacex_launches.orchestration.airflow_tasks import operator_kwargs
    from spacex_launches.orchestration.emr_request import build_job_run_request

    task = dag.get_task("spark_job")
    assert isinstance(task, EmrContainerOperator)
    assert task.deferrable is True and task.aws_conn_id == "aws_default"
    request = build_job_run_request(load_settings("dev"), date(2026, 11, 23), version="abc1234", attempt=1)
    task.apply_request(request)
    for attribute, value in operator_kwargs(request).items():
        assert getattr(task, attribute) == value, attribute
    assert task.client_request_token == request["clientToken"]  # not a fresh uuid per try


def test_in_local_env_the_spark_step_runs_make_job_for_the_run_date(tmp_path_factory, tmp_path):
    from spacex_launches.common.settings import load_settings
    from spacex_launches.orchestration.airflow_tasks import (
        LocalSparkJobOperator,
        local_job_command,
        local_job_environment,
    )

    dag, patch = load_dag(tmp_path_factory, "local")
    try:
        assert [task.task_id for task in dag.topological_sort()][:2] == ["ingest", "spark_job"]
        assert isinstance(dag.get_task("spark_job"), LocalSparkJobOperator)
        assert type(dag.timetable).__name__ == "NullTimetable"  # manual runs only
        config = load_settings("local")
        command = local_job_command(config, date(2026, 11, 23), "local-20261123-abc", tmp_path / "code")
        environment = local_job_environment(config)
    finally:
        patch.undo()
    assert command[:3] == [sys.executable, "-m", "spacex_launches.job.submit"]  # what `make job` runs
    arguments = submit.parser().parse_args(command[3:])
    assert (arguments.command, arguments.env) == ("job", "local")
    assert arguments.input == str(REPO / "lake" / "raw" / "spacex" / "launches")
    assert arguments.cores_input == str(REPO / "lake" / "raw" / "spacex" / "cores")
    assert arguments.exit_code_file == str(tmp_path / "code")  # also read when the process ends otherwise
    assert not [word for word in command if "duckdb" in word]  # a URL may carry a user: in the environment
    assert environment == {"SPACEX_WAREHOUSE": str(REPO / "warehouse" / "launches.duckdb")}
    assert arguments.job_args == "--ingest-date 2026-11-23 --run-id local-20261123-abc"


def test_failure_alert_without_webhook_only_logs(monkeypatch, caplog):
    from spacex_launches.orchestration.airflow_tasks import FailureAlert

    monkeypatch.delenv("AIRFLOW_VAR_SPACEX_ALERT_WEBHOOK_URL", raising=False)
    with caplog.at_level(logging.WARNING):
        FailureAlert("dev", "spacex_alert_webhook_url")({"exception": RuntimeError("boom")})
    assert "Variable 'spacex_alert_webhook_url' is not set" in caplog.text


@pytest.fixture(scope="module")
def maintenance_dag(tmp_path_factory):
    dag, patch = load_dag(tmp_path_factory, "dev", "spacex_lake_maintenance")
    yield dag
    patch.undo()


def test_maintenance_dag_is_weekly_one_run_at_a_time_with_the_same_retries_and_alerts(maintenance_dag, dag):
    from spacex_launches.common.settings import load_settings

    assert [task.task_id for task in maintenance_dag.tasks] == ["maintain"]
    config = load_settings("dev", environ={})
    assert maintenance_dag.timetable.expression == config.airflow.maintenance_schedule == "0 5 * * 0"
    assert maintenance_dag.catchup is False and maintenance_dag.max_active_runs == 1
    [task] = maintenance_dag.tasks
    etl_task = dag.get_task("spark_job")
    for attribute in (
        "retries",
        "retry_delay",
        "retry_exponential_backoff",
        "max_retry_delay",
        "owner",
        "execution_timeout",
        "poll_interval",
        "max_polling_attempts",
        "deferrable",
    ):
        assert getattr(task, attribute) == getattr(etl_task, attribute), attribute
    [callback] = task.on_failure_callback
    assert callback.webhook_variable == "spacex_alert_webhook_url" and task.on_retry_callback == [callback]


def test_maintenance_task_sends_the_maintain_lake_request_with_its_own_job_name_and_token(maintenance_dag):
    from airflow.providers.amazon.aws.operators.emr import EmrContainerOperator

    from spacex_launches.common.settings import load_settings
    from spacex_launches.orchestration.airflow_tasks import LaunchesEmrJobOperator, operator_kwargs
    from spacex_launches.orchestration.emr_request import build_job_run_request
    from spacex_launches.orchestration.run_metrics import job_arguments

    task = maintenance_dag.get_task("maintain")
    assert isinstance(task, LaunchesEmrJobOperator) and isinstance(task, EmrContainerOperator)
    assert task.client_request_token is None  # chosen per attempt in execute(), never a fresh uuid
    config = load_settings("dev")
    assert task.job == {
        "entry_point": "maintain_lake.py",
        "arguments": ["--env", "dev", "--lake", config.lake],
        "job_name": "spacex-launches-etl-maintenance",
    }
    when = date(2026, 11, 22)
    request = build_job_run_request(config, when, version="abc1234", **task.job)
    etl = build_job_run_request(config, when, version="abc1234")
    task.apply_request(request)
    for attribute, value in operator_kwargs(request).items():
        assert getattr(task, attribute) == value, attribute
    assert task.job_driver["sparkSubmitJobDriver"]["entryPoint"].endswith("/abc1234/maintain_lake.py")
    assert job_arguments(request)["--lake"] == config.lake
    assert task.name != etl["name"] and task.client_request_token != etl["clientToken"]


def test_in_local_env_maintenance_runs_make_maintain_on_the_lake(tmp_path_factory, tmp_path):
    from spacex_launches.common.settings import load_settings
    from spacex_launches.orchestration.airflow_tasks import LocalSparkJobOperator, local_maintenance_command

    dag, patch = load_dag(tmp_path_factory, "local", "spacex_lake_maintenance")
    try:
        task = dag.get_task("maintain")
        assert isinstance(task, LocalSparkJobOperator) and task.command is local_maintenance_command
        assert type(dag.timetable).__name__ == "NullTimetable"  # manual runs only, like the ETL locally
        command = task.command(
            load_settings("local"), date(2026, 11, 22), "local-20261122-abc", tmp_path / "c"
        )
    finally:
        patch.undo()
    assert command[:4] == [sys.executable, "-m", "spacex_launches.job.submit", "maintain"]
    arguments = submit.parser().parse_args(command[3:])
    assert (arguments.env, arguments.lake) == ("local", str(REPO / "lake"))
    assert arguments.exit_code_file == str(tmp_path / "c")
    assert arguments.job_args == "--run-id local-20261122-abc"
    # the warehouse goes in the environment (local_job_environment), never in the arguments
    assert not [word for word in command if "duckdb" in word]
