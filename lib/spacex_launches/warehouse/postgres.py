"""PostgreSQL over JDBC: the local stand-in for Redshift's JDBC path, with the same load and analytics SQL.

Spark's JDBC writer fills the run's own staging tables (`spacex.<table>_staging_<run hash>`); then
sql/load_table.sql runs in one transaction (psycopg) that first locks `spacex.lake_loads`, so concurrent
loads queue and the later snapshot wins. The target tables only change in that transaction; the staging
tables are dropped in it (or, after a failure, by the same run's retry).

Credentials: the user from the URL (`postgresql://user@host:port/db`) and the password from the
standard PGPASSWORD variable, or all of host/port/dbname/username/password from a Secrets Manager
secret (`postgres.secret_id`). A password in the URL is refused.
"""

from __future__ import annotations

import logging
import os

import psycopg

from spacex_launches import contract
from spacex_launches.common.secrets import DatabaseCredentials, database_credentials
from spacex_launches.common.settings import Settings
from spacex_launches.contract import LOAD_STATE_TABLE, lake_loads_query
from spacex_launches.exceptions import ConfigError, SecretError, WarehouseError
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
    staging_name,
    sync_outcome,
)
from spacex_launches.warehouse.jdbc import DEFAULT_SCHEMA, JdbcWarehouse, database_cause, split_url

log = logging.getLogger("spacex_launches")


class PostgresLoader(JdbcWarehouse):
    target = "postgres"

    @classmethod
    def from_spec(cls, spec: str, config: Settings) -> PostgresLoader:
        """`spec` is a postgresql:// URL, or `postgres` for the config's postgres.url / secret_id."""
        url = spec if "://" in spec else config.postgres.url
        secret_id = config.postgres.secret_id
        schema = config.postgres.schema or DEFAULT_SCHEMA
        user = host = port = database = None
        if url:
            user, host, port, database = split_url(url, "postgresql")
        if secret_id:
            try:
                secret = database_credentials(secret_id, config.aws_region)
            except SecretError as exc:
                raise ConfigError(str(exc)) from None
            credentials = DatabaseCredentials(user=secret.user, password=secret.password)
            host, port, database = host or secret.host, port or secret.port, database or secret.database
        else:
            if not url:
                raise ConfigError("warehouse postgres needs postgres.url or postgres.secret_id in the config")
            credentials = DatabaseCredentials(
                user=user or os.environ.get("PGUSER") or "postgres", password=os.environ.get("PGPASSWORD")
            )
        if not host or not database:
            raise ConfigError("warehouse postgres: no host/database in the URL or the secret")
        return cls(host, port, database, credentials, schema)

    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.database}"

    def jdbc_properties(self) -> dict[str, str]:
        credentials = self.credentials
        if credentials is None:  # as connect() says
            raise WarehouseError(f"{self.describe()}: no database user (set a secret id)")
        properties = {
            "driver": "org.postgresql.Driver",
            "user": credentials.user,
            "reWriteBatchedInserts": "true",
        }
        if credentials.password:
            properties["password"] = credentials.password
        return properties

    def sync(self, lake: Lakehouse, snapshots: dict[str, TableSnapshot], run_id: str) -> WarehouseSync:
        with self.connect() as connection:
            try:
                for statement in sql_statements(self.sql(read_sql("create_tables.sql"))):
                    connection.execute(statement)
                loaded = self.loaded(connection)
                before = self.table_counts(connection)
            except psycopg.Error as exc:
                raise WarehouseError(f"{self.describe()}: preparing the tables failed: {exc}") from exc
        pending = pending_loads(loaded, snapshots)
        if pending:
            staging = {table: f"{self.schema}.{staging_name(table, run_id)}" for table in pending}
            try:
                self._stage(lake, pending, staging)
                self._load(pending, staging, run_id)
            finally:
                self._drop(staging)
        return sync_outcome(snapshots, pending, before, self.table_counts())

    def loaded(self, connection: psycopg.Connection) -> dict[str, tuple[str, int]]:
        rows = connection.execute(lake_loads_query(self.schema)).fetchall()
        return loaded_snapshots(rows)

    def _stage(self, lake: Lakehouse, pending: dict[str, TableSnapshot], staging: dict[str, str]) -> None:
        """Empty staging tables shaped like the targets, filled by Spark. Timestamp columns are
        timestamptz in staging: the JDBC driver sends instants with the JVM's zone offset, so the
        value is right whatever that zone is."""
        with self.connect() as connection:
            try:
                for table in pending:
                    connection.execute(f"DROP TABLE IF EXISTS {staging[table]}")
                    connection.execute(f"CREATE TABLE {staging[table]} (LIKE {self.schema}.{table})")
                    for column in contract.TABLES[table]:
                        if column.type == contract.TIMESTAMP:
                            connection.execute(
                                f"ALTER TABLE {staging[table]} ALTER COLUMN {column.name} TYPE TIMESTAMPTZ"
                            )
            except psycopg.Error as exc:
                raise WarehouseError(f"{self.describe()}: preparing staging failed: {exc}") from exc
        for table, snapshot in pending.items():
            try:
                contract_rows(lake, table, snapshot).write.jdbc(
                    self.jdbc_url(), staging[table], mode="append", properties=self.jdbc_properties()
                )
            except Exception as exc:
                raise WarehouseError(
                    f"{self.describe()}: staging {table} failed, target unchanged: {database_cause(exc)}"
                ) from None

    def _load(self, pending: dict[str, TableSnapshot], staging: dict[str, str], run_id: str) -> None:
        log.info("warehouse: loading %s", ", ".join(pending))
        with self.connect() as connection:
            try:
                with connection.transaction():
                    # Staged timestamps are instants (timestamptz); the targets hold UTC wall time.
                    connection.execute("SET LOCAL TIME ZONE 'UTC'")
                    connection.execute(f"LOCK TABLE {self.schema}.{LOAD_STATE_TABLE} IN EXCLUSIVE MODE")
                    for table, snapshot in pending.items():
                        for statement in load_statements(table, staging[table], snapshot, run_id):
                            connection.execute(self.sql(statement))
            except psycopg.Error as exc:
                raise WarehouseError(f"{self.describe()}: load failed, target unchanged: {exc}") from exc

    def _drop(self, staging: dict[str, str]) -> None:
        try:
            with self.connect() as connection:
                for name in staging.values():
                    connection.execute(f"DROP TABLE IF EXISTS {name}")
        except (psycopg.Error, WarehouseError):
            pass  # a staging table left behind is replaced by the same run's retry
