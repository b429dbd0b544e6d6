"""The embedded default warehouse: a DuckDB file, loaded from the lake's committed snapshots.

DuckDB allows one writing process per file. A run that finds the file locked by another process
(a concurrent run, an open `duckdb` shell) waits for it, up to `warehouse.lock_timeout_s`, then fails
with a clear error (exit 3); the next run loads what this one could not.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time

import duckdb

from spacex_launches import contract
from spacex_launches.contract import ColumnType, lake_loads_query
from spacex_launches.exceptions import WarehouseError
from spacex_launches.lake.catalog import TableSnapshot
from spacex_launches.lake.tables import Lakehouse
from spacex_launches.warehouse import (
    WarehouseSync,
    contract_rows,
    load_statements,
    loaded_snapshots,
    pending_loads,
    read_sql,
    sql_statements,
    sync_outcome,
)

log = logging.getLogger("spacex_launches")

_DUCKDB_TYPES = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.INT: "INTEGER",
    ColumnType.BIGINT: "BIGINT",
    ColumnType.BOOLEAN: "BOOLEAN",
    ColumnType.TIMESTAMP: "TIMESTAMP",
}


def _staging_select(table: str, parquet_glob: str) -> str:
    columns = ", ".join(
        f"CAST({column.name} AS {_DUCKDB_TYPES[column.type]}) AS {column.name}"
        for column in contract.TABLES[table]
    )
    return f"SELECT {columns} FROM read_parquet('{parquet_glob}')"


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


class DuckDBLoader:
    target = "duckdb"

    def __init__(self, path: str, lock_timeout: float = 120.0):
        self.path = os.path.abspath(path)
        self.lock_timeout = lock_timeout

    def describe(self) -> str:
        return f"duckdb:{self.path}"

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A connection with the file attached under a fixed catalog name, so a file called
        spacex.duckdb does not clash with the schema `spacex`. Waits while another process holds it."""
        if read_only and not os.path.exists(self.path):
            raise WarehouseError(f"{self.describe()}: no such warehouse file (run the job first)")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.2
        while True:
            connection = duckdb.connect()
            try:
                quoted = self.path.replace("'", "''")
                connection.execute(f"ATTACH '{quoted}' AS warehouse{' (READ_ONLY)' if read_only else ''}")
                break
            except duckdb.Error as exc:
                connection.close()
                if not _is_lock_conflict(exc):
                    raise WarehouseError(f"{self.describe()}: cannot open: {exc}") from None
                if time.monotonic() + delay > deadline:
                    raise WarehouseError(
                        f"{self.describe()}: another process has held the file for over {self.lock_timeout:.0f} s "
                        "(a concurrent run or an open DuckDB session); close it and re-run, the lake is committed"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        connection.execute("USE warehouse")
        # Timestamps in the contract are UTC; Parquet's UTC-adjusted values convert under this zone.
        connection.execute("SET TimeZone = 'UTC'")
        return connection

    def sync(self, lake: Lakehouse, snapshots: dict[str, TableSnapshot], run_id: str) -> WarehouseSync:
        """Export each pending table's snapshot to a local scratch Parquet through Spark (the lake may
        be on s3a://; DuckDB needs no extension), then load them in one DuckDB transaction."""
        connection = self.connect()
        try:
            try:
                for statement in sql_statements(read_sql("create_tables.sql")):
                    connection.execute(statement)
                loaded = loaded_snapshots(connection.execute(lake_loads_query()).fetchall())
            except duckdb.Error as exc:
                raise WarehouseError(f"{self.describe()}: preparing the tables failed: {exc}") from exc
            before = {table: self._count(connection, table) for table in snapshots}
            pending = pending_loads(loaded, snapshots)
            if pending:
                with tempfile.TemporaryDirectory(prefix="spacex-duckdb-") as scratch:
                    for table, snapshot in pending.items():
                        contract_rows(lake, table, snapshot).write.parquet(f"file://{scratch}/{table}")
                    self._load(connection, pending, scratch, run_id)
            after = {table: self._count(connection, table) for table in snapshots}
            return sync_outcome(snapshots, pending, before, after)
        finally:
            connection.close()

    def _load(
        self,
        connection: duckdb.DuckDBPyConnection,
        pending: dict[str, TableSnapshot],
        scratch: str,
        run_id: str,
    ) -> None:
        log.info("warehouse: loading %s", ", ".join(pending))
        connection.execute("BEGIN TRANSACTION")
        try:
            for table, snapshot in pending.items():
                staging = f"{table}_staging"
                select = _staging_select(table, f"{scratch}/{table}/*.parquet")
                connection.execute(f"CREATE OR REPLACE TEMP TABLE {staging} AS {select}")
                for statement in load_statements(table, staging, snapshot, run_id):
                    connection.execute(statement)
                connection.execute(f"DROP TABLE {staging}")
            connection.execute("COMMIT")
        except Exception as exc:
            connection.execute("ROLLBACK")
            raise WarehouseError(f"{self.describe()}: load failed, target unchanged: {exc}") from exc

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
