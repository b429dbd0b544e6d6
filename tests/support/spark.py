"""The tests' SparkSession settings and the catalogs of their lakes in that one session."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from spacex_launches.lake.catalog import ICEBERG_PACKAGES, CatalogSettings, catalog_conf
from spacex_launches.warehouse.jdbc import POSTGRES_JDBC_PACKAGE

# The tests' session on top of conf/local.yaml's (its keys are checked with the project's own).
TEST_SESSION_CONF = {
    # Iceberg, and the PostgreSQL JDBC driver for runs in this session that load PostgreSQL.
    "spark.jars.packages": f"{ICEBERG_PACKAGES},{POSTGRES_JDBC_PACKAGE}",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
}


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
