"""Fixtures of the EMR on EKS stand-in's tests: one packaged build deployed to the moto server and one
clean Python, for the session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

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
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name=servers.AWS_REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    s3.create_bucket(Bucket="spacex-artifacts-tests")
    deploy(moto_server, deployed.artifacts_uri, deployed.version, deployed.dist)
    return deployed
