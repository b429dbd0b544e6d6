"""`make rehearsal`: the cloud path as one piece on this machine, then the answers from its warehouse.

    python tests/rehearsal/rehearse.py [--api-body FILE] [--cores-body FILE] [--date YYYY-MM-DD] [--work DIR]

The real Airflow DAG (dags/spacex_launches.py, env dev, unchanged) runs under Airflow's own runner
(`airflow dags test`) against local stand-ins for everything it talks to:

- the SpaceX API: an HTTP server on 127.0.0.1 serving /v5/launches (the real snapshot in ../shared, or
  --api-body, or the repo's sample when neither is there) and /v4/cores (the repo's sample cores, or
  --cores-body);
- AWS: moto's server (S3 buckets named as in conf/dev.yaml, Secrets Manager, CloudWatch Logs,
  emr-containers with a virtual cluster), in this process;
- EMR on EKS: the stand-in in stand_in.py, which carries out each job run from the artifacts `make
  deploy` uploaded, in a clean Python with nothing but pyspark;
- Redshift: a throw-away PostgreSQL server, its credentials in a Secrets Manager secret.

The ingest task lands the API response in the raw zone on S3; the EMR task sends the production
request through the provider's EmrContainerOperator and waits deferred; run_metrics sends the run
report's gauges to a statsd listener here; warehouse_checks checks PostgreSQL. Then the two answers
are printed from PostgreSQL. Everything is stopped and removed at the end (--work keeps the files).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

import boto3  # noqa: E402

from rehearsal.servers import (  # noqa: E402
    AWS_REGION,
    aws_test_environment,
    create_database,
    http_server,
    moto_server,
    postgres_bindir,
    postgres_server,
)
from rehearsal.stand_in import EmrOnEksStandIn, clean_python  # noqa: E402
from spacex_launches.common.s3 import split_s3_uri  # noqa: E402
from spacex_launches.common.settings import Settings, load_settings  # noqa: E402

DAG_ID = "spacex_launches"
SNAPSHOT = REPO.parent / "shared" / "data" / "spacex" / "launches-v5-snapshot-2025-06-27.json"
SAMPLE = REPO / "sample" / "launches" / "20240101T060000Z-api-v5.json"
SAMPLE_CORES = REPO / "sample" / "cores" / "20240101T060000Z-api-v4.json"
API_PATH = "/v5/launches"
CORES_PATH = "/v4/cores"
ALERT_PATH = "/alerts"
PYTHON_VERSION = str(load_settings("dev", environ={}).emr.python.version)


@dataclass(frozen=True)
class Account:
    """The AWS resources of one rehearsal on the moto server (conf/dev.yaml's names by default)."""

    endpoint_url: str
    lake: str
    artifacts_uri: str
    log_uri: str
    log_group: str
    virtual_cluster_id: str
    warehouse_secret: str

    def environ(self) -> dict[str, str]:
        """Overrides of conf/dev.yaml (its documented variables) pointing at this account."""
        return {
            **aws_test_environment(self.endpoint_url),
            "SPACEX_LAKE": self.lake,
            "EMR_ARTIFACTS_URI": self.artifacts_uri,
            "EMR_LOG_URI": self.log_uri,
            "EMR_LOG_GROUP": self.log_group,
            "EMR_VIRTUAL_CLUSTER_ID": self.virtual_cluster_id,
        }

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=AWS_REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def create_account(endpoint_url: str, suffix: str = "", artifacts_uri: str | None = None) -> Account:
    """Buckets, log group, virtual cluster and warehouse secret name, as conf/dev.yaml names them
    (with `suffix` added, so several rehearsals can share one server; `artifacts_uri`: already deployed
    artifacts to use)."""
    config = load_settings("dev", environ={})
    emr = config.emr

    def bucket_of(uri: str) -> str:
        return split_s3_uri(uri)[0]

    names = {
        "lake": config.lake,
        "artifacts_uri": emr.artifacts_uri,
        "log_uri": emr.log_uri,
    }
    if suffix:
        names = {
            key: uri.replace(bucket_of(uri), f"{bucket_of(uri)}-{suffix}", 1) for key, uri in names.items()
        }
    if artifacts_uri:
        names["artifacts_uri"] = artifacts_uri
    new_buckets = {
        bucket_of(uri) for key, uri in names.items() if not (artifacts_uri and key == "artifacts_uri")
    }
    account = Account(
        endpoint_url=endpoint_url,
        virtual_cluster_id="",
        log_group=f"{emr.log_group}{'-' + suffix if suffix else ''}",
        warehouse_secret=f"spacex/dev/warehouse{'-' + suffix if suffix else ''}",
        **names,
    )
    s3 = account.client("s3")
    for bucket in new_buckets:
        s3.create_bucket(Bucket=bucket)
    account.client("logs").create_log_group(logGroupName=account.log_group)
    namespace = f"{emr.namespace}-{suffix or 'rehearsal'}-{time.monotonic_ns()}"
    cluster = account.client("emr-containers").create_virtual_cluster(
        name=f"spacex-dev-{suffix or 'rehearsal'}",
        containerProvider={"id": "spacex-dev", "type": "EKS", "info": {"eksInfo": {"namespace": namespace}}},
    )["id"]
    return Account(**{**account.__dict__, "virtual_cluster_id": cluster})


def create_warehouse_secret(account: Account, database_url: str) -> None:
    """The PostgreSQL standing in for Redshift, in a secret shaped like Redshift's (docs/warehouses.md)."""
    host_port, database = database_url.removeprefix("postgresql://postgres@").split("/")
    host, port = host_port.split(":")
    account.client("secretsmanager").create_secret(
        Name=account.warehouse_secret,
        SecretString=json.dumps(
            {"host": host, "port": int(port), "dbname": database, "username": "postgres"}
        ),
    )


def warehouse_environ(account: Account) -> dict[str, str]:
    """The warehouse both the job and the DAG's checks use: PostgreSQL, credentials from the secret."""
    return {"SPACEX_WAREHOUSE": "postgres", "POSTGRES_SECRET_ID": account.warehouse_secret}


def clean_environ() -> dict[str, str]:
    """This process's environment without anything pointing at AWS, the project or another Airflow."""
    prefixes = ("AWS_", "SPACEX_", "EMR_", "AIRFLOW", "POSTGRES_", "PYSPARK_", "PYTHONPATH")
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}


def deploy(endpoint_url: str, artifacts_uri: str, version: str, dist: Path) -> None:
    """`make deploy ENV=dev`: build dist/ and upload it under <artifacts_uri>/<version>/."""
    environ = {**clean_environ(), **aws_test_environment(endpoint_url), "EMR_ARTIFACTS_URI": artifacts_uri}
    result = subprocess.run(
        [
            sys.executable,
            "jobs/package.py",
            "--deploy",
            "--env",
            "dev",
            "--version",
            version,
            "--dist",
            str(dist),
        ],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"deploy failed:\n{result.stdout}{result.stderr}")


@dataclass
class AirflowRun:
    """One `airflow dags test` of the DAG: its exit code, output and the task instances it left."""

    exit_code: int
    output: str
    tasks: dict[str, tuple[str, int]]  # task_id -> (state, tries)
    dag_run_state: str


def airflow_environ(
    account: Account,
    home: Path,
    version: str,
    api_url: str,
    alert_url: str,
    statsd_port: int | None = None,
    **overrides: str,
) -> dict[str, str]:
    """The Airflow deployment's environment (docs/operating-on-aws.md "Alerts and the Airflow
    deployment"), pointed at the stand-ins."""
    connection = {
        "conn_type": "aws",
        "extra": {"endpoint_url": account.endpoint_url, "region_name": AWS_REGION},
    }
    environ = {
        **clean_environ(),
        **account.environ(),
        **warehouse_environ(account),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
        "AIRFLOW_VAR_SPACEX_ALERT_WEBHOOK_URL": alert_url,
        "SPACEX_ENV": "dev",
        "EMR_ARTIFACTS_VERSION": version,
        "SPACEX_API_BASE_URL": api_url,
        # Seconds instead of minutes between polls and retries: the same code, faster.
        "SPACEX_EMR_POLL_S": "1",
        "SPACEX_AIRFLOW_RETRY_DELAY_S": "1",
    }
    if statsd_port:
        environ.update(
            AIRFLOW__METRICS__STATSD_ON="True",
            AIRFLOW__METRICS__STATSD_HOST="127.0.0.1",
            AIRFLOW__METRICS__STATSD_PORT=str(statsd_port),
        )
    environ.update(overrides)
    return environ


def airflow(*args: str, environ: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("airflow")), *args]
    return subprocess.run(command, env=environ, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def run_dag(environ: dict[str, str], logical_date: date) -> AirflowRun:
    """`airflow db migrate` (once per home), then `airflow dags test spacex_launches <date>`."""
    home = Path(environ["AIRFLOW_HOME"])
    if not (home / "airflow.db").exists():
        migrated = airflow("db", "migrate", environ=environ, timeout=300)
        if migrated.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{migrated.stderr[-3000:]}")
    result = airflow("dags", "test", DAG_ID, logical_date.isoformat(), environ=environ)
    output = result.stdout + result.stderr
    (home / f"dags-test-{logical_date}.log").write_text(output)
    with sqlite3.connect(home / "airflow.db") as db:
        [(run_id, run_state)] = db.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? AND date(logical_date) = ? "
            "ORDER BY id DESC LIMIT 1",
            (DAG_ID, logical_date.isoformat()),
        ).fetchall()
        tasks = {
            task_id: (state, tries)
            for task_id, state, tries in db.execute(
                "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?",
                (DAG_ID, run_id),
            )
        }
    return AirflowRun(result.returncode, output, tasks, run_state)


class StatsdListener:
    """A UDP socket on 127.0.0.1 collecting the statsd gauges Airflow sends (name -> last value)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.gauges: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535).decode()
            except TimeoutError:
                continue
            for line in data.splitlines():
                name, _, rest = line.partition(":")
                value, _, kind = rest.partition("|")
                if kind.startswith("g"):
                    self.gauges[name] = float(value)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def moto_emr_backend():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.emrcontainers.models import emrcontainers_backends

    return emrcontainers_backends[DEFAULT_ACCOUNT_ID][AWS_REGION]


def print_answers(database_url: str) -> None:
    from spacex_launches.analytics import answers
    from spacex_launches.warehouse import read_sql
    from spacex_launches.warehouse.postgres import PostgresLoader

    answers.main(["--env", "dev", "--warehouse", database_url])
    loader = PostgresLoader.from_spec(database_url, Settings())
    columns, rows = loader.query(read_sql("max_core_reuse.sql"))
    most = [dict(zip(columns, row, strict=True)) for row in rows]
    reflights = loader.query(read_sql("cores_reused_within_50_days.sql"))[1]
    cores = len({row[0] for row in reflights})
    reused = ", ".join(f"core {row['core_id']} reused {row['reuses']} times" for row in most)
    print(f"\nIn short: {reused}; {len(reflights)} re-flights within 50 days by {cores} cores.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api-body", type=Path, help="what /v5/launches serves (default: the real snapshot)")
    parser.add_argument("--cores-body", type=Path, default=SAMPLE_CORES, help="what /v4/cores serves")
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        default=datetime.now(UTC).date(),
        help="the DAG run's logical date (default: today, UTC)",
    )
    parser.add_argument("--work", type=Path, help="keep the Airflow home, dist/ and job runs here")
    args = parser.parse_args(argv)
    body = args.api_body or (SNAPSHOT if SNAPSHOT.is_file() else SAMPLE)
    for path in (body, args.cores_body):
        if not path.is_file():
            print(f"error: no API body at {path}", file=sys.stderr)
            return 2
    bindir = postgres_bindir()
    if bindir is None:
        print(
            "error: PostgreSQL server binaries not found (Debian: apt-get install postgresql)",
            file=sys.stderr,
        )
        return 2
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the local servers' request lines
    work = args.work or Path(tempfile.mkdtemp(prefix="spacex-rehearsal-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    def step(text: str) -> None:
        print(f"rehearsal [{time.monotonic() - started:5.0f}s] {text}", flush=True)

    step(f"API serves {body} and {args.cores_body}; AWS is moto; Redshift is PostgreSQL; work dir {work}")
    with moto_server() as endpoint, postgres_server(bindir) as port, http_server() as api:
        api.expect_request(API_PATH).respond_with_data(body.read_bytes(), content_type="application/json")
        api.expect_request(CORES_PATH).respond_with_data(
            args.cores_body.read_bytes(), content_type="application/json"
        )
        api.expect_request(ALERT_PATH, method="POST").respond_with_data("ok")
        account = create_account(endpoint)
        database_url = create_database(port, "spacex")
        create_warehouse_secret(account, database_url)
        step(f"account: lake {account.lake}, virtual cluster {account.virtual_cluster_id}")
        version = "rehearsal"
        deploy(endpoint, account.artifacts_uri, version, work / "dist")
        step(f"make deploy: artifacts at {account.artifacts_uri}/{version}/")
        python = clean_python(work / "emr-python", PYTHON_VERSION)
        statsd = StatsdListener()
        stand_in = EmrOnEksStandIn(
            moto_emr_backend(),
            account.virtual_cluster_id,
            endpoint,
            python,
            PYTHON_VERSION,
            work / "job-runs",
            job_env=warehouse_environ(account),
        )
        environ = airflow_environ(
            account,
            work / "airflow",
            version,
            api.url_for("/").rstrip("/"),
            api.url_for(ALERT_PATH),
            statsd.port,
        )
        step(f"airflow dags test {DAG_ID} {args.date} (log: {work / 'airflow'}/dags-test-{args.date}.log)")
        with stand_in:
            result = run_dag(environ, args.date)
        statsd.close()
        for execution in stand_in.executions:
            step(
                f"job run {execution.job_run_id}: spark-submit exit {execution.exit_code} in {execution.seconds} s"
            )
        for task_id, (state, tries) in sorted(result.tasks.items()):
            step(f"task {task_id:<17} {state} (tries: {tries})")
        for request in api.log:
            if request[0].path == ALERT_PATH:
                step(f"alert posted: {request[0].get_json()['text'].splitlines()[0]}")
        gauges = {name: value for name, value in statsd.gauges.items() if ".records." in name}
        step(f"run_metrics gauges: {json.dumps(gauges)}")
        step(f"DAG run {result.dag_run_state}")
        if result.dag_run_state != "success" or stand_in.errors:
            print(result.output[-5000:], file=sys.stderr)
            print("\n".join(stand_in.errors), file=sys.stderr)
            print(f"rehearsal failed; its files are kept in {work}", file=sys.stderr)
            return 1
        print(f"\nAnswers from the warehouse (PostgreSQL standing in for Redshift, {database_url}):")
        print_answers(database_url)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
