"""Fixtures of the integration tier: the servers (moto, PostgreSQL), the session's spark-submit runs of
the sample and of the real snapshot, the EMR on EKS stand-in's (one packaged build deployed to the moto
server and one clean Python, for the session) and `sample_copy`, a lake of a test's own holding the
sample."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from rehearsal import servers
from rehearsal.rehearse import PYTHON_VERSION, deploy
from rehearsal.servers import aws_test_environment
from rehearsal.stand_in import StandInError, clean_python
from support.jobs import remove_class_archives, spark_submit
from support.lake import run_in_process
from support.paths import SAMPLE_CORES, SAMPLE_DIR, SNAPSHOT_FILE


def pytest_sessionfinish(session) -> None:
    remove_class_archives()


@pytest.fixture(scope="session")
def snapshot_file() -> Path:
    """The real 205-launch API v5 snapshot in ../shared (tests using it skip where it is absent)."""
    if not SNAPSHOT_FILE.is_file():
        pytest.skip(f"real SpaceX snapshot not available at {SNAPSHOT_FILE}")
    return SNAPSHOT_FILE


@pytest.fixture(scope="session")
def moto_server():
    """A real S3 / Secrets Manager / CloudWatch Logs / emr-containers protocol server (moto) on a free
    127.0.0.1 port, in this process (so tests can drive moto's backends, e.g. an EMR job run's state)."""
    with servers.moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws_env(moto_server, monkeypatch) -> dict[str, str]:
    """Point boto3 (and anything reading the standard AWS variables) at the moto server."""
    values = aws_test_environment(moto_server)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> Path:
    """The session's one spark-submit run of the sample as `make run` does it (launches and /cores): its
    directory, holding the lake (`lake/`), the DuckDB warehouse (`launches.duckdb`) and what the job
    printed (`job.out`). Shared: tests only read it (`sample_copy` makes one of their own)."""
    work = tmp_path_factory.mktemp("sample_run")
    result = spark_submit(
        "--input",
        str(SAMPLE_DIR),
        "--cores-input",
        str(SAMPLE_CORES),
        "--lake",
        str(work / "lake"),
        "--warehouse",
        str(work / "launches.duckdb"),
        "--run-id",
        "sample-run",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (work / "job.out").write_text(result.stdout)
    return work


@pytest.fixture(scope="session")
def snapshot_run(snapshot_file, tmp_path_factory) -> Path:
    """The session's one spark-submit run of the real 205-launch snapshot into DuckDB (no /cores file
    exists for it): its directory, laid out as `sample_run`'s. Tests only read it."""
    work = tmp_path_factory.mktemp("snapshot_run")
    result = spark_submit(
        "--input",
        str(snapshot_file),
        "--lake",
        str(work / "lake"),
        "--warehouse",
        str(work / "launches.duckdb"),
        "--run-id",
        "snapshot",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (work / "job.out").write_text(result.stdout)
    return work


@pytest.fixture(scope="session")
def sample_run_report(sample_run) -> Path:
    """The JSON report of that run."""
    return sample_run / "lake" / "_reports" / "sample-run.json"


# --- a real PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_port():
    """A throw-away PostgreSQL cluster (initdb + pg_ctl, trust auth) on 127.0.0.1 for the session
    (rehearsal.servers.postgres_server, which `make rehearsal` uses too)."""
    bindir = servers.postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (Debian: apt-get install postgresql)")
    with servers.postgres_server(bindir) as port:
        yield port


@pytest.fixture
def database(postgres_port) -> str:
    """A fresh database per test; returns its password-less URL (trust auth)."""
    return servers.create_database(postgres_port, f"spacex_{uuid.uuid4().hex[:8]}")


# --- the EMR on EKS stand-in ----------------------------------------------------------------------


@dataclass(frozen=True)
class Deployed:
    """What `make deploy` uploaded: <artifacts_uri>/<version>/..., built in `dist`."""

    artifacts_uri: str
    version: str
    dist: Path


@pytest.fixture(scope="session")
def emr_python(tmp_path_factory) -> Path:
    """A Python of the version the EMR request selects, with nothing but pyspark and py4j installed."""
    try:
        return clean_python(tmp_path_factory.mktemp("emr_python") / "venv", PYTHON_VERSION)
    except StandInError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def emr_artifacts(moto_server, tmp_path_factory) -> Deployed:
    """One `make package` + `make deploy ENV=dev` for the session, into a bucket on the moto server."""
    deployed = Deployed(
        "s3://spacex-artifacts-tests/spacex-launches", "tests", tmp_path_factory.mktemp("dist")
    )
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name=servers.AWS_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="spacex-artifacts-tests")
    deploy(moto_server, deployed.artifacts_uri, deployed.version, deployed.dist)
    return deployed


@pytest.fixture
def sample_copy(spark, tmp_path) -> tuple[Path, Path]:
    """A lake and DuckDB warehouse holding the sample, as `sample_run`'s, for one test whose run must
    change nothing (a refusal, a failure, a no-op). Made by a run of their own: a copied lake would be
    refused (its Iceberg metadata names the original's files: docs/lake.md "Lake identity")."""
    lake, warehouse = tmp_path / "lake", tmp_path / "launches.duckdb"
    run_in_process(spark, [SAMPLE_DIR], lake, warehouse, "sample-run", cores_inputs=[str(SAMPLE_CORES)])
    return lake, warehouse
