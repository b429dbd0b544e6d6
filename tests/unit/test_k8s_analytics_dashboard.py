"""The analytics Grafana dashboard, offline: the committed JSON is what the generator makes from the
report (so its SQL is the report's SQL, byte for byte), its shape is sound, and the data source it
names is the one the monitoring values provision, without a secret in them. (That each panel's fields
are columns its SQL returns on a real PostgreSQL: tests/integration/test_analyst_report.py.)"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

import yaml

from spacex_launches.analytics import dashboard as analytics_dashboard
from spacex_launches.analytics.report import PANELS, QUERIES
from spacex_launches.common.settings import PROJECT_DIR
from spacex_launches.warehouse import read_sql

K8S = PROJECT_DIR / "k8s"
VALUES = K8S / "monitoring" / "kube-prometheus-stack-values.yaml"
# Panel types of a stock Grafana (no plugin to install).
BUILT_IN_PANELS = {"barchart", "histogram", "timeseries", "table", "text", "stat"}


def committed() -> dict:
    return json.loads(analytics_dashboard.DASHBOARD_PATH.read_text())


def test_committed_dashboard_is_generated_from_the_report():
    assert analytics_dashboard.DASHBOARD_PATH.read_text() == analytics_dashboard.dashboard_text(), (
        "stale: run `make dashboard`"
    )
    assert analytics_dashboard.main(["--check"]) == 0


def test_panels_carry_the_reports_titles_definitions_and_sql():
    dashboard = committed()
    panels = dashboard["panels"]
    assert [p["title"] for p in panels] == [panel.title for panel in PANELS]
    assert len({p["id"] for p in panels}) == len(panels)
    for grafana, panel in zip(panels, PANELS, strict=True):
        assert grafana["type"] in BUILT_IN_PANELS
        (target,) = grafana["targets"]
        assert target["rawSql"] == read_sql(QUERIES[panel.query])
        assert target["format"] == "table" and target["rawQuery"] is True
        assert "$" not in target["rawSql"], "no Grafana macro: the SQL must stay the report's, unchanged"
        assert panel.definition in grafana["description"]
        assert grafana["datasource"] == target["datasource"] == analytics_dashboard.DATASOURCE
    places = [(p["gridPos"]["y"], p["gridPos"]["h"]) for p in panels]
    assert all(y == above + height for (above, height), (y, _) in itertools.pairwise(places)), "overlap"


def test_the_data_source_is_provisioned_with_the_dashboards_uid_and_no_secret():
    grafana = yaml.safe_load(VALUES.read_text())["grafana"]
    (source,) = [
        s for s in grafana["additionalDataSources"] if s["uid"] == analytics_dashboard.DATASOURCE_UID
    ]
    assert source["type"] == analytics_dashboard.DATASOURCE_TYPE
    (variable,) = committed()["templating"]["list"]
    assert variable["type"] == "datasource" and variable["query"] == analytics_dashboard.DATASOURCE_TYPE
    assert variable["current"]["value"] == analytics_dashboard.DATASOURCE_UID
    assert analytics_dashboard.DATASOURCE["uid"] == "${" + variable["name"] + "}"

    # Connection details are environment variables from the Secret named by envFromSecret.
    expanded = re.findall(r"\$(\w+)", json.dumps(source))
    assert set(expanded) == {
        "WAREHOUSE_HOST",
        "WAREHOUSE_PORT",
        "WAREHOUSE_DATABASE",
        "WAREHOUSE_USER",
        "WAREHOUSE_PASSWORD",
    }
    assert source["secureJsonData"] == {"password": "$WAREHOUSE_PASSWORD"}
    assert source["jsonData"]["sslmode"] == "require"
    assert grafana["envFromSecret"] == "grafana-warehouse"

    # The setup step that makes that Secret from the Secrets Manager secret gives exactly those keys.
    readme = (K8S / "README.md").read_text()
    step = re.search(
        r"python -c '([^']+)'\s*\\\n\s*\| kubectl -n monitoring create secret generic (\S+)", readme
    )
    assert step and step.group(2) == grafana["envFromSecret"]
    secret = {"host": "h", "port": 5439, "dbname": "spacex", "username": "grafana_reader", "password": "p"}
    made = subprocess.run(
        [sys.executable, "-c", step.group(1)],
        input=json.dumps(secret),
        capture_output=True,
        text=True,
        check=True,
    )
    assert {line.split("=", 1)[0] for line in made.stdout.splitlines()} == set(expanded)


def test_the_dashboard_is_loaded_like_the_ops_dashboard():
    """The sidecar loads labelled ConfigMaps; the setup steps create one per dashboard file."""
    readme = (K8S / "README.md").read_text()
    dashboards = sorted(p.stem for p in analytics_dashboard.DASHBOARD_PATH.parent.glob("*.json"))
    assert dashboards == ["spacex-analytics", "spacex-pipeline"]
    assert f"for dashboard in {' '.join(reversed(dashboards))}; do" in readme
    assert "grafana_dashboard=1" in readme
    uids = {
        json.loads(p.read_text())["uid"] for p in analytics_dashboard.DASHBOARD_PATH.parent.glob("*.json")
    }
    assert len(uids) == len(dashboards)
