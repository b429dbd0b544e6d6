"""Warehouse loaders: one interface, several targets (embedded DuckDB, PostgreSQL, Redshift).

Every loader stages a run's validated Parquet into `spacex.<table>_staging` and merges it into the
target tables with `sql/merge.sql` in one transaction: a re-run changes nothing, a later snapshot
replaces a launch's rows (including its core slots), and a failure leaves the targets as they were.
"""

from __future__ import annotations

from typing import Any, Protocol

from pyspark.sql import SparkSession

from spacex_launches.config import ConfigError, get_dotted, sql_dir
from spacex_launches.redact import redact_location

POSTGRES_URL_PREFIXES = ("postgresql://", "postgres://")


class WarehouseError(RuntimeError):
    """Loading or querying the warehouse failed; the target tables are unchanged."""


class WarehouseLoader(Protocol):
    target: str

    def describe(self) -> str:
        """Where the data goes, safe to log: never a password or token."""

    def load(self, spark: SparkSession, validated: dict[str, str]) -> dict[str, dict[str, int]]:
        """Merge each table's validated Parquet (`validated[table]` is its path) into the warehouse.
        Returns per table: rows staged, rows before and after."""

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run one read-only statement; return column names and rows."""


def read_sql(name: str) -> str:
    return (sql_dir() / name).read_text()


def sql_statements(text: str) -> list[str]:
    """Split a .sql file into statements (the project's SQL keeps ';' out of strings and comments)."""
    without_comments = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    return [statement.strip() for statement in without_comments.split(";") if statement.strip()]


def loader_for(spec: str | None, config: dict[str, Any]) -> WarehouseLoader | None:
    """The loader a `--warehouse` value (or the config's `warehouse.target`) asks for.

    `duckdb` or a path ending in .duckdb -> embedded DuckDB; `postgres` (the config's postgres.url /
    secret_id) or a `postgresql://user@host:port/db` URL -> PostgreSQL; `redshift` -> Redshift (the
    config's redshift.*); `none` -> no warehouse load.
    """
    spec = spec or get_dotted(config, "warehouse.target", "duckdb")
    if spec == "none":
        return None
    if spec == "postgres" or spec.startswith(POSTGRES_URL_PREFIXES):
        from spacex_launches.warehouse.postgres import PostgresLoader

        return PostgresLoader.from_spec(spec, config)
    if spec == "redshift":
        from spacex_launches.warehouse.redshift import RedshiftLoader

        return RedshiftLoader.from_config(config)
    if spec == "duckdb" or spec.endswith(".duckdb"):
        from spacex_launches.warehouse.duckdb import DuckDBLoader

        path = spec if spec.endswith(".duckdb") else get_dotted(config, "warehouse.duckdb_path")
        return DuckDBLoader(path)
    # Masked: an unknown spec may be a mistyped URL or DSN with a password in it.
    raise ConfigError(
        f"unknown warehouse {redact_location(spec)!r}: expected duckdb, a .duckdb file path, postgres, a postgresql:// URL, "
        "redshift or none"
    )


def spark_packages(spec: str | None) -> str:
    """Maven coordinates (comma-separated) that spark-submit needs on the classpath for a warehouse:
    the JDBC driver / connector jars, which a SparkSession builder cannot add under spark-submit."""
    from spacex_launches.warehouse.jdbc import POSTGRES_JDBC_PACKAGE, REDSHIFT_PACKAGES

    spec = spec or ""
    if spec == "postgres" or spec.startswith(POSTGRES_URL_PREFIXES):
        return POSTGRES_JDBC_PACKAGE
    if spec == "redshift":
        return ",".join(REDSHIFT_PACKAGES)
    return ""
