"""PostgreSQL over JDBC: the local stand-in for Redshift's JDBC path, with the same merge and analytics SQL.

Spark's JDBC writer fills `spacex.<table>_staging`; then sql/merge.sql runs in one transaction (psycopg).
The staging tables are recreated by the loader before each run, so a run that failed half-way leaves
nothing behind that the next run could pick up, and the target tables only change in that transaction.

Credentials: the user from the URL (`postgresql://user@host:port/db`) and the password from the
standard PGPASSWORD variable, or all of host/port/dbname/username/password from a Secrets Manager
secret (`postgres.secret_id`). A password in the URL is refused.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from spacex_launches import schemas
from spacex_launches.config import ConfigError, get_dotted
from spacex_launches.secrets import DatabaseCredentials, SecretError, database_credentials
from spacex_launches.warehouse import WarehouseError, read_sql, sql_statements
from spacex_launches.warehouse.jdbc import DEFAULT_SCHEMA, JdbcWarehouse, split_url


def first_line(exc: BaseException) -> str:
    """A JVM error's first line: the cause, without a page of stack trace."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class PostgresLoader(JdbcWarehouse):
    target = "postgres"

    @classmethod
    def from_spec(cls, spec: str, config: dict[str, Any]) -> PostgresLoader:
        """`spec` is a postgresql:// URL, or `postgres` for the config's postgres.url / secret_id."""
        url = spec if "://" in spec else get_dotted(config, "postgres.url")
        secret_id = get_dotted(config, "postgres.secret_id")
        schema = get_dotted(config, "postgres.schema") or DEFAULT_SCHEMA
        user = host = port = database = None
        if url:
            user, host, port, database = split_url(url, "postgresql")
        if secret_id:
            try:
                secret = database_credentials(secret_id, get_dotted(config, "region"))
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
        properties = {
            "driver": "org.postgresql.Driver",
            "user": self.credentials.user,
            "reWriteBatchedInserts": "true",
        }
        if self.credentials.password:
            properties["password"] = self.credentials.password
        return properties

    def load(self, spark: SparkSession, validated: dict[str, str]) -> dict[str, dict[str, int]]:
        staging = {table: f"{self.schema}.{table}_staging" for table in schemas.TABLES}
        with self.connect() as connection:
            try:
                self._prepare(connection, staging)
                before = self.table_counts(connection)
            except psycopg.Error as exc:
                raise WarehouseError(f"{self.describe()}: preparing the tables failed: {exc}") from exc

        for table, schema in schemas.TABLES.items():
            try:
                (
                    spark.read.parquet(validated[table])
                    .select(*schema.fieldNames())
                    .write.jdbc(
                        self.jdbc_url(), staging[table], mode="append", properties=self.jdbc_properties()
                    )
                )
            except Exception as exc:
                raise WarehouseError(
                    f"{self.describe()}: staging {table} failed, target unchanged: {first_line(exc)}"
                ) from None

        with self.connect() as connection:
            try:
                with connection.transaction():
                    # Staged timestamps are instants (timestamptz); the targets hold UTC wall time.
                    connection.execute("SET LOCAL TIME ZONE 'UTC'")
                    staged = {
                        table: connection.execute(f"SELECT COUNT(*) FROM {staging[table]}").fetchone()[0]
                        for table in schemas.TABLES
                    }
                    for statement in sql_statements(self.sql(read_sql("merge.sql"))):
                        connection.execute(statement)
                    after = self.table_counts(connection)
            except psycopg.Error as exc:
                raise WarehouseError(f"{self.describe()}: merge failed, target unchanged: {exc}") from exc
        return {
            table: {"staged": staged[table], "before": before[table], "after": after[table]}
            for table in schemas.TABLES
        }

    def _prepare(self, connection: psycopg.Connection, staging: dict[str, str]) -> None:
        """Targets if missing, and empty staging tables shaped like them. Timestamp columns are
        timestamptz in staging: the JDBC driver sends instants with the JVM's zone offset, so the
        value is right whatever that zone is."""
        for statement in sql_statements(self.sql(read_sql("create_tables.sql"))):
            connection.execute(statement)
        for table, schema in schemas.TABLES.items():
            connection.execute(f"DROP TABLE IF EXISTS {staging[table]}")
            connection.execute(f"CREATE TABLE {staging[table]} (LIKE {self.schema}.{table})")
            for field in schema.fields:
                if isinstance(field.dataType, T.TimestampType):
                    connection.execute(
                        f"ALTER TABLE {staging[table]} ALTER COLUMN {field.name} TYPE TIMESTAMPTZ"
                    )
