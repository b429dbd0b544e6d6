"""Amazon Redshift through the spark-redshift community connector (Parquet on S3 + COPY over JDBC).

Two connector writes, each one Redshift transaction (the connector runs its CREATE TABLE IF NOT
EXISTS, the preactions, the COPY and the postactions, then commits; any failure rolls back):

1. launches -> spacex.launches_staging. Preactions: sql/redshift/create_tables.sql (targets if
   missing) and a fresh staging table shaped like the target.
2. launch_cores -> spacex.launch_cores_staging, with sql/merge.sql as postactions: both staging tables
   are merged into the targets and dropped in the same transaction as this COPY.

So the targets change only in the second transaction, all at once or not at all; a failure anywhere
leaves them as they were, and the next run starts from fresh staging tables.

Credentials: `redshift.secret_id` names a Secrets Manager secret ({"username", "password", ...}),
resolved at run time and passed as the connector's user/password options (and to psycopg for row
counts and queries); the JDBC URL never carries a user or password. Redshift reads the temporary
Parquet from `tempdir` by assuming `aws_iam_role` (the COPY role).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

from spacex_launches import schemas
from spacex_launches.config import ConfigError, get_dotted, require
from spacex_launches.redact import redact_location
from spacex_launches.secrets import DatabaseCredentials, SecretError, database_credentials
from spacex_launches.warehouse import WarehouseError, read_sql, sql_statements
from spacex_launches.warehouse.jdbc import DEFAULT_SCHEMA, JdbcWarehouse, in_schema, split_url
from spacex_launches.warehouse.postgres import first_line

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
    def from_config(cls, config: dict[str, Any]) -> RedshiftSettings:
        settings = cls(
            jdbc_url=require(config, "redshift.jdbc_url"),
            tempdir=require(config, "redshift.tempdir"),
            iam_role_arn=require(config, "redshift.iam_role_arn"),
            secret_id=get_dotted(config, "redshift.secret_id") or None,
            region=get_dotted(config, "region") or get_dotted(config, "s3.region"),
            schema=get_dotted(config, "redshift.schema") or DEFAULT_SCHEMA,
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


def staging_table(schema: str, table: str) -> str:
    return f"{schema}.{table}_staging"


def write_options(
    settings: RedshiftSettings, credentials: DatabaseCredentials | None, table: str
) -> dict[str, str]:
    """The connector options for staging `table`: data, so tests can assert them as such.

    The first table's write creates the targets if missing; the last table's write merges."""
    tables = list(schemas.TABLES)
    staging = staging_table(settings.schema, table)
    preactions = []
    if table == tables[0]:
        preactions += sql_statements(in_schema(read_sql("redshift/create_tables.sql"), settings.schema))
    # The connector has already run CREATE TABLE IF NOT EXISTS for staging with its own column types;
    # replace it with the target's exact layout (a leftover from a failed run goes too).
    preactions += [
        f"DROP TABLE IF EXISTS {staging}",
        f"CREATE TABLE {staging} (LIKE {settings.schema}.{table})",
    ]
    options = {
        "url": settings.jdbc_url,
        "dbtable": staging,
        "tempdir": settings.tempdir,
        "tempformat": TEMPFORMAT,
        "aws_iam_role": settings.iam_role_arn,
        "preactions": ";".join(preactions),
    }
    if table == tables[-1]:
        options["postactions"] = ";".join(sql_statements(in_schema(read_sql("merge.sql"), settings.schema)))
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
    def from_config(cls, config: dict[str, Any]) -> RedshiftLoader:
        settings = RedshiftSettings.from_config(config)
        try:
            credentials = database_credentials(settings.secret_id, settings.region)
        except SecretError as exc:
            raise ConfigError(str(exc)) from None
        return cls(settings, credentials)

    def load(self, spark: SparkSession, validated: dict[str, str]) -> dict[str, dict[str, int]]:
        before = self.table_counts()
        staged = {}
        for table, schema in schemas.TABLES.items():
            frame = spark.read.parquet(validated[table]).select(*schema.fieldNames())
            staged[table] = frame.count()
            try:
                frame.write.format(CONNECTOR_FORMAT).options(
                    **write_options(self.settings, self.credentials, table)
                ).mode("append").save()
            except Exception as exc:
                raise WarehouseError(
                    f"{self.describe()}: loading {table} failed, target unchanged: {first_line(exc)}"
                ) from None
        after = self.table_counts()
        return {
            table: {"staged": staged[table], "before": before[table], "after": after[table]}
            for table in schemas.TABLES
        }
