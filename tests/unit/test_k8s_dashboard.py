"""The Grafana dashboard parses and every metric its queries use is one the pipeline really emits:
Airflow's (its metrics registry through the statsd mappings in k8s/airflow/values.yaml), the run
metrics the DAG's run_metrics task sends (from the report of a real run, through the same mappings) and
the Spark driver's (read from a live driver started with the job request's metrics settings)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date

import pytest
import yaml

from spacex_launches import emr
from spacex_launches.config import PROJECT_DIR, load_config
from spacex_launches.run_metrics import report_metrics

K8S = PROJECT_DIR / "k8s"
DASHBOARD = K8S / "monitoring" / "dashboards" / "spacex-pipeline.json"
METRIC = re.compile(r"\b((?:airflow|metrics|spacex_launches)_[A-Za-z0-9_]+)\b")


def queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def used_metrics(prefix: str) -> set[str]:
    return {name for expr in queries() for name in METRIC.findall(expr) if name.startswith(prefix)}


def test_dashboard_shape():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for expr in queries():
        assert METRIC.search(expr), f"query uses no pipeline metric: {expr}"
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("duration", "fail", "records"):
        assert topic in titles
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["dag_id"]["current"]["value"] == "spacex_launches"
    envs = [load_config(env, environ={})["emr"]["namespace"] for env in ("dev", "prod")]
    assert variables["emr_namespace"]["query"].split(",") == envs
    assert variables["env"]["query"].split(",") == [
        load_config(env, environ={})["env"] for env in ("dev", "prod")
    ]


# --- Airflow: registry metric -> statsd name -> statsd exporter mapping -> Prometheus name ----------


def glob_regex(pattern: str) -> re.Pattern:
    """statsd_exporter glob: `*` is one dot-separated component."""
    return re.compile(
        "^" + r"\.".join("([^.]+)" if part == "*" else re.escape(part) for part in pattern.split(".")) + "$"
    )


def statsd_mappings() -> list[tuple[re.Pattern, dict]]:
    values = yaml.safe_load((K8S / "airflow" / "values.yaml").read_text())
    return [(glob_regex(m["match"]), m) for m in values["statsd"]["overrideMappings"]]


def run_metric_stats(report_path) -> list[str]:
    """The statsd names run_metrics_task sends for a real run's report (Airflow's statsd_prefix first)."""
    return [f"airflow.{name}" for name in report_metrics(json.loads(report_path.read_text()))]


def airflow_prometheus_names() -> set[str]:
    registry = pytest.importorskip("airflow._shared.observability.metrics.metrics_registry")
    metrics = registry.read_metrics_yaml(str(registry.YAML_REGISTRY_PATH))
    values = yaml.safe_load((K8S / "airflow" / "values.yaml").read_text())
    mappings = [(glob_regex(m["match"]), m["name"]) for m in values["statsd"]["overrideMappings"]]
    suffixes = {"timer": ("", "_sum", "_count"), "counter": ("",), "gauge": ("",)}
    names = set()
    for metric in metrics:
        emitted = [metric["name"]]
        if metric.get("legacy_name", "-") != "-":
            emitted.append(re.sub(r"\{[^}]+\}", "x", metric["legacy_name"]))
        for stat in emitted:
            stat = f"airflow.{stat}"  # [metrics] statsd_prefix default
            mapped = next((name for regex, name in mappings if regex.match(stat)), None)
            base = mapped or re.sub(r"[^A-Za-z0-9_]", "_", stat)
            names.update(base + suffix for suffix in suffixes[metric["type"]])
    return names


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


def test_dashboard_airflow_metrics_are_emitted():
    used = used_metrics("airflow_")
    assert used, "the dashboard shows no Airflow metric"
    missing = used - airflow_prometheus_names()
    assert not missing, f"not emitted by Airflow through the statsd exporter mappings: {sorted(missing)}"


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
    request = emr.build_job_run_request(load_config("dev", environ={}), date(2026, 11, 23), version="test")
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
