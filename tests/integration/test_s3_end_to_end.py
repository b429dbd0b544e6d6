"""End to end on S3: ingest from an HTTP server on 127.0.0.1 into moto's S3 server, run the Spark job
with spark-submit reading and writing s3a://, load DuckDB, and get the same answers as on local files.

The bucket holds two ingest_date partitions: an older copy of the snapshot (every launch's `details`
rewritten) landed on a fixed past date, and today's response as the API serves it. The newest snapshot
of each launch must win, also when the old partition is run again afterwards (a backfill); the old
partition alone, into a lake of its own, gives the old one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import boto3
import pytest
from pytest_httpserver import HTTPServer

from rehearsal.servers import aws_test_environment
from spacex_launches.common.s3 import S3A_PACKAGES, S3Settings
from spacex_launches.common.settings import load_settings
from spacex_launches.ingest.fetch import Fetched, land, raw_store
from spacex_launches.job.session import s3a_conf
from spacex_launches.warehouse import read_sql
from spacex_launches.warehouse.duckdb import DuckDBLoader
from support.jobs import spark_submit
from support.lake import run_in_process
from support.paths import REPO, SAMPLE_DIR, SNAPSHOT_FILE

pytestmark = pytest.mark.integration

OLD_DATE = "2020-01-01"
OLD_DETAILS = "older snapshot"


@pytest.fixture(scope="module")
def payload_file() -> Path:
    """The real 205-launch snapshot when present, else the repo's own v5 sample."""
    return SNAPSHOT_FILE if SNAPSHOT_FILE.is_file() else SAMPLE_DIR / "20240101T060000Z-api-v5.json"


@pytest.fixture(scope="module")
def s3_env(moto_server) -> dict[str, str]:
    return aws_test_environment(moto_server)


@pytest.fixture(scope="module")
def bucket(s3_env, payload_file) -> str:
    """A bucket with an old partition landed directly and today's landed by the ingest command."""
    name = f"lake-{uuid.uuid4().hex[:12]}"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in s3_env.items():
            patch.setenv(key, value)
        boto3.client("s3").create_bucket(Bucket=name)
        older = [{**launch, "details": OLD_DETAILS} for launch in json.loads(payload_file.read_bytes())]
        fetched = Fetched(
            url="http://127.0.0.1/v5/launches",
            status=200,
            body=json.dumps(older).encode(),
            fetched_at=datetime.fromisoformat(f"{OLD_DATE}T06:00:00+00:00"),
        )
        land(raw_store(f"s3://{name}", S3Settings.from_config(load_settings("local"))), fetched, "v5")

    server = HTTPServer(host="127.0.0.1")
    server.expect_request("/v5/launches").respond_with_data(
        payload_file.read_bytes(), content_type="application/json"
    )
    server.start()
    try:
        ingest = subprocess.run(
            [
                sys.executable,
                str(REPO / "jobs" / "ingest_launches.py"),
                *("--url", server.url_for("/v5/launches"), "--lake", f"s3://{name}"),
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**_clean_environ(), **s3_env},
            timeout=120,
        )
    finally:
        server.stop()
    assert ingest.returncode == 0, ingest.stderr
    assert f"landed     s3://{name}/raw/spacex/launches/ingest_date=" in ingest.stdout
    return name


def _clean_environ() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "SPACEX_"))}


def keys(bucket: str, prefix: str, s3_env: dict[str, str]) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=s3_env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id=s3_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=s3_env["AWS_SECRET_ACCESS_KEY"],
    )
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def run_on_s3a(bucket: str, warehouse: Path, s3_env: dict[str, str], *extra: str, lake: str = ""):
    result = spark_submit(
        "--input",
        f"s3a://{bucket}/raw/spacex/launches",
        "--lake",
        f"s3a://{bucket}{lake}",
        "--warehouse",
        str(warehouse),
        *extra,
        env=s3_env,
        packages=S3A_PACKAGES,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def snapshot(warehouse: Path) -> dict:
    loader = DuckDBLoader(str(warehouse))
    return {
        "counts": {
            table: loader.query(f"SELECT COUNT(*) FROM spacex.{table}")[1][0][0]
            for table in ("launches", "launch_cores")
        },
        "details": {row[0] for row in loader.query("SELECT DISTINCT details FROM spacex.launches")[1]},
        "max_core_reuse": loader.query(read_sql("max_core_reuse.sql"))[1],
        "within_50_days": loader.query(read_sql("cores_reused_within_50_days.sql"))[1],
    }


def test_job_on_s3a_gives_the_local_answers_and_the_newest_snapshot_wins(
    spark, bucket, s3_env, payload_file, tmp_path
):
    result = run_on_s3a(bucket, tmp_path / "s3.duckdb", s3_env)
    run_in_process(spark, [payload_file], tmp_path / "lake", tmp_path / "local.duckdb", "local")

    on_s3, on_disk = snapshot(tmp_path / "s3.duckdb"), snapshot(tmp_path / "local.duckdb")
    launches = json.loads(payload_file.read_bytes())
    assert on_s3["counts"]["launches"] == len({launch["id"] for launch in launches})
    assert on_s3["counts"] == on_disk["counts"]
    assert on_s3["max_core_reuse"] and on_s3["within_50_days"]
    assert on_s3["max_core_reuse"] == on_disk["max_core_reuse"]
    assert on_s3["within_50_days"] == on_disk["within_50_days"]
    assert OLD_DETAILS not in on_s3["details"]

    for table in ("launches", "launch_cores"):  # Iceberg tables: data by launch year, and their metadata
        stored = keys(bucket, f"validated/spacex/{table}/", s3_env)
        parquet = [k for k in stored if k.endswith(".parquet")]
        assert parquet and all("/data/date_utc_year=" in k for k in parquet)
        assert any(k.endswith(".metadata.json") for k in stored)
    assert all(key.endswith("/") for key in keys(bucket, "_staging/", s3_env))  # only directory markers
    report_uri = next(line.split()[-1] for line in result.stdout.splitlines() if "report " in line)
    report_key = report_uri.removeprefix(f"s3a://{bucket}/")
    assert report_key.startswith("_reports/") and report_key in keys(bucket, "_reports/", s3_env)

    # the old partition again, as a backfill: the lake keeps the newer rows and commits nothing
    backfill = run_on_s3a(bucket, tmp_path / "s3.duckdb", s3_env, "--ingest-date", OLD_DATE)
    assert "kept (the lake holds a newer snapshot)" in backfill.stdout
    assert snapshot(tmp_path / "s3.duckdb") == on_s3


def test_job_on_s3a_reads_one_ingest_date_partition(bucket, s3_env, payload_file, tmp_path):
    run_on_s3a(bucket, tmp_path / "old.duckdb", s3_env, "--ingest-date", OLD_DATE, lake="/old-only")

    old = snapshot(tmp_path / "old.duckdb")
    assert old["details"] == {OLD_DETAILS}
    assert old["counts"]["launches"] == len(
        {launch["id"] for launch in json.loads(payload_file.read_bytes())}
    )


def test_s3a_packages_match_the_hadoop_bundled_with_pyspark():
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    versions = {
        p.name.removeprefix("hadoop-client-api-").removesuffix(".jar")
        for p in jars.glob("hadoop-client-api-*")
    }
    assert len(versions) == 1
    assert f"org.apache.hadoop:hadoop-aws:{versions.pop()}" in S3A_PACKAGES.split(",")


@pytest.mark.parametrize(
    ("environ", "path_style"),
    [
        ({}, "false"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, "true"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "SPACEX_S3_PATH_STYLE": "false"}, "false"),
    ],
)
def test_s3a_settings_follow_the_config_endpoint(environ, path_style):
    conf = s3a_conf(load_settings("local", environ=environ))
    if not environ:
        assert conf == {}  # AWS itself: S3A's defaults
        return
    assert conf["spark.hadoop.fs.s3a.endpoint"] == environ["AWS_ENDPOINT_URL"]
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == path_style
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert S3Settings.from_config(load_settings("local", environ=environ)).path_style == (
        path_style == "true"
    )
