"""The run report: a machine-readable JSON document per run, and its short human summary.

Both show locations and errors with their secrets masked (spacex_launches.common.redact)."""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from spacex_launches.common.redact import redact_text

log = logging.getLogger("spacex_launches")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class RunReport:
    """One run's outcome, filled in by the pipeline as it goes and written as JSON (`as_dict`) to
    `<lake>/_reports/<run_id>.json`, where Airflow's run_metrics and people read it."""

    run_id: str
    env: str
    status: str = "running"  # running -> succeeded | no_op | failed | cancelled
    exit_code: int | None = None  # the job's exit code (spacex_launches.exceptions), set when it ends
    phase: str | None = None  # the phase running (the last one run, once it ended; a stopped run's)
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)  # paths, files, skipped, cores_files
    counts: dict[str, int] = field(default_factory=dict)
    conservation: dict[str, Any] = field(default_factory=dict)
    rule_failures: dict[str, int] = field(default_factory=dict)
    rule_warnings: dict[str, int] = field(default_factory=dict)  # records kept that failed a warning rule
    outputs: dict[str, str] = field(default_factory=dict)
    lake: dict[str, Any] = field(default_factory=dict)  # per table: what the merge decided and committed
    lake_snapshots: dict[str, Any] = field(default_factory=dict)  # per table: the snapshot loaded from
    cores: dict[str, Any] | None = None  # the /cores dataset's counts and rules, when it was read
    warehouse: dict[str, Any] | None = None
    durations_s: dict[str, float] = field(default_factory=dict)
    # launches the lake holds that the newest complete snapshot of the input no longer lists
    not_listed: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. records of the same fetch time that differ
    message: str | None = None  # a note for a run that changed nothing
    error: str | None = None

    @classmethod
    def start(cls, run_id: str, env: str, inputs: list[str], lake: str) -> RunReport:
        return cls(run_id, env, inputs={"paths": inputs, "files": []}, outputs={"lake": lake})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def timed(report: RunReport, phase: str):
    """Time a phase into the report and log its start and end (the job's progress lines)."""
    log.info("%s ...", phase)
    report.phase = phase
    start = time.monotonic()
    try:
        yield
    finally:
        report.durations_s[phase] = round(time.monotonic() - start, 3)
        log.info("%s done in %.1f s", phase, report.durations_s[phase])


def masked(value: Any) -> Any:
    """`value` with every string in it (not the keys) masked."""
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    return redact_text(value) if isinstance(value, str) else value


def to_json(report: RunReport) -> str:
    return json.dumps(masked(report.as_dict()), indent=2, sort_keys=False, default=str) + "\n"


def summary(report: RunReport) -> str:
    counts = report.counts
    lines = [f"run {report.run_id} ({report.env}): {report.status.upper()}"]
    files = report.inputs.get("files", [])
    if files:
        lines.append(f"  input      {len(files)} file(s), {sum(f['bytes'] for f in files):,} bytes")
    skipped = report.inputs.get("skipped") or []
    if skipped:
        names = ", ".join(entry["path"].rsplit("/", 1)[-1] for entry in skipped[:3])
        more = f" and {len(skipped) - 3:,} more" if len(skipped) > 3 else ""
        lines.append(
            f"  skipped    {len(skipped):,} file(s): {names}{more} (not launches data: see the report)"
        )
    if counts:
        lines.append(
            "  records    {input_records:,} in = {launches:,} launches + {duplicates_collapsed:,} duplicates"
            " collapsed + {quarantined:,} quarantined".format(
                **{
                    k: counts.get(k, 0)
                    for k in ("input_records", "launches", "duplicates_collapsed", "quarantined")
                }
            )
        )
        lines.append(
            f"  cores      {counts.get('launch_cores', 0):,} launch_cores rows "
            f"({counts.get('unknown_core_slots', 0):,} with unknown core)"
        )
    if report.cores and report.cores.get("counts"):
        core_counts = report.cores["counts"]
        lines.append(
            "  boosters   {input_records:,} /cores records = {cores:,} cores + {duplicates_collapsed:,} duplicates"
            " collapsed + {quarantined:,} quarantined".format(**core_counts)
        )
    failing = {rule: n for rule, n in report.rule_failures.items() if n}
    if failing:
        lines.append("  rules      " + ", ".join(f"{rule}={n}" for rule, n in failing.items()))
    for table, outcome in report.lake.items():
        lines.append(f"  lake       {table}: {_lake_line(table, outcome)}")
    if report.not_listed and report.not_listed.get("launches"):
        gone = report.not_listed
        lines.append(
            f"  upstream   {gone['launches']:,} launch(es) in the lake are not in the newest complete snapshot "
            f"({gone['complete_snapshot']}); kept, named in the report (not_listed)"
        )
    for warning in report.warnings:
        lines.append(f"  warning    {warning}")
    if report.warehouse and report.warehouse.get("tables"):
        warehouse = report.warehouse
        tables = ", ".join(
            f"{table} {stats['before']:,}->{stats['after']:,}"
            for table, stats in warehouse.get("tables", {}).items()
        )
        note = " (already at the lake's snapshots)" if warehouse.get("up_to_date_before") else ""
        lines.append(redact_text(f"  warehouse  {warehouse['location']}: {tables}{note}"))
    if report.durations_s:
        lines.append(f"  took       {report.durations_s.get('total', 0):.1f} s")
    if report.error:
        lines.append(redact_text(f"  error      {report.error}"))
    return "\n".join(lines)


KEYED_BY = {
    "launches": "launches",
    "launch_cores": "launches' core slots",
    "cores": "cores",
    "launch_sightings": "launches' last sightings",
}


def _lake_line(table: str, outcome: dict[str, Any]) -> str:
    """`launches: 3 new, 2 updated, 200 unchanged, 1 kept (lake newer) -> snapshot 123`."""
    commit = (
        f"snapshot {outcome['snapshot_id']}" if outcome.get("committed") else "no commit (nothing changed)"
    )
    if "launches" not in outcome:
        return f"{outcome.get('rows', 0):,} rows -> {commit}"
    launches = outcome["launches"]
    parts = [
        f"{launches.get('insert', 0):,} new",
        f"{launches.get('update', 0):,} updated",
        f"{launches.get('unchanged', 0):,} unchanged",
    ]
    if launches.get("kept_newer"):
        parts.append(f"{launches['kept_newer']:,} kept (the lake holds a newer snapshot)")
    return f"{', '.join(parts)} {KEYED_BY.get(table, 'rows')} -> {commit}"
