"""The run report's types read back from its JSON unchanged, also for a run that stopped early."""

from __future__ import annotations

import json

from spacex_launches.job.outcomes import WarehouseOutcome
from spacex_launches.job.run_report import RunReport, summary, to_json
from spacex_launches.orchestration.run_metrics import report_metrics


def test_a_failed_run_reads_back_as_its_types():
    report = RunReport.start("r1", "dev", ["s3a://bucket/raw"], "s3a://bucket/lake")
    report.status, report.exit_code, report.phase = "failed", 3, "warehouse_load"
    report.warehouse = WarehouseOutcome("duckdb", "duckdb:/tmp/w.duckdb")  # the load never ended
    report.durations_s["total"] = 1.5
    document = json.loads(to_json(report))
    assert document["counts"] == {} and document["lake"] == {} and document["cores"] is None
    assert document["warehouse"] == {"target": "duckdb", "location": "duckdb:/tmp/w.duckdb"}
    again = RunReport.from_dict(document)
    assert json.loads(to_json(again)) == document
    assert summary(again) == summary(report)
    assert report_metrics(again) == {
        "spacex_launches.dev.run.failed": 1.0,
        "spacex_launches.dev.run.duration_seconds": 1.5,
    }
