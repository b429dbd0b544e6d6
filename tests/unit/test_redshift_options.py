"""Redshift connector options for the dev config, asserted as data; warehouse selection; credentials
from Secrets Manager (moto) that never reach options' URLs, logs, errors or the run report; and every
.sql file parsing with sqlglot's Redshift dialect."""

from __future__ import annotations

import json
import logging
import uuid

import boto3
import pytest
import sqlglot
from sqlglot import exp

from conftest import free_port
from spacex_launches.config import ConfigError, load_config, sql_dir
from spacex_launches.report import new_report, to_json
from spacex_launches.secrets import DatabaseCredentials, SecretError, parse_credentials
from spacex_launches.warehouse import WarehouseError, loader_for, read_sql, spark_packages, sql_statements
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
def dev_config() -> dict:
    return load_config("dev", environ={})


@pytest.fixture
def credentials() -> DatabaseCredentials:
    return DatabaseCredentials(user="spacex_loader", password=PASSWORD)


def test_write_options_for_dev(dev_config, credentials):
    settings = RedshiftSettings.from_config(dev_config)
    launches = write_options(settings, credentials, "launches")
    cores = write_options(settings, credentials, "launch_cores")
    common = {
        "url": dev_config["redshift"]["jdbc_url"],  # from conf/dev.outputs.yaml (the deployed workgroup)
        "tempdir": "s3a://spacex-redshift-temp-dev/spacex/",
        "tempformat": "PARQUET",
        "aws_iam_role": "arn:aws:iam::111122223333:role/spacex-redshift-copy-dev",
        "tempdir_region": "us-east-1",
        "user": "spacex_loader",
        "password": PASSWORD,
    }
    assert {key: launches[key] for key in common} == common
    assert {key: cores[key] for key in common} == common
    assert (launches["dbtable"], cores["dbtable"]) == (
        "spacex.launches_staging",
        "spacex.launch_cores_staging",
    )

    ddl = sql_statements(read_sql("redshift/create_tables.sql"))
    assert launches["preactions"].split(";") == [
        *ddl,
        "DROP TABLE IF EXISTS spacex.launches_staging",
        "CREATE TABLE spacex.launches_staging (LIKE spacex.launches)",
    ]
    assert cores["preactions"].split(";") == [
        "DROP TABLE IF EXISTS spacex.launch_cores_staging",
        "CREATE TABLE spacex.launch_cores_staging (LIKE spacex.launch_cores)",
    ]
    # The merge runs only after the last COPY, in its transaction, and drops both staging tables.
    assert "postactions" not in launches
    assert cores["postactions"].split(";") == sql_statements(read_sql("merge.sql"))
    assert cores["postactions"].endswith("DROP TABLE spacex.launches_staging")
    assert CONNECTOR_FORMAT == "io.github.spark_redshift_community.spark.redshift"


def test_the_password_is_only_in_the_password_option(dev_config, credentials, caplog):
    caplog.set_level(logging.DEBUG, logger="spacex_launches")
    settings = RedshiftSettings.from_config(dev_config)
    loader = RedshiftLoader(settings, credentials)
    for table in ("launches", "launch_cores"):
        options = write_options(settings, credentials, table)
        assert [key for key, value in options.items() if PASSWORD in value] == ["password"]
    report = new_report("run-1", "dev", ["s3://x"], "s3://lake")
    report["warehouse"] = {"target": loader.target, "location": loader.describe()}
    for text in (loader.describe(), repr(loader.credentials), repr(settings), to_json(report), caplog.text):
        assert PASSWORD not in text
    host_port_db = dev_config["redshift"]["jdbc_url"].removeprefix("jdbc:redshift://")
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
        RedshiftSettings.from_config(load_config("dev", environ=override))


def test_environment_overrides_name_the_redshift_resources():
    config = load_config(
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


def test_the_loader_resolves_its_secret_from_secrets_manager(aws_env, caplog):
    caplog.set_level(logging.INFO)
    secret_id = f"spacex/dev/redshift-{uuid.uuid4().hex[:6]}"
    boto3.client("secretsmanager").create_secret(
        Name=secret_id,
        SecretString=json.dumps(
            {
                "host": "ignored",
                "port": 5439,
                "dbname": "spacex",
                "username": "spacex_loader",
                "password": PASSWORD,
            }
        ),
    )
    loader = loader_for("redshift", load_config("dev", environ={"REDSHIFT_SECRET_ID": secret_id}))
    assert isinstance(loader, RedshiftLoader)
    assert (loader.credentials.user, loader.credentials.password) == ("spacex_loader", PASSWORD)
    url_host = load_config("dev", environ={})["redshift"]["jdbc_url"].split("//", 1)[1].split(":", 1)[0]
    assert loader.host == url_host != "ignored"  # the URL's (conf/dev.outputs.yaml), not the secret's
    assert write_options(loader.settings, loader.credentials, "launches")["password"] == PASSWORD
    assert PASSWORD not in caplog.text and PASSWORD not in loader.describe()

    with pytest.raises(ConfigError, match="could not be read: ResourceNotFoundException"):
        loader_for("redshift", load_config("dev", environ={"REDSHIFT_SECRET_ID": "spacex/missing"}))


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
    local = load_config("local", environ={})
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
    assert spark_packages("warehouse/spacex.duckdb") == spark_packages(None) == ""


SQL_FILES = sorted(path.relative_to(sql_dir()).as_posix() for path in sql_dir().rglob("*.sql"))


@pytest.mark.parametrize("name", SQL_FILES)
def test_every_sql_file_parses_as_redshift(name):
    statements = sql_statements(read_sql(name))
    assert statements
    for statement in statements:
        sqlglot.parse_one(statement, read="redshift")  # raises ParseError on anything it cannot read


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
    assert set(tables) == set(portable) == {"launches", "launch_cores"}
    for name, parsed in tables.items():
        columns = [(c.name, c.args["kind"].sql("redshift")) for c in parsed.find_all(exp.ColumnDef)]
        assert columns == [
            (c.name, c.args["kind"].sql("redshift")) for c in portable[name].find_all(exp.ColumnDef)
        ]
    keys = {
        name: (
            parsed.find(exp.DistKeyProperty).sql("redshift"),
            parsed.find(exp.SortKeyProperty).sql("redshift"),
        )
        for name, parsed in tables.items()
    }
    assert keys == {
        "launches": ("DISTKEY(launch_id)", "SORTKEY(date_utc)"),
        "launch_cores": ("DISTKEY(core_id)", "COMPOUND SORTKEY(core_id, date_utc)"),
    }
