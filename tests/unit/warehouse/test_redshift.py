"""Redshift connector options for the dev config, asserted as data (the run-scoped staging tables, the
load of each table behind the lake in the last COPY's transaction); warehouse selection; credentials
that never reach options' URLs, logs, errors or the run report; the Redshift DDL's keys. Credentials
from Secrets Manager: tests/integration/warehouse/test_redshift.py."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
import sqlglot
from sqlglot import exp

from rehearsal.servers import free_port
from spacex_launches.common.secrets import DatabaseCredentials, parse_credentials
from spacex_launches.common.settings import Settings, load_settings
from spacex_launches.exceptions import ConfigError, SecretError, WarehouseError
from spacex_launches.job.outcomes import WarehouseOutcome
from spacex_launches.job.run_report import RunReport, to_json
from spacex_launches.lake.catalog import TableSnapshot
from spacex_launches.warehouse import (
    load_statements,
    loader_for,
    pending_loads,
    read_sql,
    spark_packages,
    sql_statements,
    staging_name,
)
from spacex_launches.warehouse.duckdb import DuckDBLoader
from spacex_launches.warehouse.postgres import PostgresLoader
from spacex_launches.warehouse.redshift import (
    CONNECTOR_FORMAT,
    RedshiftLoader,
    RedshiftSettings,
    write_options,
)

PASSWORD = "not-a-real-password-" + uuid.uuid4().hex


@pytest.fixture
def dev_config() -> Settings:
    return load_settings("dev", environ={})


@pytest.fixture
def credentials() -> DatabaseCredentials:
    return DatabaseCredentials(user="spacex_loader", password=PASSWORD)


LAUNCHES = TableSnapshot("launches", "0b6e1d51-5a0e-4c8e-9d1e-2f1b2c3d4e5f", 4422668105435556124, 7)
CORES = TableSnapshot("launch_cores", "6f1a0b2c-3d4e-4f50-8a1b-2c3d4e5f6a7b", 2910051766485292412, 9)
PENDING = {"launches": LAUNCHES, "launch_cores": CORES}


def test_write_options_for_dev(dev_config, credentials):
    settings = RedshiftSettings.from_config(dev_config)
    launches = write_options(settings, credentials, PENDING, "launches", "dev-20261123-abc")
    cores = write_options(settings, credentials, PENDING, "launch_cores", "dev-20261123-abc")
    common = {
        "url": dev_config.redshift.jdbc_url,  # from conf/dev.outputs.yaml (the deployed workgroup)
        "tempdir": "s3a://spacex-redshift-temp-dev/spacex/",
        "tempformat": "PARQUET",
        "aws_iam_role": "arn:aws:iam::111122223333:role/spacex-redshift-copy-dev",
        "tempdir_region": "us-east-1",
        "user": "spacex_loader",
        "password": PASSWORD,
    }
    assert {key: launches[key] for key in common} == common
    assert {key: cores[key] for key in common} == common
    # staging tables of the run's own: a re-run and the scheduled run never share one
    staging = {table: f"spacex.{staging_name(table, 'dev-20261123-abc')}" for table in PENDING}
    assert (launches["dbtable"], cores["dbtable"]) == (staging["launches"], staging["launch_cores"])
    assert staging_name("launches", "dev-20261123-abc") != staging_name("launches", "dev-20261123-abd")

    ddl = sql_statements(read_sql("redshift/create_tables.sql"))
    assert launches["preactions"].split(";") == [
        *ddl,
        f"DROP TABLE IF EXISTS {staging['launches']}",
        f"CREATE TABLE {staging['launches']} (LIKE spacex.launches)",
    ]
    assert cores["preactions"].split(";") == [
        f"DROP TABLE IF EXISTS {staging['launch_cores']}",
        f"CREATE TABLE {staging['launch_cores']} (LIKE spacex.launch_cores)",
    ]
    # The load runs only after the last COPY, in its transaction: lock, each table to its snapshot,
    # the snapshots recorded, the staging tables dropped.
    assert "postactions" not in launches
    assert cores["postactions"].split(";") == [
        "LOCK spacex.lake_loads",
        *load_statements("launches", staging["launches"], LAUNCHES, "dev-20261123-abc"),
        *load_statements("launch_cores", staging["launch_cores"], CORES, "dev-20261123-abc"),
        f"DROP TABLE {staging['launches']}",
        f"DROP TABLE {staging['launch_cores']}",
    ]
    assert (
        "sequence_number >= 9" in cores["postactions"]
        and "'6f1a0b2c-3d4e-4f50-8a1b-2c3d4e5f6a7b'" in cores["postactions"]
    )
    assert CONNECTOR_FORMAT == "io.github.spark_redshift_community.spark.redshift"


def test_only_the_tables_behind_the_lake_are_staged(dev_config, credentials):
    settings = RedshiftSettings.from_config(dev_config)
    only_cores = write_options(settings, credentials, {"launch_cores": CORES}, "launch_cores", "r1")
    staging = f"spacex.{staging_name('launch_cores', 'r1')}"
    assert only_cores["preactions"].split(";")[-2:] == [
        f"DROP TABLE IF EXISTS {staging}",
        f"CREATE TABLE {staging} (LIKE spacex.launch_cores)",
    ]
    assert only_cores["preactions"].startswith("CREATE SCHEMA IF NOT EXISTS spacex")
    assert "DELETE FROM spacex.launches " not in only_cores["postactions"]
    assert "DELETE FROM spacex.launch_cores" in only_cores["postactions"]
    assert pending_loads({"launches": (LAUNCHES.table_uuid, 7)}, PENDING) == {"launch_cores": CORES}
    assert (
        pending_loads({"launches": (LAUNCHES.table_uuid, 8), "launch_cores": (CORES.table_uuid, 9)}, PENDING)
        == {}
    )
    # a re-created lake table (another uuid) is loaded whatever its sequence number
    assert pending_loads({"launches": ("another-uuid", 99)}, {"launches": LAUNCHES}) == {"launches": LAUNCHES}


def test_load_values_are_checked_before_they_reach_sql():
    with pytest.raises(WarehouseError, match="run_id"):
        load_statements("launches", "spacex.x", LAUNCHES, "r1'; DROP TABLE spacex.launches; --")


def test_the_password_is_only_in_the_password_option(dev_config, credentials, caplog):
    caplog.set_level(logging.DEBUG, logger="spacex_launches")
    settings = RedshiftSettings.from_config(dev_config)
    loader = RedshiftLoader(settings, credentials)
    for table in PENDING:
        options = write_options(settings, credentials, PENDING, table, "run-1")
        assert [key for key, value in options.items() if PASSWORD in value] == ["password"]
    report = RunReport.start("run-1", "dev", ["s3://x"], "s3://lake")
    report.warehouse = WarehouseOutcome(loader.target, loader.describe())
    for text in (loader.describe(), repr(loader.credentials), repr(settings), to_json(report), caplog.text):
        assert PASSWORD not in text
    host_port_db = dev_config.redshift.jdbc_url.removeprefix("jdbc:redshift://")
    assert loader.describe() == f"redshift://spacex_loader@{host_port_db}"


def test_a_connection_error_names_the_database_not_the_password():
    loader = PostgresLoader("127.0.0.1", free_port(), "spacex", DatabaseCredentials("loader", PASSWORD))
    with pytest.raises(WarehouseError) as error:
        loader.query("SELECT 1")
    assert "postgres://loader@127.0.0.1" in str(error.value)
    assert PASSWORD not in str(error.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"REDSHIFT_JDBC_URL": "jdbc:redshift://h:5439/db?user=a&password=b"}, "must not contain a password"),
        ({"REDSHIFT_JDBC_URL": "jdbc:redshift://a:b@h:5439/db"}, "must not contain a password"),
        ({"REDSHIFT_JDBC_URL": "jdbc:redshift://admin@h:5439/db"}, "must not carry a user"),
        ({"REDSHIFT_JDBC_URL": "jdbc:postgresql://h:5439/db"}, "jdbc:redshift"),
        ({"REDSHIFT_TEMPDIR": "/tmp/redshift"}, "s3a://"),
        ({"REDSHIFT_IAM_ROLE_ARN": "spacex-copy"}, "IAM role ARN"),
    ],
)
def test_bad_redshift_settings_are_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        RedshiftSettings.from_config(load_settings("dev", environ=override))


def test_environment_overrides_name_the_redshift_resources():
    config = load_settings(
        "dev",
        environ={
            "REDSHIFT_JDBC_URL": "jdbc:redshift://other:5439/db",
            "REDSHIFT_SECRET_ID": "spacex/other",
            "REDSHIFT_TEMPDIR": "s3a://other-temp/x/",
            "REDSHIFT_IAM_ROLE_ARN": "arn:aws:iam::111122223333:role/other",
        },
    )
    settings = RedshiftSettings.from_config(config)
    assert (settings.jdbc_url, settings.secret_id, settings.tempdir, settings.iam_role_arn) == (
        "jdbc:redshift://other:5439/db",
        "spacex/other",
        "s3a://other-temp/x/",
        "arn:aws:iam::111122223333:role/other",
    )


def test_secret_format():
    parsed = parse_credentials(
        "s", json.dumps({"user": "u", "password": "p", "database": "d", "port": "5432"})
    )
    assert parsed == DatabaseCredentials(user="u", password="p", host=None, port=5432, database="d")
    for bad in ("not json", "[1]", json.dumps({"password": PASSWORD})):
        with pytest.raises(SecretError) as error:
            parse_credentials("spacex/x", bad)
        assert PASSWORD not in str(error.value) and "spacex/x" in str(error.value)


def test_warehouse_targets(tmp_path, monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    local = load_settings("local", environ={})
    postgres = loader_for("postgresql://spacex@127.0.0.1:5433/analytics", local)
    assert isinstance(postgres, PostgresLoader)
    assert postgres.describe() == "postgres://spacex@127.0.0.1:5433/analytics"
    assert postgres.jdbc_url() == "jdbc:postgresql://127.0.0.1:5433/analytics"
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    postgres = loader_for("postgresql://spacex@127.0.0.1/analytics", local)
    assert postgres.jdbc_properties()["password"] == PASSWORD and PASSWORD not in postgres.describe()
    with pytest.raises(ConfigError, match="must not contain a password"):
        loader_for("postgresql://spacex:secret@127.0.0.1/analytics", local)
    with pytest.raises(ConfigError, match=r"postgres\.url or postgres\.secret_id"):
        loader_for("postgres", local)
    assert isinstance(loader_for(str(tmp_path / "x.duckdb"), local), DuckDBLoader)
    assert isinstance(loader_for("duckdb", local), DuckDBLoader)
    assert loader_for("none", local) is None
    with pytest.raises(ConfigError, match="unknown warehouse"):
        loader_for("mysql://x", local)


def test_spark_packages_per_target():
    assert (
        spark_packages("postgresql://u@h/db")
        == spark_packages("postgres")
        == "org.postgresql:postgresql:42.7.4"
    )
    redshift = spark_packages("redshift").split(",")
    assert [coordinate.rsplit(":", 1)[0] for coordinate in redshift] == [
        "io.github.spark-redshift-community:spark-redshift_2.12",
        "com.amazon.redshift:redshift-jdbc42",
        "org.apache.spark:spark-avro_2.12",
    ]
    assert redshift[0].endswith("-spark_3.5")
    assert spark_packages("warehouse/launches.duckdb") == spark_packages(None) == ""


def test_redshift_tables_have_distribution_and_sort_keys():
    tables = {}
    for statement in sql_statements(read_sql("redshift/create_tables.sql")):
        parsed = sqlglot.parse_one(statement, read="redshift")
        if isinstance(parsed, exp.Create) and parsed.kind == "TABLE":
            tables[parsed.this.this.name] = parsed
    portable = {
        sqlglot.parse_one(s, read="postgres").this.this.name: sqlglot.parse_one(s, read="postgres")
        for s in sql_statements(read_sql("create_tables.sql"))
        if s.upper().startswith("CREATE TABLE")
    }
    assert (
        set(tables)
        == set(portable)
        == {"launches", "launch_cores", "lake_loads", "cores", "launch_sightings"}
    )
    for name, parsed in tables.items():
        columns = [(c.name, c.args["kind"].sql("redshift")) for c in parsed.find_all(exp.ColumnDef)]
        assert columns == [
            (c.name, c.args["kind"].sql("redshift")) for c in portable[name].find_all(exp.ColumnDef)
        ]
    keys = {
        name: tuple(
            p.sql("redshift")
            for p in parsed.find_all(exp.DistStyleProperty, exp.DistKeyProperty, exp.SortKeyProperty)
        )
        for name, parsed in tables.items()
        if name != "lake_loads"
    }
    assert (
        tables["lake_loads"].find(exp.DistStyleProperty).sql("redshift") == "DISTSTYLE ALL"
    )  # one row per table
    assert keys == {
        "launches": ("DISTSTYLE KEY", "DISTKEY(launch_id)", "SORTKEY(date_utc)"),
        "launch_cores": ("DISTSTYLE KEY", "DISTKEY(core_id)", "COMPOUND SORTKEY(core_id, date_utc)"),
        "cores": ("DISTSTYLE ALL", "SORTKEY(core_id)"),  # a small dimension: a copy on every node
        "launch_sightings": ("DISTSTYLE ALL", "SORTKEY(launch_id)"),  # one row per launch, as small
    }
