"""The analytics Grafana dashboard, generated from the analysts' report: the same panels, titles,
definitions and SQL files (embedded verbatim), on the warehouse through Grafana's PostgreSQL data
source (Redshift speaks the PostgreSQL protocol; k8s/monitoring/kube-prometheus-stack-values.yaml
provisions the data source).

    python -m spacex_launches.analytics.dashboard [--check]     # `make dashboard`

writes k8s/monitoring/dashboards/spacex-analytics.json; --check only compares and exits 1 when the
committed file is stale. Edit the SQL or spacex_launches.analytics.report, never the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from spacex_launches.analytics.report import PANELS, QUERIES, Panel
from spacex_launches.common.settings import PROJECT_DIR
from spacex_launches.warehouse import read_sql

DASHBOARD_PATH = PROJECT_DIR / "k8s" / "monitoring" / "dashboards" / "spacex-analytics.json"
DATASOURCE_TYPE = "grafana-postgresql-datasource"
DATASOURCE_UID = "spacex-warehouse"  # provisioned in kube-prometheus-stack-values.yaml
DATASOURCE = {"type": DATASOURCE_TYPE, "uid": "${warehouse}"}


def only(*fields: str) -> dict[str, Any]:
    """A transformation that keeps the named fields (a query returns more, for the report's tooltips)."""
    return {"id": "filterFieldsByName", "options": {"include": {"names": list(fields)}}}


def legend(show: bool) -> dict[str, Any]:
    return {"showLegend": show, "displayMode": "list", "placement": "bottom"}


def display_names(names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "matcher": {"id": "byName", "options": field},
            "properties": [{"id": "displayName", "value": name}],
        }
        for field, name in names.items()
    ]


# How each report panel is drawn in Grafana: panel type, transformations, options, field config.
VISUALS: dict[str, dict[str, Any]] = {
    "most_reused_cores": {
        "type": "barchart",
        "transformations": [only("core_label", "flights")],
        "options": {
            "orientation": "horizontal",
            "xField": "core_label",
            "showValue": "auto",
            "legend": legend(False),
        },
        "fieldConfig": {"defaults": {"decimals": 0}, "overrides": []},
        "height": 16,
    },
    "turnaround_distribution": {
        "type": "histogram",
        "transformations": [only("gap_days")],
        "options": {"bucketSize": 25, "bucketOffset": 0, "combine": False, "legend": legend(False)},
        "fieldConfig": {"defaults": {}, "overrides": display_names({"gap_days": "days"})},
    },
    "turnaround_trend": {
        "type": "timeseries",
        "transformations": [only("date_utc", "gap_days")],
        "options": {"legend": legend(False), "tooltip": {"mode": "single", "sort": "none"}},
        "fieldConfig": {
            "defaults": {
                "custom": {
                    "drawStyle": "points",
                    "pointSize": 5,
                    "scaleDistribution": {"type": "log", "log": 10},
                    "axisLabel": "days since the core's previous flight",
                }
            },
            "overrides": [],
        },
    },
    "flights_per_year": {
        "type": "barchart",
        "transformations": [
            only("launch_year", "new_booster_flights", "reused_booster_flights"),
            {
                "id": "convertFieldType",
                "options": {"conversions": [{"targetField": "launch_year", "destinationType": "string"}]},
            },
        ],
        "options": {
            "orientation": "vertical",
            "xField": "launch_year",
            "stacking": "normal",
            "showValue": "never",
            "legend": legend(True),
        },
        "fieldConfig": {
            "defaults": {"decimals": 0},
            "overrides": display_names(
                {"new_booster_flights": "new booster", "reused_booster_flights": "reused booster"}
            ),
        },
    },
    "quick_reflights": {
        "type": "table",
        "transformations": [],
        "options": {"showHeader": True},
        "fieldConfig": {"defaults": {}, "overrides": []},
    },
}


def panel_json(panel: Panel, panel_id: int, y: int) -> dict[str, Any]:
    visual = VISUALS[panel.key]
    sql_file = QUERIES[panel.query]
    return {
        "type": visual["type"],
        "title": panel.title,
        "id": panel_id,
        "description": f"{panel.definition} SQL: sql/{sql_file}.",
        "datasource": DATASOURCE,
        "gridPos": {"h": visual.get("height", 10), "w": 24, "x": 0, "y": y},
        "targets": [
            {
                "refId": "A",
                "datasource": DATASOURCE,
                "format": "table",
                "editorMode": "code",
                "rawQuery": True,
                "rawSql": read_sql(sql_file),
            }
        ],
        "transformations": visual["transformations"],
        "options": visual["options"],
        "fieldConfig": visual["fieldConfig"],
    }


def build_dashboard() -> dict[str, Any]:
    panels, y = [], 0
    for panel_id, panel in enumerate(PANELS, start=1):
        panels.append(panel_json(panel, panel_id, y))
        y += panels[-1]["gridPos"]["h"]
    return {
        "uid": "spacex-analytics",
        "title": "SpaceX booster reuse (analytics)",
        "description": (
            "Generated by `make dashboard` from the analysts' report (sql/report/*.sql and "
            "sql/cores_reused_within_50_days.sql, embedded verbatim); `make report` draws the same "
            "panels as one HTML file. Do not edit here."
        ),
        "tags": ["spacex-launches", "analytics"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "",
        # The queries read the whole history (they use no time macro); the range frames the time axis.
        "time": {"from": "2006-01-01T00:00:00.000Z", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "warehouse",
                    "label": "Warehouse",
                    "type": "datasource",
                    "query": DATASOURCE_TYPE,
                    "current": {"text": "SpaceX warehouse", "value": DATASOURCE_UID},
                }
            ]
        },
        "panels": panels,
    }


def dashboard_text() -> str:
    return json.dumps(build_dashboard(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only check that the committed file is current")
    args = parser.parse_args(argv)
    text = dashboard_text()
    relative = DASHBOARD_PATH.relative_to(PROJECT_DIR)
    if args.check:
        if not DASHBOARD_PATH.exists() or DASHBOARD_PATH.read_text() != text:
            print(f"{relative} is stale: run `make dashboard`", file=sys.stderr)
            return 1
        print(f"{relative} is up to date")
        return 0
    DASHBOARD_PATH.write_text(text)
    print(f"wrote {relative} ({len(PANELS)} panels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
