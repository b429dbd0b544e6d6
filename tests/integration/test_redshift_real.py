"""The job against a real Amazon Redshift, into a scratch schema. Runs only when REDSHIFT_TEST_URL
(jdbc:redshift://host:5439/db, no credentials), REDSHIFT_TEST_IAM_ROLE (the COPY role) and
REDSHIFT_TEST_TEMPDIR (s3a://bucket/prefix/, same region as the cluster) are set; the database
credentials come from the Secrets Manager secret REDSHIFT_TEST_SECRET_ID, read with the standard AWS
credential chain (which also writes the tempdir)."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from spacex_launches.common.s3 import S3A_PACKAGES
from spacex_launches.common.settings import load_settings
from spacex_launches.warehouse import read_sql, spark_packages
from spacex_launches.warehouse.redshift import RedshiftLoader
from support.jobs import spark_submit
from support.paths import SAMPLE_DIR

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not all(
            os.environ.get(name)
            for name in ("REDSHIFT_TEST_URL", "REDSHIFT_TEST_IAM_ROLE", "REDSHIFT_TEST_TEMPDIR")
        ),
        reason="set REDSHIFT_TEST_URL, REDSHIFT_TEST_IAM_ROLE and REDSHIFT_TEST_TEMPDIR to run against Redshift",
    ),
]


@pytest.fixture
def redshift_env():
    if not os.environ.get("REDSHIFT_TEST_SECRET_ID"):
        pytest.fail("REDSHIFT_TEST_SECRET_ID must name the secret with the test database's credentials")
    schema = f"spacex_test_{uuid.uuid4().hex[:8]}"
    env = {
        "REDSHIFT_JDBC_URL": os.environ["REDSHIFT_TEST_URL"],
        "REDSHIFT_IAM_ROLE_ARN": os.environ["REDSHIFT_TEST_IAM_ROLE"],
        "REDSHIFT_TEMPDIR": os.environ["REDSHIFT_TEST_TEMPDIR"],
        "REDSHIFT_SECRET_ID": os.environ["REDSHIFT_TEST_SECRET_ID"],
        "REDSHIFT_SCHEMA": schema,
    }
    loader = RedshiftLoader.from_config(load_settings("dev", environ=env))
    with loader.connect() as connection:  # the connector needs the schema before its first write
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield env, loader
    finally:
        with loader.connect() as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def test_sample_into_a_scratch_schema_twice(redshift_env, tmp_path):
    env, loader = redshift_env
    lake = tmp_path / "lake"
    packages = f"{spark_packages('redshift')},{S3A_PACKAGES}"
    for run in (1, 2):
        result = spark_submit(
            "--env",
            "dev",
            "--input",
            str(SAMPLE_DIR),
            "--lake",
            str(lake),
            "--warehouse",
            "redshift",
            env=env,
            packages=packages,
        )
        assert result.returncode == 0, result.stderr[-5000:]
        report = json.loads(sorted((lake / "_reports").glob("*.json"))[-1].read_text())
        cores = report["warehouse"]["tables"]["launch_cores"]
        assert cores == {"staged": 18, "before": 0 if run == 1 else 18, "after": 18}
    assert loader.query(read_sql("max_core_reuse.sql"))[1] == [("5a3b1e0000000000000c0a01", None, 4, 5)]
    within_50_days = loader.query(read_sql("cores_reused_within_50_days.sql"))[1]
    assert (len(within_50_days), len({row[0] for row in within_50_days})) == (4, 3)
