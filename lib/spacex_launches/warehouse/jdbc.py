"""What the PostgreSQL and Redshift loaders share: jar coordinates, the schema name, connection
details without secrets in them, and read-only queries over the PostgreSQL wire protocol (psycopg),
which both databases speak.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import psycopg

from spacex_launches import contract
from spacex_launches.common.redact import carries_secret, redact_location, redact_text
from spacex_launches.common.secrets import DatabaseCredentials
from spacex_launches.exceptions import ConfigError, WarehouseError

# Maven coordinates for spark-submit --packages (the one place they are written down). On EMR the
# image ships the Redshift connector and driver under /usr/share/aws/redshift/ instead.
POSTGRES_JDBC_PACKAGE = "org.postgresql:postgresql:42.7.4"
REDSHIFT_PACKAGES = (
    "io.github.spark-redshift-community:spark-redshift_2.12:6.4.3-spark_3.5",
    "com.amazon.redshift:redshift-jdbc42:2.1.0.30",
    "org.apache.spark:spark-avro_2.12:3.5.6",
)

DEFAULT_SCHEMA = "spacex"
_CHAIN_LIMIT = 32  # links of a JVM exception chain walked at most (a cycle cannot hold us)


def _is_sql_exception(throwable) -> bool:
    """Whether a JVM throwable (a py4j object) is a java.sql.SQLException."""
    cls = throwable.getClass()
    for _ in range(_CHAIN_LIMIT):
        if cls is None:
            return False
        if cls.getName() == "java.sql.SQLException":
            return True
        cls = cls.getSuperclass()
    return False


def database_cause(exc: BaseException) -> str:
    """The database's own words for a failed JDBC write, secrets masked: `SQLSTATE 22001: ERROR: value
    too long ...`. Spark's error says only "An error occurred while calling o1044.jdbc" or "Job aborted";
    the server's is a java.sql.SQLException down the JVM cause chain (a batch insert's
    BatchUpdateException holds it as its next exception). Falls back to the error's first line."""
    throwable = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    found = None
    for _ in range(_CHAIN_LIMIT):
        if throwable is None:
            break
        if _is_sql_exception(throwable):
            found = throwable
            break
        throwable = throwable.getCause()
    for _ in range(_CHAIN_LIMIT):  # the batch's own error, then the server's, last in the chain
        following = found.getNextException() if found is not None else None
        if following is None:
            break
        found = following
    if found is None:
        return redact_text((str(exc).strip().splitlines() or [type(exc).__name__])[0])
    message = (str(found.getMessage() or "").strip().splitlines() or [found.getClass().getName()])[0]
    return redact_text(f"SQLSTATE {found.getSQLState()}: {message}")


def in_schema(sql: str, schema: str) -> str:
    """The project's SQL names the schema `spacex`; a scratch schema (tests) swaps it."""
    return sql if schema == DEFAULT_SCHEMA else re.sub(rf"\b{DEFAULT_SCHEMA}\b", schema, sql)


def split_url(url: str, scheme_prefix: str) -> tuple[str | None, str, int | None, str]:
    """(user, host, port, database) of a `postgresql://` or `jdbc:redshift://` URL.

    A password (or any secret-looking parameter, spacex_launches.common.redact) in the URL is refused: URLs end
    up in logs, shell history and process lists. Errors show the URL masked."""
    parts = urlsplit(url.removeprefix("jdbc:"))
    if carries_secret(url) or ":" in unquote(parts.username or ""):
        raise ConfigError(
            f"{scheme_prefix} URL must not contain a password or another secret ({redact_location(url)}): "
            "use PGPASSWORD or a Secrets Manager secret"
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{scheme_prefix} URL has a bad port: {redact_location(url)}") from None
    database = parts.path.lstrip("/")
    if not parts.hostname or not database:
        raise ConfigError(f"{scheme_prefix} URL needs a host and a database: {scheme_prefix}://host:port/db")
    return parts.username, parts.hostname, port, database


class JdbcWarehouse:
    """Connection details for a PostgreSQL-protocol warehouse. The password stays in this object:
    it is never part of describe(), a URL, an error message or the run report."""

    target = "jdbc"
    default_port = 5432

    def __init__(
        self,
        host: str,
        port: int | None,
        database: str,
        credentials: DatabaseCredentials | None,
        schema: str = DEFAULT_SCHEMA,
    ):
        self.host = host
        self.port = port or self.default_port
        self.database = database
        self.credentials = credentials
        self.schema = schema

    def describe(self) -> str:
        user = f"{self.credentials.user}@" if self.credentials else ""
        where = f"{self.target}://{user}{self.host}:{self.port}/{self.database}"
        return where if self.schema == DEFAULT_SCHEMA else f"{where} (schema {self.schema})"

    def sql(self, text: str) -> str:
        return in_schema(text, self.schema)

    def connect(self) -> psycopg.Connection:
        if self.credentials is None:
            raise WarehouseError(f"{self.describe()}: no database user (set a secret id)")
        try:
            return psycopg.connect(
                host=self.host,
                port=self.port,
                dbname=self.database,
                user=self.credentials.user,
                password=self.credentials.password,
                connect_timeout=15,
            )
        except psycopg.Error as exc:
            raise WarehouseError(f"{self.describe()}: cannot connect: {exc}") from None

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        with self.connect() as connection:
            try:
                cursor = connection.execute(self.sql(sql))
                assert cursor.description is not None, sql  # a query's statement returns rows
                return [column.name for column in cursor.description], cursor.fetchall()
            except psycopg.Error as exc:
                raise WarehouseError(f"{self.describe()}: query failed: {exc}") from exc

    def table_counts(self, connection: psycopg.Connection | None = None) -> dict[str, int]:
        """Rows per target table; 0 for a table not created yet (before the first load)."""
        if connection is None:
            with self.connect() as own:
                return self.table_counts(own)
        try:
            existing = {
                row[0]
                for row in connection.execute(
                    f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{self.schema}'"
                )
            }
            return {
                table: connection.execute(f"SELECT COUNT(*) FROM {self.schema}.{table}").fetchall()[0][0]
                if table in existing
                else 0
                for table in contract.TABLES
            }
        except psycopg.Error as exc:
            raise WarehouseError(f"{self.describe()}: counting rows failed: {exc}") from exc
