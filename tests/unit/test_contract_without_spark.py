"""The warehouse contract and what reads it without Spark (the warehouse checks, the analytics, the
Airflow tasks) import where pyspark cannot: an Airflow worker or an analyst's laptop has none."""

from __future__ import annotations

import subprocess
import sys

WITHOUT_SPARK = [
    "spacex_launches.contract",
    "spacex_launches.warehouse",
    "spacex_launches.warehouse.checks",
    "spacex_launches.analytics.answers",
    "spacex_launches.analytics.report",
    "spacex_launches.analytics.dashboard",
    "spacex_launches.orchestration.run_metrics",
    "spacex_launches.orchestration.airflow_tasks",
]


def test_the_contract_and_its_readers_import_without_pyspark():
    code = "import sys; sys.modules['pyspark'] = None\n" + "\n".join(f"import {m}" for m in WITHOUT_SPARK)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
