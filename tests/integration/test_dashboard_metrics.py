"""The ops dashboard's metrics that only a real run shows: the run metrics the DAG's run_metrics task
sends (from the report of a real run, through the statsd mappings) and the Spark driver's (read from a
live driver started with the job request's metrics settings). The dashboard's shape and Airflow's own
metrics: tests/unit/test_k8s_dashboard.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date

import pytest
import yaml

from spacex_launches.common.settings import load_settings
from spacex_launches.job.run_report import RunReport
from spacex_launches.orchestration import emr_request
from spacex_launches.orchestration.run_metrics import report_metrics
from unit.test_k8s_dashboard import K8S, glob_regex, queries, statsd_mappings, used_metrics


def run_metric_stats(report_path) -> list[str]:
    """The statsd names run_metrics_task sends for a real run's report (Airflow's statsd_prefix first)."""
    return [
        f"airflow.{name}" for name in report_metrics(RunReport.from_dict(json.loads(report_path.read_text())))
    ]


@pytest.mark.integration
def test_every_statsd_mapping_matches_a_metric_airflow_emits(sample_run_report):
    registry = pytest.importorskip("airflow._shared.observability.metrics.metrics_registry")
    metrics = registry.read_metrics_yaml(str(registry.YAML_REGISTRY_PATH))
    samples = [f"airflow.{re.sub(r'{[^}]+}', 'x', m.get('legacy_name', '-'))}" for m in metrics]
    samples += [f"airflow.{m['name']}" for m in metrics]
    samples += run_metric_stats(sample_run_report)
    values = yaml.safe_load((K8S / "airflow" / "values.yaml").read_text())
    for mapping in values["statsd"]["overrideMappings"]:
        assert any(glob_regex(mapping["match"]).match(s) for s in samples), f"dead mapping {mapping['match']}"


# --- Spark: a live driver with the job request's metrics settings ---------------------------------

PROBE = """
import json, sys, urllib.request
from pyspark.sql import SparkSession
settings, paths = json.loads(sys.argv[1]), json.loads(sys.argv[2])
builder = SparkSession.builder.master("local[1]").appName("metrics-probe").config("spark.ui.port", "0")
for key, value in settings.items():
    builder = builder.config(key, value)
spark = builder.getOrCreate()
try:
    spark.range(1000).selectExpr("id % 7 AS k").groupBy("k").count().collect()
    for path in paths:
        sys.stdout.write(urllib.request.urlopen(spark.sparkContext.uiWebUrl + path, timeout=30).read().decode())
finally:
    spark.stop()
"""


@pytest.mark.integration
def test_dashboard_spark_metrics_are_emitted_by_a_live_driver():
    request = emr_request.build_job_run_request(
        load_settings("dev", environ={}), date(2026, 11, 23), version="test"
    )
    defaults = request["configurationOverrides"]["applicationConfiguration"][0]["properties"]
    settings = {
        k: v
        for k, v in defaults.items()
        if k.startswith("spark.metrics.")
        or k in ("spark.ui.prometheus.enabled", "spark.executor.processTreeMetrics.enabled")
    }
    (monitor,) = yaml.safe_load_all((K8S / "monitoring" / "dev" / "spark-driver-podmonitor.yaml").read_text())
    paths = [e["path"] for e in monitor["spec"]["podMetricsEndpoints"]]
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(settings), json.dumps(paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    exposed = {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in probe.stdout.splitlines()
        if line and not line.startswith("#")
    }
    assert any(name.startswith("metrics_spacex_launches_driver_") for name in exposed), sorted(exposed)[:20]
    used = used_metrics("metrics_")
    assert used, "the dashboard shows no Spark metric"
    missing = used - exposed
    assert not missing, f"not exposed by the Spark driver: {sorted(missing)}"


# --- Run metrics: report of a real run -> report_metrics -> statsd exporter mapping -> Prometheus --------


def run_metric_series(report_path) -> set[tuple[str, frozenset]]:
    """(Prometheus name, labels) of every run metric, as the statsd exporter maps it (first match wins)."""
    series = set()
    for stat in run_metric_stats(report_path):
        regex, mapping = next(((r, m) for r, m in statsd_mappings() if r.match(stat)), (None, None))
        assert mapping, f"no statsd exporter mapping for {stat}: it would not get its labels"
        found = regex.match(stat)
        labels = {k: found.expand(re.sub(r"\$(\d)", r"\\\1", v)) for k, v in mapping["labels"].items()}
        series.add((mapping["name"], frozenset(labels.items())))
    return series


SELECTOR = re.compile(r"\b(spacex_launches_[A-Za-z0-9_]+)\{([^}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(=~|=)\s*"([^"]*)"')


@pytest.mark.integration
def test_dashboard_run_metrics_are_emitted(sample_run_report):
    series = run_metric_series(sample_run_report)
    names = {name for name, _ in series}
    used = used_metrics("spacex_launches_")
    assert {"spacex_launches_records", "spacex_launches_rule_failures"} <= used
    assert not used - names, f"not sent by run_metrics_task through the mappings: {sorted(used - names)}"
    selectors = [m for expr in queries() for m in SELECTOR.findall(expr)]
    assert len(selectors) >= len(used)
    for name, matchers in selectors:
        labels_seen = [dict(labels) for n, labels in series if n == name]
        for label, op, value in MATCHER.findall(matchers):
            assert all(label in labels for labels in labels_seen), f"{name} has no label {label!r}"
            if value.startswith("$"):
                continue  # a dashboard variable (env)
            wanted = value.split("|") if op == "=~" else [value]
            for one in wanted:
                assert any(labels[label] == one for labels in labels_seen), (
                    f'{name}{{{label}="{one}"}} not sent'
                )
