"""What every tier shares: the one local SparkSession per test run (tests/spark and tests/integration)
and `conf_copy`. Each tier's own fixtures are in its conftest; helpers that are not fixtures are in
tests/support/."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spacex_launches.common.settings import load_settings
from spacex_launches.job import jvm_functions
from spacex_launches.job.session import register_jvm_functions, spark_conf
from spacex_launches.lake.catalog import CatalogSettings, catalog_conf
from support.paths import REPO
from support.spark import TEST_SESSION_CONF

# Airflow's import turns INFO logging on; py4j then logs from __del__ at interpreter exit, after
# pytest has closed the stream ("--- Logging error ---" under the summary).
logging.getLogger("py4j").setLevel(logging.WARNING)


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
        "spark.jars": str(jvm_functions.local_jar()),
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    register_jvm_functions(session)
    yield session
    session.stop()


@pytest.fixture
def conf_copy(tmp_path, monkeypatch) -> Path:
    """A copy of conf/ that SPACEX_CONF_DIR points to: tests change settings there, never in the repo."""
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    monkeypatch.setenv("SPACEX_CONF_DIR", str(conf))
    return conf
