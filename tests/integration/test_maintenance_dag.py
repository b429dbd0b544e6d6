"""The weekly maintenance DAG's job runs on moto's emr-containers (127.0.0.1): followed by their own
name, apart from the ETL's runs for the same date. moto leaves runs RUNNING; the test sets a run's state
in moto's backend (the server runs in this process), the code under test only talks HTTP to it.

(A whole run of maintain_lake.py on the emr-containers stand-in, through `airflow dags test`, is not
here: it would add a packaged-artifacts deploy, an Airflow metadata database and a Spark run, several
minutes on a 2-core machine, for what tests/integration/test_dag_end_to_end.py already proves of the
same operator and request builder.)
"""

from __future__ import annotations

import time
from datetime import date

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.emrcontainers.models import emrcontainers_backends

from rehearsal.stand_in import client_token_idempotency
from spacex_launches.common.settings import load_settings
from spacex_launches.orchestration.emr_runs import maintenance_job, request_for_next_run, submit
from spacex_launches.orchestration.run_metrics import job_arguments

pytestmark = pytest.mark.integration

RUN_DATE = date(2026, 11, 22)
VERSION = "testsha"


@pytest.fixture
def cluster(aws_env, monkeypatch):
    client = boto3.client("emr-containers", region_name="us-east-1")
    unique = time.monotonic_ns()  # moto allows one virtual cluster per namespace
    cluster_id = client.create_virtual_cluster(
        name=f"spacex-maint-{unique}",
        containerProvider={
            "id": "spacex-dev",
            "type": "EKS",
            "info": {"eksInfo": {"namespace": f"m-{unique}"}},
        },
    )["id"]
    monkeypatch.setenv("EMR_VIRTUAL_CLUSTER_ID", cluster_id)
    return client, cluster_id


def backend():
    return emrcontainers_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


def test_maintenance_runs_are_followed_apart_from_the_etl_runs_of_the_same_date(cluster):
    client, cluster_id = cluster
    config = load_settings("dev")
    job = maintenance_job(config)
    with client_token_idempotency(backend()):
        maintenance = request_for_next_run(client, config, RUN_DATE, VERSION, **job)
        maintenance_id = submit(client, maintenance.request)
        # The ETL's run for that date is not the maintenance run: a run of its own, attempt 0.
        etl = request_for_next_run(client, config, RUN_DATE, VERSION)
        assert etl.in_flight is None and etl.request["tags"]["attempt"] == "0"
        etl_id = submit(client, etl.request)
        assert etl_id != maintenance_id
        # A retried maintenance task follows its own run (same token: EMR returns it), not the ETL's.
        again = request_for_next_run(client, config, RUN_DATE, VERSION, **job)
        assert again.in_flight["id"] == maintenance_id and again.request == maintenance.request
        assert submit(client, again.request) == maintenance_id
        # Once it failed, the next maintenance attempt is a new run; the ETL's is still followed as it was.
        backend().job_runs[maintenance_id].state = "FAILED"
        retry = request_for_next_run(client, config, RUN_DATE, VERSION, **job)
        assert retry.in_flight is None and retry.request["tags"]["attempt"] == "1"
        retry_id = submit(client, retry.request)
        assert request_for_next_run(client, config, RUN_DATE, VERSION).in_flight["id"] == etl_id
    runs = {run["id"]: run for run in client.list_job_runs(virtualClusterId=cluster_id)["jobRuns"]}
    assert set(runs) == {maintenance_id, etl_id, retry_id}
    described = client.describe_job_run(id=retry_id, virtualClusterId=cluster_id)["jobRun"]
    driver = described["jobDriver"]["sparkSubmitJobDriver"]
    assert driver["entryPoint"].endswith(f"/{VERSION}/maintain_lake.py")
    assert job_arguments(described)["--lake"] == config.lake
    assert described["name"] == runs[maintenance_id]["name"] != runs[etl_id]["name"]
