"""The run report's JSON is a contract (Airflow's run_metrics, the dashboards and people read it): its
structure is pinned here on the sample's real run, and it reads back as its types (job/outcomes.py)
unchanged, with the summary the job printed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from spacex_launches.job.run_report import RunReport, summary
from support.lake import read_report

pytestmark = pytest.mark.integration

# Maps keyed by data (rule names, launch ids, datasets): one shape for every entry.
KEYED_BY_DATA = (
    ".rule_failures",
    ".rule_warnings",
    ".cores.rule_failures",
    ".not_listed.last_seen_at",
    ".lake.quarantine.by_dataset",
)
SNAPSHOT = {"table_uuid": "str", "snapshot_id": "int", "sequence_number": "int"}
MERGE = {
    **SNAPSHOT,
    "committed": "bool",
    "launches": {"insert": "int", "update": "int", "unchanged": "int", "kept_newer": "int"},
    "rows_added": "int",
    "rows_removed": "int",
    "attempts": "int",
}
FILE = {
    "path": "str",
    "format": "str",
    "bytes": "int",
    "compressed": "bool",
    "snapshot_time": "str",
    "snapshot_time_from": "str",
}
CONSERVATION = {"rule": "str", "holds": "bool"}
TABLES = ("launches", "launch_cores", "cores", "launch_sightings")
LOAD = {"before": "int", "after": "int", "snapshot_id": "int", "loaded": "bool"}
# The sample's run (launches and /cores, a quarantined record, a DuckDB warehouse), as `make run` does it.
SAMPLE_REPORT = {
    "run_id": "str",
    "env": "str",
    "status": "str",
    "exit_code": "int",
    "phase": "str",
    "started_at": "str",
    "finished_at": "str",
    "inputs": {"paths": ["str"], "files": [FILE], "skipped": [], "cores_files": [FILE]},
    "counts": {
        "input_records": "int",
        "launches": "int",
        "duplicates_collapsed": "int",
        "quarantined": "int",
        "launch_cores": "int",
        "unknown_core_slots": "int",
        "same_time_conflicts": "int",
    },
    "conservation": CONSERVATION,
    "rule_failures": {"*": "int"},
    "rule_warnings": {"*": "int"},
    "outputs": {"lake": "str"},
    "lake": {
        "quarantine": {"rows": "int", "by_dataset": {"*": "int"}, **SNAPSHOT, "committed": "bool"},
        "launches": MERGE,
        "launch_cores": MERGE,
        "launch_sightings": MERGE,
        "cores": MERGE,
    },
    "lake_snapshots": dict.fromkeys(TABLES, SNAPSHOT),
    "cores": {
        "counts": {
            "input_records": "int",
            "cores": "int",
            "duplicates_collapsed": "int",
            "quarantined": "int",
        },
        "rule_failures": {"*": "int"},
        "conservation": CONSERVATION,
    },
    "warehouse": {
        "target": "str",
        "location": "str",
        "up_to_date_before": "bool",
        "tables": dict.fromkeys(TABLES, LOAD),
    },
    "durations_s": dict.fromkeys(
        ("discover_inputs", "read_parse_validate", "commit", "warehouse_load", "total"), "float"
    ),
    "not_listed": {
        "complete_snapshot": "str",
        "launches": "int",
        "launch_ids": ["str"],
        "last_seen_at": {"*": "str"},
    },
    "warnings": [],
    "message": "null",
    "error": "null",
}


def shape(value: Any, path: str = "") -> Any:
    """`value` with each leaf replaced by its JSON type; a list by its elements' one shape, a map keyed
    by data by its entries' one shape (under "*")."""
    if isinstance(value, dict) and path in KEYED_BY_DATA:
        entries = {json.dumps(shape(entry, f"{path}.*")) for entry in value.values()}
        assert len(entries) == 1, f"{path}: entries of different shapes: {entries}"
        return {"*": json.loads(entries.pop())}
    if isinstance(value, dict):
        return {key: shape(entry, f"{path}.{key}") for key, entry in value.items()}
    if isinstance(value, list):
        entries = {json.dumps(shape(entry, f"{path}[]")) for entry in value}
        assert len(entries) <= 1, f"{path}: elements of different shapes: {entries}"
        return [json.loads(entry) for entry in entries]
    return "null" if value is None else type(value).__name__


def test_the_report_of_the_sample_run_keeps_its_structure(sample_run):
    report = read_report(sample_run / "lake")
    # key order too: json.dumps keeps it
    assert json.dumps(shape(report), indent=1) == json.dumps(SAMPLE_REPORT, indent=1)


def test_the_report_reads_back_as_its_types_and_prints_the_same_summary(sample_run):
    document = read_report(sample_run / "lake")
    report = RunReport.from_dict(document)
    assert json.dumps(report.as_dict()) == json.dumps(document)
    printed = (sample_run / "job.out").read_text()
    assert summary(report) + "\n" in printed
