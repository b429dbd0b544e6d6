"""The project's SQL: parses as Redshift, PostgreSQL and DuckDB; the statement splitter; comments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot

from spacex_launches import contract
from spacex_launches.common.settings import sql_dir
from spacex_launches.contract import Column, ColumnType
from spacex_launches.lake.catalog import TableSnapshot
from spacex_launches.warehouse import load_statements, sql_statements

PORTABLE = sorted(p for p in sql_dir().rglob("*.sql") if "redshift" not in p.relative_to(sql_dir()).parts)
REDSHIFT_ONLY = sorted((sql_dir() / "redshift").rglob("*.sql"))
REPORT = sorted(f"report/{p.name}" for p in (sql_dir() / "report").glob("*.sql"))
ANALYTICS = ["max_core_reuse.sql", "cores_reused_within_50_days.sql", *REPORT]


SNAPSHOT = TableSnapshot("launches", "0b6e1d51-5a0e-4c8e-9d1e-2f1b2c3d4e5f", 4422668105435556124, 7)


def statements_of(path: Path) -> list[str]:
    """A file's statements; the load template with its placeholders filled as the loaders fill them."""
    if path.name == "load_table.sql":
        return load_statements("launches", "spacex.launches_staging_0123456789ab", SNAPSHOT, "run-1")
    return sql_statements(path.read_text())


@pytest.mark.parametrize("path", PORTABLE, ids=lambda p: str(p.relative_to(sql_dir())))
@pytest.mark.parametrize("dialect", ["redshift", "postgres", "duckdb"])
def test_portable_sql_parses_in_every_dialect(path: Path, dialect: str):
    statements = statements_of(path)
    assert statements, f"{path} holds no statement"
    for statement in statements:
        sqlglot.parse_one(statement, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)


@pytest.mark.parametrize("path", REDSHIFT_ONLY, ids=lambda p: str(p.relative_to(sql_dir())))
def test_redshift_sql_parses_as_redshift(path: Path):
    for statement in statements_of(path):
        sqlglot.parse_one(statement, read="redshift", error_level=sqlglot.ErrorLevel.RAISE)


@pytest.mark.parametrize("name", ANALYTICS)
def test_analytics_document_their_definitions(name: str):
    text = (sql_dir() / name).read_text()
    for term in ("upcoming = FALSE", "core_id IS NOT NULL", "Definitions"):
        assert term in text
    assert len(sql_statements(text)) == 1
    # serials come from the cores table by a LEFT JOIN only: a core it does not know keeps its row
    if "spacex.cores" in text:
        assert re.search(r"LEFT JOIN spacex\.cores AS c ON c\.core_id = \w+\.core_id", text)
        assert not re.search(r"(?<!LEFT )JOIN spacex\.cores", text)


def test_sql_statements_drops_comments_and_splits():
    text = "-- a comment; with a semicolon\nSELECT 1;\n\nSELECT 2 -- trailing\n;"
    assert sql_statements(text) == ["SELECT 1", "SELECT 2"]


DDL_FILES = (("create_tables.sql", "postgres"), ("redshift/create_tables.sql", "redshift"))
SQL_TYPES = {
    ColumnType.STRING: sqlglot.exp.DataType.Type.VARCHAR,
    ColumnType.INT: sqlglot.exp.DataType.Type.INT,
    ColumnType.BIGINT: sqlglot.exp.DataType.Type.BIGINT,
    ColumnType.BOOLEAN: sqlglot.exp.DataType.Type.BOOLEAN,
    ColumnType.TIMESTAMP: sqlglot.exp.DataType.Type.TIMESTAMP,
}


def create_tables(path: Path, dialect: str) -> dict[str, sqlglot.exp.Schema]:
    """Table -> its CREATE TABLE statement's schema (columns and constraints), read from a DDL file."""
    tables = {}
    for statement in sql_statements(path.read_text()):
        tree = sqlglot.parse_one(statement, read=dialect)
        if isinstance(tree, sqlglot.exp.Create) and tree.kind == "TABLE":
            tables[tree.this.this.name] = tree.this
    return tables


def declared(schema: sqlglot.exp.Schema) -> tuple[list[Column], tuple[str, ...]]:
    """A DDL table as contract columns (name, type, nullability), and its primary key."""
    columns, key = [], ()
    for definition in schema.expressions:
        if isinstance(definition, sqlglot.exp.PrimaryKey):
            key = tuple(part.name for part in definition.expressions)
            continue
        constraints = [c.args["kind"] for c in definition.args.get("constraints") or []]
        if any(isinstance(c, sqlglot.exp.PrimaryKeyColumnConstraint) for c in constraints):
            key = (definition.name,)
        sql_type = definition.args["kind"].this
        columns.append(
            Column(
                definition.name,
                next(t for t, sql in SQL_TYPES.items() if sql == sql_type),
                nullable=not any(isinstance(c, sqlglot.exp.NotNullColumnConstraint) for c in constraints),
            )
        )
    return columns, key


@pytest.mark.parametrize(("name", "dialect"), DDL_FILES)
def test_the_ddl_declares_the_contract_tables(name: str, dialect: str):
    """Both DDL files hold the contract (spacex_launches.contract): its tables, their columns in order
    with type and nullability, and their keys; lake_loads is the loads' own bookkeeping."""
    tables = create_tables(sql_dir() / name, dialect)
    assert set(tables) == {*contract.TABLES, "lake_loads"}
    for table, columns in contract.TABLES.items():
        assert declared(tables[table]) == (list(columns), contract.TABLE_KEYS[table]), table


def test_the_byte_limits_of_the_quality_rules_are_the_ddl_column_sizes():
    """text_fits_warehouse checks what the warehouse stores: the VARCHAR sizes of both DDL files."""
    limits = {
        **{("launches", column): size for column, size in contract.LAUNCH_TEXT_BYTES.values()},
        **{("launch_cores", column): size for column, size in contract.CORE_TEXT_BYTES.values()},
        **{("cores", column): size for column, size in contract.CORES_TABLE_TEXT_BYTES.values()},
    }
    for path, dialect in (
        (sql_dir() / "create_tables.sql", "postgres"),
        (sql_dir() / "redshift" / "create_tables.sql", "redshift"),
    ):
        sizes = {}
        for statement in sql_statements(path.read_text()):
            tree = sqlglot.parse_one(statement, read=dialect)
            if isinstance(tree, sqlglot.exp.Create) and tree.kind == "TABLE":
                for column in tree.this.expressions:
                    if (
                        isinstance(column, sqlglot.exp.ColumnDef)
                        and column.args["kind"].this == sqlglot.exp.DataType.Type.VARCHAR
                    ):
                        sizes[(tree.this.this.name, column.name)] = int(
                            column.args["kind"].expressions[0].name
                        )
        assert {key: sizes[key] for key in limits} == limits, path.name
    # and every text column of the two tables is covered, bar the ones that have rules of their own
    covered = {key[1] for key in limits} | {"launch_id", "date_precision", "source_api_version"}
    assert {column for (table, column) in sizes if table in ("launches", "launch_cores")} <= covered
