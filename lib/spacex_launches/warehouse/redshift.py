"""Amazon Redshift through the spark-redshift community connector (Parquet on S3 + COPY over JDBC).

One connector write per table that is behind the lake, each one Redshift transaction (the connector
runs its CREATE TABLE IF NOT EXISTS, the preactions, the COPY and the postactions, then commits; any
failure rolls back), into staging tables of the run's own (`spacex.<table>_staging_<run hash>`):

1. The first write's preactions create the targets if missing (sql/redshift/create_tables.sql).
2. The last write's postactions lock `spacex.lake_loads` and run sql/load_table.sql for every table
   staged, then drop the staging tables, in the same transaction as that COPY.

So the targets change only in the last transaction, all at once or not at all; a failure anywhere
leaves them (and `lake_loads`) as they were, and the next run loads again.

Credentials: `redshift.secret_id` names a Secrets Manager secret ({"username", "password", ...}),
resolved at run time and passed as the connector's user/password options (and to psycopg for row
counts and queries); the JDBC URL never carries a user or password. Redshift reads the temporary
Parquet from `tempdir` by assuming `aws_iam_role` (the COPY role).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from spacex_launches.common.redact import redact_location
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
from spacex_launches.warehouse.jdbc import DEFAULT_SCHEMA, JdbcWarehouse, database_cause, in_schema, split_url

CONNECTOR_FORMAT = "io.github.spark_redshift_community.spark.redshift"
# Parquet: typed and compressed columns, no CSV quoting or null-sentinel pitfalls, and Redshift loads
# it in parallel per file. (Parquet COPY cannot cross regions: the tempdir bucket must be in the
# cluster's region.)
TEMPFORMAT = "PARQUET"


@dataclass(frozen=True)
class RedshiftSettings:
    jdbc_url: str
    tempdir: str
    iam_role_arn: str
    secret_id: str | None = None
    region: str | None = None
    schema: str = DEFAULT_SCHEMA

    @classmethod
    def from_config(cls, config: Settings) -> RedshiftSettings:
        redshift = config.redshift
        settings = cls(
            jdbc_url=redshift.required.jdbc_url,
            tempdir=redshift.required.tempdir,
            iam_role_arn=redshift.required.iam_role_arn,
            secret_id=redshift.secret_id or None,
            region=config.aws_region,
            schema=redshift.schema or DEFAULT_SCHEMA,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if not self.jdbc_url.startswith("jdbc:redshift:"):
            raise ConfigError(
                f"redshift.jdbc_url must be a jdbc:redshift:// URL, got {redact_location(self.jdbc_url)!r}"
            )
        user, *_ = split_url(self.jdbc_url, "jdbc:redshift")
        if user:
            raise ConfigError("redshift.jdbc_url must not carry a user: the secret redshift.secret_id does")
        if not self.tempdir.startswith(("s3a://", "s3://")):
            raise ConfigError(
                f"redshift.tempdir must be an s3a:// (or EMR s3://) URI, got {redact_location(self.tempdir)!r}"
            )
        if not self.iam_role_arn.startswith("arn:aws:iam::"):
            raise ConfigError(f"redshift.iam_role_arn must be an IAM role ARN, got {self.iam_role_arn!r}")
        if not self.secret_id:
            raise ConfigError(
                "redshift needs redshift.secret_id (the Secrets Manager secret with its credentials)"
            )


def write_options(
    settings: RedshiftSettings,
    credentials: DatabaseCredentials | None,
    pending: dict[str, TableSnapshot],
    table: str,
    run_id: str,
) -> dict[str, str]:
    """The connector options for staging `table`, one of the `pending` tables, in order: data, so
    tests can assert them as such. The first write creates the targets if missing; the last loads."""
    tables = list(pending)
    staging = {name: f"{settings.schema}.{staging_name(name, run_id)}" for name in tables}
    preactions = []
    if table == tables[0]:
        preactions += sql_statements(in_schema(read_sql("redshift/create_tables.sql"), settings.schema))
    # The connector has already run CREATE TABLE IF NOT EXISTS for staging with its own column types;
    # replace it with the target's exact layout (a leftover of this run's failed attempt goes too).
    preactions += [
        f"DROP TABLE IF EXISTS {staging[table]}",
        f"CREATE TABLE {staging[table]} (LIKE {settings.schema}.{table})",
    ]
    options = {
        "url": settings.jdbc_url,
        "dbtable": staging[table],
        "tempdir": settings.tempdir,
        "tempformat": TEMPFORMAT,
        "aws_iam_role": settings.iam_role_arn,
        "preactions": ";".join(preactions),
    }
    if table == tables[-1]:
        postactions = [f"LOCK {settings.schema}.{LOAD_STATE_TABLE}"]
        for name, snapshot in pending.items():
            postactions += [
                in_schema(statement, settings.schema)
                for statement in load_statements(name, staging[name], snapshot, run_id)
            ]
        postactions += [f"DROP TABLE {staging[name]}" for name in tables]
        options["postactions"] = ";".join(postactions)
    if settings.region:
        options["tempdir_region"] = settings.region
    if credentials is not None:
        options["user"] = credentials.user
        options["password"] = credentials.password or ""
    return options


class RedshiftLoader(JdbcWarehouse):
    target = "redshift"
    default_port = 5439

    def __init__(self, settings: RedshiftSettings, credentials: DatabaseCredentials | None = None):
        _, host, port, database = split_url(settings.jdbc_url, "jdbc:redshift")
        super().__init__(host, port, database, credentials, settings.schema)
        self.settings = settings

    @classmethod
    def from_config(cls, config: Settings) -> RedshiftLoader:
        settings = RedshiftSettings.from_config(config)
        assert settings.secret_id is not None  # validate() refuses settings without one
        try:
            credentials = database_credentials(settings.secret_id, settings.region)
        except SecretError as exc:
            raise ConfigError(str(exc)) from None
        return cls(settings, credentials)

    def loaded(self) -> dict[str, tuple[str, int]]:
        """What `spacex.lake_loads` says the warehouse holds (nothing before the first load)."""
        with self.connect() as connection:
            try:
                rows = connection.execute(lake_loads_query(self.schema)).fetchall()
            except psycopg.errors.UndefinedTable:
                return {}
            except psycopg.Error as exc:
                raise WarehouseError(f"{self.describe()}: reading {LOAD_STATE_TABLE} failed: {exc}") from exc
        return loaded_snapshots(rows)

    def sync(self, lake: Lakehouse, snapshots: dict[str, TableSnapshot], run_id: str) -> WarehouseSync:
        before = self.table_counts()
        pending = pending_loads(self.loaded(), snapshots)
        for table, snapshot in pending.items():
            try:
                contract_rows(lake, table, snapshot).write.format(CONNECTOR_FORMAT).options(
                    **write_options(self.settings, self.credentials, pending, table, run_id)
                ).mode("append").save()
            except Exception as exc:
                raise WarehouseError(
                    f"{self.describe()}: loading {table} failed, target unchanged: {database_cause(exc)}"
                ) from None
        return sync_outcome(snapshots, pending, before, self.table_counts())
