"""The project's SQL: parses as Redshift, PostgreSQL and DuckDB; the statement splitter; comments."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from spacex_launches.config import sql_dir
from spacex_launches.warehouse import sql_statements

PORTABLE = sorted(p for p in sql_dir().rglob("*.sql") if "redshift" not in p.relative_to(sql_dir()).parts)
ANALYTICS = ["max_core_reuse.sql", "cores_reused_within_50_days.sql"]


@pytest.mark.parametrize("path", PORTABLE, ids=lambda p: str(p.relative_to(sql_dir())))
@pytest.mark.parametrize("dialect", ["redshift", "postgres", "duckdb"])
def test_portable_sql_parses_in_every_dialect(path: Path, dialect: str):
    statements = sql_statements(path.read_text())
    assert statements, f"{path} holds no statement"
    for statement in statements:
        sqlglot.parse_one(statement, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)


@pytest.mark.parametrize("name", ANALYTICS)
def test_analytics_document_their_definitions(name: str):
    text = (sql_dir() / name).read_text()
    for term in ("upcoming = FALSE", "core_id IS NOT NULL", "Definitions"):
        assert term in text
    assert len(sql_statements(text)) == 1


def test_sql_statements_drops_comments_and_splits():
    text = "-- a comment; with a semicolon\nSELECT 1;\n\nSELECT 2 -- trailing\n;"
    assert sql_statements(text) == ["SELECT 1", "SELECT 2"]
