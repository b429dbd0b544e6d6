"""A JDBC load the database refuses says why in the database's own words: the SQLSTATE and the server's
first line, walked out of the JVM's exception chain (real PostgreSQL, real Spark JDBC writer), with no
password in it."""

from __future__ import annotations

import psycopg
import pytest

from spacex_launches.common.settings import Settings
from spacex_launches.exceptions import WarehouseError
from spacex_launches.warehouse import read_sql, sql_statements
from spacex_launches.warehouse.postgres import PostgresLoader
from support.lake import run_in_process
from support.paths import SAMPLE_DIR

pytestmark = pytest.mark.integration
PASSWORD = "Jdbc-Pl4nted"


def test_a_value_too_long_for_the_column_names_sqlstate_and_the_servers_line(
    spark, tmp_path, database, monkeypatch
):
    loader = PostgresLoader.from_spec(database, Settings())
    with psycopg.connect(database) as connection:  # a warehouse made narrower than the contract by hand
        for statement in sql_statements(read_sql("create_tables.sql")):
            connection.execute(statement)
        connection.execute("ALTER TABLE spacex.launches ALTER COLUMN name TYPE varchar(3)")
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # trust auth ignores it; the loader holds it

    with pytest.raises(WarehouseError) as refused:
        run_in_process(spark, [SAMPLE_DIR], tmp_path / "lake", database, "narrow")

    message = str(refused.value)
    assert "staging launches failed, target unchanged: SQLSTATE 22001: " in message
    assert "value too long for type character varying(3)" in message
    assert "An error occurred while calling" not in message
    assert PASSWORD not in message
    assert loader.table_counts()["launches"] == 0  # nothing of the load reached the target
