"""Fixtures of the integration tier: the EMR on EKS stand-in's (one packaged build deployed to the moto
server and one clean Python, for the session) and `sample_copy`, a lake of a test's own holding the
sample."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from conftest import SAMPLE_CORES, SAMPLE_DIR
from rehearsal import servers
from rehearsal.rehearse import PYTHON_VERSION, deploy
from rehearsal.stand_in import StandInError, clean_python


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
    refused (its Iceberg metadata names the original's files: README "Lake identity")."""
    from integration.lake_helpers import run_in_process

    lake, warehouse = tmp_path / "lake", tmp_path / "spacex.duckdb"
    run_in_process(spark, [SAMPLE_DIR], lake, warehouse, "sample-run", cores_inputs=[str(SAMPLE_CORES)])
    return lake, warehouse
