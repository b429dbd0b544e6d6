"""The real DAG end to end under Airflow's own runner (`airflow dags test`), as `make rehearsal` runs it
(tests/rehearsal/rehearse.py): the ingest task fetches from an HTTP server on 127.0.0.1 into the raw
zone on moto's S3, the EMR task sends the production request through EmrContainerOperator to moto's
emr-containers and waits deferred, the stand-in runs the deployed artifacts in a clean Python, and
run_metrics and warehouse_checks run against statsd and PostgreSQL.

1. A job run FAILS with exit 3 (the warehouse database is not there yet: an outage): the alert carries
   the failure class, the reason and the driver's log; the fix lands; the retry starts a new job run,
   which completes; metrics, checks and answers.
2. A job run FAILS with exit 2 (its warehouse secret is missing: a refused configuration): not retried,
   one job run for the date, the alert says why.
3. A job run never leaves PENDING: the task gives up after airflow.emr_timeout_s and cancels it; the
   retry starts another one (never two in flight), which is cancelled too.

The retry budget (spacex_launches.orchestration.retry_budget): EMR retries nothing, Airflow retries exit 3 and 4 and a
driver that never finished, never exit 1 or 2.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest

from rehearsal.rehearse import (
    API_PATH,
    CORES_PATH,
    PYTHON_VERSION,
    SAMPLE_CORES,
    StatsdListener,
    airflow_environ,
    create_account,
    create_warehouse_secret,
    moto_emr_backend,
    run_dag,
    warehouse_environ,
)
from rehearsal.servers import create_database, http_server
from rehearsal.stand_in import EmrOnEksStandIn
from spacex_launches.common.settings import Settings
from spacex_launches.job.run_report import RunReport
from spacex_launches.orchestration.emr_runs import ACTIVE_STATES
from spacex_launches.orchestration.run_metrics import report_metrics
from spacex_launches.warehouse import read_sql
from spacex_launches.warehouse.postgres import PostgresLoader
from support.paths import SAMPLE_DIR, SNAPSHOT_FILE

pytestmark = pytest.mark.integration

# The answers for what the API serves: the real snapshot, or the repo's v5 sample where it is absent.
EXPECTED = {
    SNAPSHOT_FILE.name: {
        "max_core_reuse": [("5e9e28a7f3591817f23b2663", None, 13, 14)],
        "reflights": (25, 9),
    },
    "20240101T060000Z-api-v5.json": {
        "max_core_reuse": [("5a3b1e0000000000000c0a01", "B9001", 4, 5)],
        "reflights": (4, 3),
    },
}


@pytest.fixture(scope="module")
def api_body():
    return SNAPSHOT_FILE if SNAPSHOT_FILE.is_file() else SAMPLE_DIR / "20240101T060000Z-api-v5.json"


@pytest.fixture(scope="module")
def api(api_body):
    """The SpaceX API (its launches, and the repo's sample as its cores) and the alert webhook."""
    with http_server() as server:
        server.expect_request(API_PATH).respond_with_data(
            api_body.read_bytes(), content_type="application/json"
        )
        server.expect_request(CORES_PATH).respond_with_data(
            SAMPLE_CORES.read_bytes(), content_type="application/json"
        )
        yield server


@pytest.fixture(scope="module")
def statsd():
    listener = StatsdListener()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    """One Airflow home (metadata database) for both runs: migrated once."""
    return tmp_path_factory.mktemp("airflow_home")


def alerts(api, path: str) -> list[str]:
    return [request.get_json()["text"] for request, _ in api.log if request.path == path]


def job_runs_of(account) -> list:
    runs = [
        run
        for run in moto_emr_backend().job_runs.values()
        if run.virtual_cluster_id == account.virtual_cluster_id
    ]
    return sorted(runs, key=lambda run: int(run.tags["attempt"]))


def entry_arguments(job_run) -> dict[str, str]:
    words = job_run.job_driver["sparkSubmitJobDriver"]["entryPointArguments"]
    return dict(zip(words[::2], words[1::2], strict=True))


def test_a_warehouse_outage_is_retried_once_and_the_retry_runs_a_new_job_run_to_the_answers(
    moto_server, emr_artifacts, emr_python, postgres_port, airflow_home, api, api_body, statsd, tmp_path
):
    account = create_account(moto_server, f"daga{uuid.uuid4().hex[:6]}", emr_artifacts.artifacts_uri)
    name = f"spacex_{uuid.uuid4().hex[:8]}"
    database = f"postgresql://postgres@127.0.0.1:{postgres_port}/{name}"
    create_warehouse_secret(account, database)  # its database does not exist yet: the warehouse is down
    alert_path = f"/alerts/{account.virtual_cluster_id}"
    api.expect_request(alert_path, method="POST").respond_with_data("ok")
    run_date = date(2026, 11, 20)

    def fail_then_fix(stand_in, job_run):
        execution = stand_in.run(job_run)  # the job cannot reach the warehouse: exit 3
        assert execution.exit_code == 3, execution.stdout[-3000:] + execution.stderr[-3000:]
        create_database(postgres_port, name)  # the warehouse is back before Airflow retries

    stand_in = EmrOnEksStandIn(
        moto_emr_backend(),
        account.virtual_cluster_id,
        moto_server,
        emr_python,
        PYTHON_VERSION,
        tmp_path / "runs",
        job_env=warehouse_environ(account),
        plan=[fail_then_fix],
    )
    environ = airflow_environ(
        account,
        airflow_home,
        emr_artifacts.version,
        api.url_for("/").rstrip("/"),
        api.url_for(alert_path),
        statsd.port,
        SPACEX_AIRFLOW_RETRIES="1",
    )
    with stand_in:
        result = run_dag(environ, run_date)

    assert stand_in.errors == []
    assert result.dag_run_state == "success", result.output[-6000:]
    assert result.tasks == {
        "ingest": ("success", 1),
        "spark_job": ("success", 2),
        "run_metrics": ("success", 1),
        "warehouse_checks": ("success", 1),
        "done": ("success", 1),
    }

    # The run date travels: ingest landed the API's launches and cores in that date's partitions, and
    # both job runs read exactly those partitions of this lake.
    s3 = account.client("s3")
    lake_bucket = account.lake.removeprefix("s3://")
    raw = [item["Key"] for item in s3.list_objects_v2(Bucket=lake_bucket, Prefix="raw/")["Contents"]]
    assert sorted(key.rsplit("/", 1)[0] for key in raw) == [
        *["raw/spacex/cores/ingest_date=2026-11-20"] * 2,  # the response and its manifest
        *["raw/spacex/launches/ingest_date=2026-11-20"] * 2,
    ]
    first, second = job_runs_of(account)
    for job_run in (first, second):
        arguments = entry_arguments(job_run)
        assert arguments["--ingest-date"] == "2026-11-20"
        assert arguments["--input"] == f"{account.lake}/raw/spacex/launches"
        assert arguments["--cores-input"] == f"{account.lake}/raw/spacex/cores"

    # The failed run: FAILED with EMR's reason; the alert (on the retry) carries it and the driver's log.
    assert (first.state, second.state) == ("FAILED", "COMPLETED")
    assert first.client_token != second.client_token and first.name == second.name
    assert stand_in.sent_tokens == [first.client_token, second.client_token]
    [alert] = alerts(api, alert_path)
    assert "task spark_job failed (will retry)" in alert and "(try 1)" in alert
    assert f"job run {first.id} FAILED: USER_ERROR: Jobrun failed." in alert
    assert "failure class warehouse (exit 3, run report" in alert and "retried by Airflow" in alert
    assert "driver stdout, last" in alert and "cannot connect" in alert
    assert "driver stdout, last" in result.output  # and the task log has it too
    first_report = json.loads(
        s3.get_object(Bucket=lake_bucket, Key=f"_reports/{entry_arguments(first)['--run-id']}.json")[
            "Body"
        ].read()
    )
    assert first_report["status"] == "failed" and ": cannot connect" in first_report["error"]

    # The new run's report is the one run_metrics sent (its run id came through XCom).
    run_id = entry_arguments(second)["--run-id"]
    assert run_id != entry_arguments(first)["--run-id"]
    report = json.loads(s3.get_object(Bucket=lake_bucket, Key=f"_reports/{run_id}.json")["Body"].read())
    assert report["status"] == "succeeded"
    expected_gauges = {
        f"airflow.{name}": value for name, value in report_metrics(RunReport.from_dict(report)).items()
    }
    assert {name: statsd.gauges.get(name) for name in expected_gauges} == expected_gauges

    # The answers, from PostgreSQL (standing in for Redshift).
    loader = PostgresLoader.from_spec(database, Settings())
    expected = EXPECTED[api_body.name]
    assert loader.query(read_sql("max_core_reuse.sql"))[1] == expected["max_core_reuse"]
    reflights = loader.query(read_sql("cores_reused_within_50_days.sql"))[1]
    assert (len(reflights), len({row[0] for row in reflights})) == expected["reflights"]


def test_a_refused_configuration_exit_2_is_not_retried(
    moto_server, emr_artifacts, emr_python, airflow_home, api, tmp_path
):
    account = create_account(moto_server, f"dagc{uuid.uuid4().hex[:6]}", emr_artifacts.artifacts_uri)
    alert_path = f"/alerts/{account.virtual_cluster_id}"
    api.expect_request(alert_path, method="POST").respond_with_data("ok")
    stand_in = EmrOnEksStandIn(
        moto_emr_backend(),
        account.virtual_cluster_id,
        moto_server,
        emr_python,
        PYTHON_VERSION,
        tmp_path / "runs",
        job_env=warehouse_environ(account),  # its secret is never created: exit 2
    )
    environ = airflow_environ(
        account,
        airflow_home,
        emr_artifacts.version,
        api.url_for("/").rstrip("/"),
        api.url_for(alert_path),
        SPACEX_AIRFLOW_RETRIES="2",
    )
    with stand_in:
        result = run_dag(environ, date(2026, 11, 18))

    assert stand_in.errors == []
    assert [execution.exit_code for execution in stand_in.executions] == [2]
    assert result.dag_run_state == "failed"
    assert result.tasks["spark_job"] == ("failed", 1)  # 2 retries set, none used
    [job_run] = job_runs_of(account)
    assert job_run.state == "FAILED"
    [alert] = alerts(api, alert_path)
    assert "(will retry)" not in alert
    assert "failure class refused (exit 2, " in alert and "not retried" in alert
    assert f"error: secret {account.warehouse_secret!r} could not be read: ResourceNotFoundException" in alert


def test_a_run_that_never_starts_is_cancelled_when_the_task_gives_up_and_the_retry_starts_another(
    moto_server, emr_artifacts, emr_python, airflow_home, api, tmp_path
):
    account = create_account(moto_server, f"dagb{uuid.uuid4().hex[:6]}", emr_artifacts.artifacts_uri)
    alert_path = f"/alerts/{account.virtual_cluster_id}"
    api.expect_request(alert_path, method="POST").respond_with_data("ok")
    in_flight_at_start = []

    def hold(stand_in, job_run):
        others = [run for run in job_runs_of(account) if run.id != job_run.id and run.state in ACTIVE_STATES]
        in_flight_at_start.append(len(others))
        stand_in.hold(job_run)

    stand_in = EmrOnEksStandIn(
        moto_emr_backend(),
        account.virtual_cluster_id,
        moto_server,
        emr_python,
        PYTHON_VERSION,
        tmp_path / "runs",
        job_env=warehouse_environ(account),
        plan=[hold, hold],
    )
    environ = airflow_environ(
        account,
        airflow_home,
        emr_artifacts.version,
        api.url_for("/").rstrip("/"),
        api.url_for(alert_path),
        SPACEX_EMR_TIMEOUT_S="3",
        SPACEX_AIRFLOW_RETRIES="1",
    )
    with stand_in:
        result = run_dag(environ, date(2026, 11, 19))

    assert stand_in.errors == [] and stand_in.executions == []
    assert result.dag_run_state == "failed"
    assert result.tasks["spark_job"] == ("failed", 2)
    assert result.tasks["run_metrics"][0] == "skipped"  # no report: the job never ran
    assert result.tasks["warehouse_checks"][0] == "upstream_failed"

    first, second = job_runs_of(account)
    assert (first.state, second.state) == ("CANCELLED", "CANCELLED")
    assert in_flight_at_start == [0, 0]  # the retry started its run only once the first was cancelled
    assert first.client_token != second.client_token
    retry_alert, final_alert = alerts(api, alert_path)
    for alert, job_run in ((retry_alert, first), (final_alert, second)):
        assert f"gave up on job run {job_run.id} after 3 checks 1 s apart (airflow.emr_timeout_s)" in alert
        assert f"cancelled job run {job_run.id}" in alert
        assert f"job run {job_run.id} CANCELLED" in alert
        assert (
            "failure class lost (job run CANCELLED, no run report)" in alert and "retried by Airflow" in alert
        )
    assert "(will retry)" in retry_alert and "(will retry)" not in final_alert
