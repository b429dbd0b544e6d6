"""The ops Grafana dashboard parses, and every Airflow metric its queries use is one Airflow emits
(its metrics registry through the statsd mappings in k8s/airflow/values.yaml). The run metrics and the
Spark driver's, which need a real run: tests/integration/test_dashboard_metrics.py."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from spacex_launches.common.settings import PROJECT_DIR, load_settings

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
    envs = [load_settings(env, environ={}).emr.namespace for env in ("dev", "prod")]
    assert variables["emr_namespace"]["query"].split(",") == envs
    assert variables["env"]["query"].split(",") == [
        load_settings(env, environ={}).env for env in ("dev", "prod")
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


def test_dashboard_airflow_metrics_are_emitted():
    used = used_metrics("airflow_")
    assert used, "the dashboard shows no Airflow metric"
    missing = used - airflow_prometheus_names()
    assert not missing, f"not emitted by Airflow through the statsd exporter mappings: {sorted(missing)}"
