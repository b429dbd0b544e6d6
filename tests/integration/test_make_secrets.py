"""`make` with hostile values: a password in WAREHOUSE or API_URL is never echoed (make's own echo of a
recipe line would print it). Paths with spaces: tests/integration/test_make_run.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from spacex_launches.lake.catalog import ICEBERG_PACKAGES
from spacex_launches.warehouse.jdbc import POSTGRES_JDBC_PACKAGE
from support.paths import REPO, SAMPLE_DIR

pytestmark = pytest.mark.integration

PLANTED = "Pl4nted-S3cret"


def make(*args: str) -> subprocess.CompletedProcess:
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def files_under(root: Path) -> list[str]:
    return [path.read_bytes().decode("utf-8", "replace") for path in root.rglob("*") if path.is_file()]


@pytest.mark.parametrize(
    ("target", "warehouse", "shown", "error"),
    [
        (
            "run",
            f"postgresql://u:{PLANTED}@127.0.0.1:1/db",
            "SPACEX_WAREHOUSE=postgresql://u:***@127.0.0.1:1/db",
            "postgresql URL must not contain a password or another secret (postgresql://u:***@127.0.0.1:1/db)",
        ),
        (
            "run",
            f"jdbc:postgresql://h:5432/db?user=u&password={PLANTED}",
            "SPACEX_WAREHOUSE=jdbc:postgresql://h:5432/db?user=u&password=***",
            "unknown warehouse 'jdbc:postgresql://h:5432/db?user=u&password=***'",
        ),
        (
            "answers",
            f"host=h user=u password={PLANTED}",
            None,
            "unknown warehouse 'host=h user=u password=***'",
        ),
    ],
    ids=["run-postgres-url", "run-jdbc-query", "answers-dsn"],
)
def test_a_warehouse_password_is_never_echoed(tmp_path, target, warehouse, shown, error):
    """The job refuses these before starting Spark (exit 2); what matters is every line printed on the way.
    WAREHOUSE_PACKAGES= keeps spark-submit from resolving the PostgreSQL driver for a run that fails."""
    result = make(
        target, f"WAREHOUSE={warehouse}", f"LAKE={tmp_path / 'lake'}", "WAREHOUSE_PACKAGES=", "CDS="
    )

    assert result.returncode == 2, result.stderr[-2000:]
    if shown:
        assert "jobs/launches_etl.py --env local --input sample/launches" in result.stdout
        assert shown in result.stdout
    printed = result.stdout + result.stderr  # spark-submit passes the driver's stderr on as stdout
    assert error in printed
    assert PLANTED not in printed
    assert not (tmp_path / "lake").exists()


def test_a_quote_in_the_warehouse_password_cannot_break_the_command():
    """WAREHOUSE reaches the command's builder (spacex_launches.job.submit, which picks the JDBC driver)
    through the environment, never through a shell: a quote in it cannot break the command (a Python
    one-liner in the Makefile once printed the password in a syntax error)."""
    warehouse = f"postgresql://u:{PLANTED}\"'@h/db"

    result = make("job", f"WAREHOUSE={warehouse}", "SUBMIT_ARGS=--dry-run")

    assert result.returncode == 0, result.stderr
    assert f"--packages {ICEBERG_PACKAGES},{POSTGRES_JDBC_PACKAGE} jobs/launches_etl.py" in result.stdout
    assert "SPACEX_WAREHOUSE=postgresql://u:***@h/db" in result.stdout
    assert PLANTED not in result.stdout + result.stderr


def test_make_ingest_echoes_and_stores_the_api_url_masked(httpserver, tmp_path):
    payload = (SAMPLE_DIR / "20240101T060000Z-api-v5.json").read_bytes()
    httpserver.expect_request("/v5/launches").respond_with_data(payload, content_type="application/json")
    url = httpserver.url_for("/v5/launches").replace("http://", f"http://user:{PLANTED}@")
    lake = tmp_path / "my lake"

    result = make("ingest", f"API_URL={url}?api_key={PLANTED}x", f"LAKE={lake}")

    assert result.returncode == 0, result.stderr
    masked = httpserver.url_for("/v5/launches").replace("http://", "http://user:***@") + "?api_key=***"
    # the URL reaches the program through the environment (SPACEX_API_URL), never its arguments
    assert f"jobs/ingest_launches.py --env local --lake '{lake}' --dataset launches\n" in result.stdout
    assert f"ingest {masked}: LANDED" in result.stdout
    assert len(files_under(lake)) == 2  # the response and its manifest, in the lake whose name has a space
    assert not [text for text in [result.stdout, result.stderr, *files_under(lake)] if PLANTED in text]
