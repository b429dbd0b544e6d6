"""The artifacts `make package` builds, run exactly as the EMR request describes them, in a Python with
nothing but pyspark installed (tests/rehearsal/stand_in.py: what it maps to this machine and why).

Every module the job can import on EMR imports from the package alone. `make submit ENV=dev WAIT=1`
sends the request to moto's emr-containers, the stand-in carries the job run out from the deployed
artifacts on the moto S3 server, the job fails, and `make submit` shows the state reason and the end
of the driver's logs from where the request sends them. (A whole successful run of the same artifacts,
through Airflow, is tests/integration/test_dag_end_to_end.py: one Spark run fewer here.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import uuid
import zipfile

import pytest

from rehearsal.rehearse import (
    PYTHON_VERSION,
    clean_environ,
    create_account,
    moto_emr_backend,
    warehouse_environ,
)
from rehearsal.stand_in import EmrOnEksStandIn
from spacex_launches.orchestration.emr_request import IMAGE_PYTHON_MODULES, LIB_ZIP, PYDEPS_ZIP
from spacex_launches.orchestration.emr_runs import failure_report
from support.paths import REPO

pytestmark = pytest.mark.integration

# Modules of the package the job never imports on EMR, and why.
# Shipped (the job imports its loader when asked for it) but not importable on EMR: duckdb is not in
# pydeps. The Airflow, ingest and analytics modules are not shipped at all (jobs/package.job_modules).
NOT_ON_EMR = {
    "spacex_launches.warehouse.duckdb": "the local warehouse target",
}


@pytest.fixture
def account(moto_server, emr_artifacts, monkeypatch):
    """A dev account of its own on the moto server (lake, logs, virtual cluster), using the session's
    deployed artifacts; this process's boto3 and `make submit` point at it."""
    account = create_account(moto_server, f"art{uuid.uuid4().hex[:6]}", emr_artifacts.artifacts_uri)
    for key, value in {**account.environ(), "EMR_ARTIFACTS_VERSION": emr_artifacts.version}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CI", raising=False)
    return account


def test_every_job_module_imports_from_the_package_and_pyspark_alone(emr_python, emr_artifacts, tmp_path):
    """As on the EMR driver: our zip and the unpacked pydeps on the path, pyspark from the 'image'."""
    with zipfile.ZipFile(emr_artifacts.dist / PYDEPS_ZIP) as archive:
        archive.extractall(tmp_path / "pydeps")
    with zipfile.ZipFile(emr_artifacts.dist / LIB_ZIP) as archive:
        shipped = sorted(
            name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            for name in archive.namelist()
            if name.endswith(".py")
        )
    assert not [
        m for m in shipped if m.startswith(("spacex_launches.orchestration", "spacex_launches.analytics"))
    ]
    modules = [module for module in shipped if module not in NOT_ON_EMR]
    assert "spacex_launches.warehouse.redshift" in modules and "spacex_launches.job.pipeline" in modules
    probe = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\nprint('ok')"

    def import_all(*path) -> subprocess.CompletedProcess:
        environ = {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join(map(str, path))}
        return subprocess.run(
            [str(emr_python), "-c", probe, *modules],
            env=environ,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    result = import_all(emr_artifacts.dist / LIB_ZIP, tmp_path / "pydeps")
    assert result.returncode == 0, result.stderr
    # The interpreter is clean: without pydeps the package does not import (PyYAML is missing), and
    # the only third-party modules it has are the image's.
    bare = import_all(emr_artifacts.dist / LIB_ZIP)
    assert bare.returncode != 0 and "No module named 'yaml'" in bare.stderr
    site = emr_python.parent.parent / "lib" / f"python{PYTHON_VERSION}" / "site-packages"
    assert sorted(path.name for path in site.iterdir()) == sorted(IMAGE_PYTHON_MODULES)


def test_make_submit_wait_shows_the_reason_and_the_driver_logs_of_a_failed_run(account, emr_python, tmp_path):
    """The packaged job, run by the stand-in, fails for real: its warehouse secret does not exist."""
    stand_in = EmrOnEksStandIn(
        moto_emr_backend(),
        account.virtual_cluster_id,
        account.endpoint_url,
        emr_python,
        PYTHON_VERSION,
        tmp_path / "job-runs",
        job_env=warehouse_environ(account),
    )
    command = [
        "make",
        "--no-print-directory",
        "-o",
        ".venv/.installed",
        "submit",
        "ENV=dev",
        "RUN_DATE=2026-11-21",
        "WAIT=1",
        "POLL=0.5",
    ]
    with stand_in:
        failed = subprocess.run(
            command, cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=600
        )
    assert stand_in.errors == []
    [execution] = stand_in.executions
    assert execution.exit_code == 2  # the job's own exit code for a configuration error

    assert failed.returncode != 0 and "submit] Error 1" in failed.stderr  # submit_emr.py exits 1
    assert "] RUNNING" in failed.stdout
    assert "FAILED: USER_ERROR: Jobrun failed. Main Spark container terminated with errors" in failed.stderr
    assert "driver stdout, last" in failed.stderr and "-driver/stdout.gz):" in failed.stderr
    assert "driver stderr, last" in failed.stderr and "-driver/stderr.gz):" in failed.stderr
    secret_error = f"error: secret {account.warehouse_secret!r} could not be read: ResourceNotFoundException"
    assert f"| {secret_error}" in failed.stderr

    # The same from CloudWatch Logs when S3 has none.
    emr, s3 = account.client("emr-containers"), account.client("s3")
    [job_run] = emr.list_job_runs(virtualClusterId=account.virtual_cluster_id)["jobRuns"]
    described = emr.describe_job_run(id=job_run["id"], virtualClusterId=account.virtual_cluster_id)["jobRun"]
    log_bucket, log_prefix = account.log_uri.removeprefix("s3://").split("/", 1)
    for item in s3.list_objects_v2(Bucket=log_bucket, Prefix=log_prefix)["Contents"]:
        s3.delete_object(Bucket=log_bucket, Key=item["Key"])
    report_text = failure_report(described, s3, account.client("logs"))
    stream = f"spacex-launches/{account.virtual_cluster_id}/jobs/{job_run['id']}/containers/"
    assert "driver stdout, last" in report_text and f"(cloudwatch:{account.log_group}:{stream}" in report_text
    assert report_text.count("-driver/std") == 2 and f"| {secret_error}" in report_text


def test_the_stand_in_runs_with_a_clean_environment(emr_python, tmp_path):
    """No project virtualenv, PYTHONPATH or AWS settings of this process leak into the job's driver."""
    stand_in = EmrOnEksStandIn(
        moto_emr_backend(), "vc", "http://127.0.0.1:9", emr_python, PYTHON_VERSION, tmp_path
    )
    environ = stand_in.driver_environment({"spark.kubernetes.driverEnv.SPACEX_CONF_DIR": "resources/conf"})
    assert environ["SPACEX_CONF_DIR"] == "resources/conf"
    assert environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
    assert not {key for key in environ if key.startswith(("VIRTUAL_ENV", "PYTHON", "PYSPARK"))}
    assert set(clean_environ()) <= set(os.environ)


# jobs/package.py builds with pip for the EMR Python: here, beside the tests of what it builds.
def test_package_builds_our_zip_and_the_third_party_packages_for_the_emr_python(tmp_path):
    spec = importlib.util.spec_from_file_location("package_script", REPO / "jobs" / "package.py")
    package_script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package_script)

    assert package_script.main(["--version", "t1", "--dist", str(tmp_path / "dist")]) == 0
    dist = tmp_path / "dist"
    manifest = json.loads((dist / "MANIFEST.json").read_text())
    assert manifest["version"] == "t1"
    assert manifest["python"] == {
        "path": "/usr/bin/python3.11",
        "version": "3.11",
        "platform": "manylinux2014_x86_64",
    }
    assert set(manifest["files"]) == {
        "launches_etl.py",
        "maintain_lake.py",  # the weekly maintenance DAG's entry point
        "spacex_launches.zip",
        "pydeps.zip",
        "resources.zip",
        "spacex-launches-jvm.jar",  # the job's own JVM functions, in the request's spark.jars
        "pod-templates/driver.yaml",
        "pod-templates/executor.yaml",
    }
    names = set(zipfile.ZipFile(dist / "resources.zip").namelist())
    assert {"conf/dev.yaml", "conf/prod.yaml", "sql/load_table.sql", "sql/checks/row_counts.sql"} <= names
    assert {"conf/base.yaml", "conf/aws.yaml"} <= names  # what dev.yaml and prod.yaml extend
    # The deployed platform's values travel too: the driver reads redshift.jdbc_url from them.
    assert {"conf/dev.outputs.yaml", "conf/prod.outputs.yaml"} <= names
    assert (dist / "maintain_lake.py").read_bytes() == (REPO / "jobs" / "maintain_lake.py").read_bytes()
    ours = zipfile.ZipFile(dist / "spacex_launches.zip").namelist()
    assert {"spacex_launches/job/pipeline.py", "spacex_launches/lake/maintenance.py"} <= set(ours)
    assert all(name.startswith("spacex_launches/") for name in ours)
    # Only the job and what it imports ship: no Airflow, EMR-request or analytics code.
    assert not [
        name
        for name in ours
        if name.startswith(("spacex_launches/orchestration/", "spacex_launches/analytics/"))
    ]
    deps = {name.split("/", 1)[0] for name in zipfile.ZipFile(dist / "pydeps.zip").namelist()}
    assert {"yaml", "_yaml", "boto3", "botocore", "psycopg", "psycopg_binary"} <= deps
    assert "bin" not in deps and "pyspark" not in deps  # the image's own Spark is used
    # Byte-reproducible: a second build gives the same files.
    assert package_script.main(["--version", "t1", "--dist", str(tmp_path / "again")]) == 0
    assert json.loads((tmp_path / "again" / "MANIFEST.json").read_text()) == manifest
