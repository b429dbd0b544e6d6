"""The embedded default warehouse: a DuckDB file, loaded straight from the validated Parquet."""

from __future__ import annotations

import os
import tempfile

import duckdb
from pyspark.sql import SparkSession

from spacex_launches import schemas
from spacex_launches.lake import LakeFS
from spacex_launches.warehouse import WarehouseError, read_sql, sql_statements

_DUCKDB_TYPES = {
    "StringType()": "VARCHAR",
    "IntegerType()": "INTEGER",
    "LongType()": "BIGINT",
    "BooleanType()": "BOOLEAN",
    "TimestampType()": "TIMESTAMP",
}


def _staging_select(table: str, parquet_glob: str) -> str:
    columns = ", ".join(
        f"CAST({field.name} AS {_DUCKDB_TYPES[repr(field.dataType)]}) AS {field.name}"
        for field in schemas.TABLES[table].fields
    )
    return f"SELECT {columns} FROM read_parquet('{parquet_glob}', hive_partitioning = true)"


class DuckDBLoader:
    target = "duckdb"

    def __init__(self, path: str):
        self.path = os.path.abspath(path)

    def describe(self) -> str:
        return f"duckdb:{self.path}"

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A connection with the file attached under a fixed catalog name, so a file called
        spacex.duckdb does not clash with the schema `spacex`."""
        if read_only and not os.path.exists(self.path):
            raise WarehouseError(f"{self.describe()}: no such warehouse file (run the job first)")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        connection = duckdb.connect()
        mode = " (READ_ONLY)" if read_only else ""
        connection.execute(f"ATTACH '{self.path}' AS warehouse{mode}")
        connection.execute("USE warehouse")
        # Timestamps in the contract are UTC; Parquet's UTC-adjusted values convert under this zone.
        connection.execute("SET TimeZone = 'UTC'")
        return connection

    def load(self, spark: SparkSession, validated: dict[str, str]) -> dict[str, dict[str, int]]:
        """Merge the validated Parquet; a lake on s3a:// is first copied to a local scratch directory
        through Spark's own S3A file system (same endpoint and credentials as the run, no DuckDB
        extension needed; the validated zone is small)."""
        if not any("://" in path for path in validated.values()):
            return self._load(validated)
        lakefs = LakeFS(spark)
        with tempfile.TemporaryDirectory(prefix="spacex-duckdb-") as scratch:
            local = {}
            for table, path in validated.items():
                local[table] = os.path.join(scratch, table)
                try:
                    lakefs.copy_to_local(path, local[table])
                except Exception as exc:
                    raise WarehouseError(f"{self.describe()}: could not read {path}: {exc}") from exc
            return self._load(local)

    def _load(self, validated: dict[str, str]) -> dict[str, dict[str, int]]:
        connection = self.connect()
        try:
            try:
                for statement in sql_statements(read_sql("create_tables.sql")):
                    connection.execute(statement)
            except duckdb.Error as exc:
                raise WarehouseError(f"{self.describe()}: creating the tables failed: {exc}") from exc
            before = {table: self._count(connection, table) for table in schemas.TABLES}
            connection.execute("BEGIN TRANSACTION")
            try:
                staged = {}
                for table in schemas.TABLES:
                    select = _staging_select(table, f"{validated[table]}/**/*.parquet")
                    connection.execute(f"CREATE OR REPLACE TABLE spacex.{table}_staging AS {select}")
                    staged[table] = self._count(connection, f"{table}_staging")
                for statement in sql_statements(read_sql("merge.sql")):
                    connection.execute(statement)
                connection.execute("COMMIT")
            except Exception as exc:
                connection.execute("ROLLBACK")
                raise WarehouseError(f"{self.describe()}: load failed, target unchanged: {exc}") from exc
            return {
                table: {
                    "staged": staged[table],
                    "before": before[table],
                    "after": self._count(connection, table),
                }
                for table in schemas.TABLES
            }
        finally:
            connection.close()

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        connection = self.connect(read_only=True)
        try:
            result = connection.execute(sql)
            return [column[0] for column in result.description], result.fetchall()
        finally:
            connection.close()

    @staticmethod
    def _count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
        return connection.execute(f"SELECT COUNT(*) FROM spacex.{table}").fetchall()[0][0]
