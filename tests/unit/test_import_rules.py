"""The modules that run where Spark does not (Airflow's workers, ingest, the analysts' answers and report,
the settings) import without pyspark: each is imported in a fresh interpreter in which any import of
pyspark fails. lint-imports (make lint, pyproject [tool.importlinter]) checks the same rule on the import
graph; this checks what an import really loads."""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO / "lib" / "spacex_launches"

# Whole packages, then single modules (the warehouse's loaders may use Spark; its package and checks not).
NO_PYSPARK_PACKAGES = ("exceptions", "contract", "common", "ingest", "analytics", "orchestration")
# Outside those packages: the warehouse package itself and its checks (its loaders may use Spark), and
# the job modules the Airflow tasks import (the spark-submit builder, the run report they read).
NO_PYSPARK_MODULES = (
    "spacex_launches",
    "spacex_launches.warehouse",
    "spacex_launches.warehouse.checks",
    "spacex_launches.job.submit",
    "spacex_launches.job.run_report",
    "spacex_launches.job.outcomes",
)

# One interpreter imports every listed module, each on its own: `import pyspark` (or pyspark.anything)
# raises ImportError there, as the name maps to None. It prints what failed, by module, as JSON.
IMPORT_EACH_WITHOUT_PYSPARK = """
import importlib, json, sys, traceback
sys.modules["pyspark"] = None
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:
        failed[name] = traceback.format_exc(limit=-6)
print(json.dumps(failed))
"""


def package_modules(directory: Path, prefix: str) -> list[str]:
    """Every module under `directory`, by dotted name, found on disk (nothing is imported)."""
    names = []
    for info in pkgutil.iter_modules([str(directory)]):
        name = f"{prefix}.{info.name}"
        names.append(name)
        if info.ispkg:
            names.extend(package_modules(directory / info.name, name))
    return names


def all_modules() -> list[str]:
    return ["spacex_launches", *package_modules(PACKAGE_DIR, "spacex_launches")]


def no_pyspark_modules() -> list[str]:
    names = all_modules()
    wanted = tuple(f"spacex_launches.{package}" for package in NO_PYSPARK_PACKAGES)
    chosen = [name for name in names if name in wanted or name.startswith(tuple(f"{w}." for w in wanted))]
    return sorted({*chosen, *NO_PYSPARK_MODULES})


@pytest.fixture(scope="module")
def import_failures(tmp_path_factory) -> dict[str, str]:
    airflow_home = tmp_path_factory.mktemp("airflow_home")  # Airflow writes its defaults there on import
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH_WITHOUT_PYSPARK, *no_pyspark_modules()],
        cwd=REPO,
        env={**os.environ, "AIRFLOW_HOME": str(airflow_home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_the_list_covers_the_packages():
    names = no_pyspark_modules()
    for expected in (
        "spacex_launches.exceptions",
        "spacex_launches.common.settings",
        "spacex_launches.ingest.fetch",
        "spacex_launches.orchestration.emr_request",
        "spacex_launches.analytics.report",
        "spacex_launches.warehouse.checks",
    ):
        assert expected in names
    spark_side = [name for name in names if name.startswith(("spacex_launches.job", "spacex_launches.lake"))]
    assert sorted(spark_side) == [
        "spacex_launches.job.outcomes",
        "spacex_launches.job.run_report",
        "spacex_launches.job.submit",
    ]
    assert "spacex_launches.warehouse.duckdb" not in names


@pytest.mark.parametrize("module", no_pyspark_modules())
def test_imports_without_pyspark(module, import_failures):
    assert module not in import_failures, f"{module} needs pyspark:\n{import_failures[module]}"


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """Our modules a file imports: `from a.b import c` counts a.b, and a.b.c when c is a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found & modules


def test_dag_files_import_only_modules_checked_here():
    """A DAG file runs in Airflow's parser and workers: what it imports of ours is on the list above (an
    import of Airflow costs seconds, so the files are read rather than run)."""
    checked = set(no_pyspark_modules())
    for path in sorted((REPO / "dags").glob("*.py")):
        ours = imported_modules(path, set(all_modules()))
        assert "spacex_launches.orchestration.airflow_tasks" in ours, path
        assert ours <= checked, f"{path.name} imports {sorted(ours - checked)}, which may need pyspark"
