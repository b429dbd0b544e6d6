"""`make submit`, `make deploy` and the DAG's EMR task against moto's server on 127.0.0.1.

moto leaves job runs RUNNING: the tests set the state in moto's backend (the server runs in this
process), the code under test only talks HTTP to it.
"""

from __future__ import annotations

import copy
import gzip
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.emrcontainers.models import emrcontainers_backends

from rehearsal.stand_in import client_token_idempotency
from spacex_launches.common.settings import load_settings
from spacex_launches.exceptions import RunInFlightElsewhere
from spacex_launches.orchestration.emr_request import build_job_run_request
from spacex_launches.orchestration.emr_runs import failure_report, request_for_next_run, submit
from spacex_launches.orchestration.run_metrics import job_arguments

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
RUN_DATE = "2026-11-23"
VERSION = "testsha"
# The request fields moto keeps (it drops retryPolicyConfiguration).
STORED = (
    "name",
    "virtualClusterId",
    "clientToken",
    "executionRoleArn",
    "releaseLabel",
    "jobDriver",
    "configurationOverrides",
    "tags",
)


@pytest.fixture
def cluster(aws_env, monkeypatch):
    client = boto3.client("emr-containers", region_name="us-east-1")
    unique = time.monotonic_ns()  # moto allows one virtual cluster per namespace
    cluster_id = client.create_virtual_cluster(
        name=f"spacex-test-{unique}",
        containerProvider={
            "id": "spacex-dev",
            "type": "EKS",
            "info": {"eksInfo": {"namespace": f"ns-{unique}"}},
        },
    )["id"]
    monkeypatch.setenv("EMR_VIRTUAL_CLUSTER_ID", cluster_id)
    monkeypatch.delenv("CI", raising=False)
    return client, cluster_id


def expected_request(run_date: str = RUN_DATE, attempt: int = 0) -> dict:
    return build_job_run_request(
        load_settings("dev"), date.fromisoformat(run_date), version=VERSION, attempt=attempt
    )


def backend():
    return emrcontainers_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


def runs_on(client, cluster_id: str) -> list[dict]:
    return client.list_job_runs(virtualClusterId=cluster_id)["jobRuns"]


def submit_command(*extra: str) -> list[str]:
    return [
        sys.executable,
        "jobs/submit_emr.py",
        "--env",
        "dev",
        "--run-date",
        RUN_DATE,
        "--version",
        VERSION,
        *extra,
    ]


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, env=dict(os.environ), timeout=120, **kwargs
    )


def follow(
    command: list[str], client, cluster_id: str, state: str, **job_fields
) -> subprocess.CompletedProcess:
    """Start a waiting submit, let it see RUNNING, then end the run in moto's backend."""
    process = subprocess.Popen(
        command, cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not runs_on(client, cluster_id) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    [job_run] = runs_on(client, cluster_id)
    time.sleep(1.0)  # a few polls in RUNNING (the progress lines)
    job = backend().job_runs[job_run["id"]]
    job.state = state
    for name, value in job_fields.items():
        setattr(job, name, value)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_submit_starts_the_job_run_with_exactly_the_built_request(cluster):
    client, cluster_id = cluster
    result = run(submit_command())
    assert result.returncode == 0, result.stderr
    [job_run] = runs_on(client, cluster_id)
    described = client.describe_job_run(id=job_run["id"], virtualClusterId=cluster_id)["jobRun"]
    request = expected_request()
    assert {key: described[key] for key in STORED} == {key: request[key] for key in STORED}
    assert described["state"] == "RUNNING"
    assert f"job run      {job_run['id']}" in result.stdout
    assert (
        f"log group /emr-on-eks/spacex-launches-dev, streams spacex-launches/{cluster_id}/jobs/{job_run['id']}"
        in result.stdout
    )
    assert f"s3://spacex-logs-dev/emr-on-eks/{cluster_id}/jobs/{job_run['id']}/" in result.stdout


def test_make_submit_wait_follows_the_run_to_completed(cluster):
    client, cluster_id = cluster
    command = [
        "make",
        "--no-print-directory",
        "-o",
        ".venv/.installed",
        "submit",
        "ENV=dev",
        f"RUN_DATE={RUN_DATE}",
        f"VERSION={VERSION}",
        "WAIT=1",
        "POLL=0.2",
    ]
    result = follow(command, client, cluster_id, "COMPLETED")
    assert result.returncode == 0, result.stderr
    assert "] RUNNING" in result.stdout
    assert result.stdout.rstrip().endswith("COMPLETED")
    [job_run] = runs_on(client, cluster_id)
    assert job_run["clientToken"] == expected_request()["clientToken"]


def test_wait_on_a_failed_run_exits_non_zero_with_the_reason(cluster):
    client, cluster_id = cluster
    result = follow(
        submit_command("--wait", "--poll-seconds", "0.2"),
        client,
        cluster_id,
        "FAILED",
        failure_reason="USER_ERROR",
        state_details="Driver exited with code 2: bad input file s3://spacex-lake-dev/raw/x.json",
    )
    assert result.returncode == 1
    assert "FAILED: USER_ERROR: Driver exited with code 2: bad input file" in result.stderr


def test_prod_refuses_outside_ci_and_starts_nothing(cluster):
    client, cluster_id = cluster
    result = run([sys.executable, "jobs/submit_emr.py", "--env", "prod", "--version", VERSION])
    assert result.returncode == 2
    assert "refusing to submit to prod" in result.stderr
    assert runs_on(client, cluster_id) == []


def test_deploy_uploads_every_artifact_the_request_points_at(aws_env, monkeypatch, tmp_path):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="spacex-artifacts-test")
    monkeypatch.setenv("EMR_ARTIFACTS_URI", "s3://spacex-artifacts-test/spacex-launches")
    result = run(
        [
            sys.executable,
            "jobs/package.py",
            "--deploy",
            "--env",
            "dev",
            "--version",
            VERSION,
            "--dist",
            str(tmp_path / "dist"),
        ]
    )
    assert result.returncode == 0, result.stderr
    listed = s3.list_objects_v2(Bucket="spacex-artifacts-test", Prefix=f"spacex-launches/{VERSION}/")
    keys = {item["Key"] for item in listed["Contents"]}
    request = expected_request()
    driver = request["jobDriver"]["sparkSubmitJobDriver"]
    props = request["configurationOverrides"]["applicationConfiguration"][0]["properties"]
    referenced = [
        driver["entryPoint"],
        driver["sparkSubmitParameters"].split()[1],
        props["spark.archives"].split("#")[0],
        props["spark.kubernetes.driver.podTemplateFile"],
        props["spark.kubernetes.executor.podTemplateFile"],
    ]
    for uri in referenced:
        assert uri.startswith("s3://spacex-artifacts-test/"), uri
        assert uri.removeprefix("s3://spacex-artifacts-test/") in keys, uri
    assert f"spacex-launches/{VERSION}/MANIFEST.json" in keys


class TaskInstance:
    """What the EMR task uses of its task instance: XCom of its own task."""

    def __init__(self) -> None:
        self.xcom: dict[tuple[str, str], object] = {}
        self.task_id = "spark_job"

    def xcom_push(self, key: str, value) -> None:
        self.xcom[(self.task_id, key)] = value

    def xcom_pull(self, task_ids: str, key: str):
        return self.xcom.get((task_ids, key))


@pytest.fixture
def dag_emr_task(cluster, monkeypatch, tmp_path):
    """The DAG's own EMR task (env dev), its AWS connection on the moto server; StartJobRun honours
    client tokens as EMR does (the stand-in's emulation: moto would start a new run each time)."""
    from airflow.models import DagBag

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    monkeypatch.setenv("SPACEX_ENV", "dev")
    monkeypatch.setenv("EMR_ARTIFACTS_VERSION", VERSION)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        f'{{"conn_type": "aws", "extra": {{"endpoint_url": "{os.environ["AWS_ENDPOINT_URL"]}", '
        '"region_name": "us-east-1"}}',
    )
    dag = DagBag(dag_folder=str(REPO / "dags")).dags["spacex_launches"]
    sent_tokens: list[str] = []
    with client_token_idempotency(backend(), sent_tokens):
        yield dag, sent_tokens


def execute(dag, context: dict):
    """One try of the task: a fresh copy of the operator, as Airflow runs each try."""
    from airflow.sdk.exceptions import TaskDeferred

    task = dag.get_task("spark_job")
    task = copy.deepcopy(task)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context)
    return task, deferred.value


def test_the_dag_emr_task_sends_the_built_request_and_hands_the_run_on(cluster, dag_emr_task):
    """It submits, hands the run id and lake on through XCom, then defers to the trigger."""
    client, cluster_id = cluster
    dag, _ = dag_emr_task
    context = {"ds": RUN_DATE, "ti": TaskInstance()}
    task, deferred = execute(dag, context)
    [job_run] = runs_on(client, cluster_id)
    assert deferred.trigger.job_id == job_run["id"]
    assert (deferred.trigger.attempts, deferred.trigger.waiter_delay) == (120, 60)  # bounded: 2 h
    described = client.describe_job_run(id=job_run["id"], virtualClusterId=cluster_id)["jobRun"]
    request = expected_request()
    assert {key: described[key] for key in STORED} == {key: request[key] for key in STORED}
    arguments = job_arguments(request)
    assert context["ti"].xcom[("spark_job", "job_run")] == {
        "run_date": RUN_DATE,
        "attempt": 0,
        "run_id": arguments["--run-id"],
        "lake": arguments["--lake"],
        "virtual_cluster_id": cluster_id,
        "state": "SUBMITTED",
        "job_run_id": job_run["id"],
    }
    # The trigger's success event completes the task with the job run id.
    assert task.execute_complete(context, {"status": "success", "job_id": job_run["id"]}) == job_run["id"]
    assert context["ti"].xcom[("spark_job", "job_run")]["state"] == "COMPLETED"


def test_a_retry_follows_the_in_flight_run_and_after_a_failure_starts_a_new_one(cluster, dag_emr_task):
    client, cluster_id = cluster
    dag, sent_tokens = dag_emr_task
    _, first = execute(dag, {"ds": RUN_DATE, "ti": TaskInstance()})
    # A retry (or a duplicate DAG run) while the run is in flight: the same run, no second one.
    _, again = execute(dag, {"ds": RUN_DATE, "ti": TaskInstance()})
    assert again.trigger.job_id == first.trigger.job_id
    assert len(runs_on(client, cluster_id)) == 1 and sent_tokens[0] == sent_tokens[1]
    # The run FAILED: the next try starts a new run, with a new token and run id.
    backend().job_runs[first.trigger.job_id].state = "FAILED"
    context = {"ds": RUN_DATE, "ti": TaskInstance()}
    _, retried = execute(dag, context)
    assert retried.trigger.job_id != first.trigger.job_id
    runs = {run["id"]: run for run in runs_on(client, cluster_id)}
    assert len(runs) == 2 and runs[retried.trigger.job_id]["tags"]["attempt"] == "1"
    assert len(set(sent_tokens)) == 2
    assert (
        context["ti"].xcom[("spark_job", "job_run")]["run_id"]
        == job_arguments(expected_request(attempt=1))["--run-id"]
    )


def test_the_task_cancels_its_job_run_when_it_gives_up(cluster, dag_emr_task):
    from airflow.exceptions import AirflowException

    client, cluster_id = cluster
    dag, _ = dag_emr_task
    context = {"ds": RUN_DATE, "ti": TaskInstance()}
    task, deferred = execute(dag, context)
    job_id = deferred.trigger.job_id
    give_up = {"status": "error", "message": "Waiter error: max attempts reached", "job_id": job_id}
    with pytest.raises(
        AirflowException, match=rf"gave up on job run {job_id} after 120 checks 60 s apart"
    ) as error:
        task.execute_complete(context, give_up)
    assert f"cancelled job run {job_id}" in str(error.value)
    assert client.describe_job_run(id=job_id, virtualClusterId=cluster_id)["jobRun"]["state"] == "CANCELLED"
    assert context["ti"].xcom[("spark_job", "job_run")]["state"] == "CANCELLED"


def test_the_task_cancels_its_job_run_when_the_deferral_times_out(cluster, dag_emr_task):
    from airflow.exceptions import AirflowException

    client, cluster_id = cluster
    dag, _ = dag_emr_task
    context = {"ds": RUN_DATE, "ti": TaskInstance()}
    _, deferred = execute(dag, context)
    resumed = copy.deepcopy(dag.get_task("spark_job"))  # a new process resumes the task
    with pytest.raises(AirflowException, match=r"gave up waiting \(Trigger timeout\)"):
        resumed.resume_execution("__fail__", {"error": "Trigger timeout"}, context)
    state = client.describe_job_run(id=deferred.trigger.job_id, virtualClusterId=cluster_id)["jobRun"][
        "state"
    ]
    assert state == "CANCELLED"


def test_make_submit_follows_a_run_in_flight_instead_of_starting_another(cluster):
    client, cluster_id = cluster
    with client_token_idempotency(backend()):
        assert run(submit_command()).returncode == 0
        second = run(submit_command())
    assert second.returncode == 0, second.stderr
    [job_run] = runs_on(client, cluster_id)
    assert (
        f"job run {job_run['id']} for {RUN_DATE} is RUNNING: following it, not starting another"
        in second.stdout
    )


def test_the_failure_report_reads_the_last_driver_attempt_and_masks_secrets(aws_env):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="logs-masked")
    job_run = {
        "id": "j1",
        "virtualClusterId": "vc1",
        "state": "FAILED",
        "failureReason": "USER_ERROR",
        "stateDetails": "Jobrun failed.",
        "configurationOverrides": {
            "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": "s3://logs-masked/emr/"}}
        },
    }
    first = "emr/vc1/jobs/j1/containers/spark-1/spark-j1-driver/stdout.gz"  # EMR's first driver attempt
    s3.put_object(Bucket="logs-masked", Key=first, Body=gzip.compress(b"the first attempt\n"))
    time.sleep(1.1)  # S3 LastModified has whole seconds
    last = "emr/vc1/jobs/j1/containers/spark-2/spark-j1-driver/stdout.gz"
    log = b"connecting to postgresql://loader:s3cr3t@db:5432/spacex\nerror: boom\n"
    s3.put_object(Bucket="logs-masked", Key=last, Body=gzip.compress(log))

    text = failure_report(job_run, s3, None)

    assert text.splitlines()[0] == "job run j1 FAILED: USER_ERROR: Jobrun failed."
    assert f"driver stdout, last 2 lines (s3://logs-masked/{last}):" in text
    assert "the first attempt" not in text and "  | error: boom" in text
    assert "s3cr3t" not in text and "postgresql://loader:***@db:5432/spacex" in text
    assert "driver stderr" not in text  # none uploaded


def test_a_changed_request_is_refused_while_the_old_run_is_in_flight_and_then_starts_a_new_run(cluster):
    """The client token hashes the request: another artifacts version for the same date is another token,
    refused (both named) while the first run is in flight, a new run once it has ended."""
    client, cluster_id = cluster
    config, when = load_settings("dev"), date.fromisoformat(RUN_DATE)
    sent_tokens: list[str] = []
    with client_token_idempotency(backend(), sent_tokens):
        first = request_for_next_run(client, config, when, VERSION)
        first_id = submit(client, first.request)
        same = request_for_next_run(client, config, when, VERSION)  # the same request: follows the run
        assert same.in_flight["id"] == first_id and same.request == first.request
        assert submit(client, same.request) == first_id
        with pytest.raises(RunInFlightElsewhere) as refused:
            request_for_next_run(client, config, when, "othersha")
        other = build_job_run_request(config, when, version="othersha")
        message = str(refused.value)
        assert f"job run {first_id} ({first.request['name']}, attempt 0) is RUNNING" in message
        assert f"request {first.request['tags']['request']} (artifacts {VERSION}" in message
        assert f"this request is {other['tags']['request']} (artifacts othersha" in message
        assert len(runs_on(client, cluster_id)) == 1
        backend().job_runs[first_id].state = "FAILED"
        following = request_for_next_run(client, config, when, "othersha")
        assert following.in_flight is None and following.request["tags"]["attempt"] == "1"
        second_id = submit(client, following.request)
    assert second_id != first_id and len(runs_on(client, cluster_id)) == 2
    described = client.describe_job_run(id=second_id, virtualClusterId=cluster_id)["jobRun"]
    assert (
        described["tags"]["git_sha"] == "othersha"
        and described["clientToken"] == following.request["clientToken"]
    )
    assert sent_tokens == [first.request["clientToken"]] * 2 + [following.request["clientToken"]]
