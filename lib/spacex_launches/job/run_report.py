"""The run report: a machine-readable JSON document per run, and its short human summary.

Both show locations and errors with their secrets masked (spacex_launches.common.redact)."""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from spacex_launches.common.redact import redact_text
from spacex_launches.job.outcomes import (
    Conservation,
    CoresOutcome,
    CoresSkipped,
    Inputs,
    LakeOutcome,
    LaunchCounts,
    MergeOutcome,
    NotListed,
    QuarantineOutcome,
    WarehouseOutcome,
    cores_from_dict,
    part_or_none,
    snapshot_of,
)
from spacex_launches.lake.catalog import TableSnapshot

log = logging.getLogger("spacex_launches")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class RunReport:
    """One run's outcome, filled in by the pipeline as it goes and written as JSON (`as_dict`) to
    `<lake>/_reports/<run_id>.json`, where Airflow's run_metrics (`from_dict`) and people read it. A
    part the run did not reach is null, or {} for counts, conservation, rule_failures, rule_warnings
    and lake (job/outcomes.py has the parts' types)."""

    run_id: str
    env: str
    status: str = "running"  # running -> succeeded | no_op | failed | cancelled
    exit_code: int | None = None  # the job's exit code (spacex_launches.exceptions), set when it ends
    phase: str | None = None  # the phase running (the last one run, once it ended; a stopped run's)
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    inputs: Inputs = field(default_factory=lambda: Inputs([]))
    counts: LaunchCounts | None = None
    conservation: Conservation | None = None
    rule_failures: dict[str, int] = field(default_factory=dict)
    rule_warnings: dict[str, int] = field(default_factory=dict)  # records kept that failed a warning rule
    outputs: dict[str, str] = field(default_factory=dict)
    lake: LakeOutcome = field(default_factory=LakeOutcome)  # per table: what the merge decided and committed
    lake_snapshots: dict[str, TableSnapshot] = field(
        default_factory=dict
    )  # per table: the snapshot loaded from
    cores: CoresOutcome | CoresSkipped | None = (
        None  # the /cores dataset's counts and rules, when it was read
    )
    warehouse: WarehouseOutcome | None = None
    durations_s: dict[str, float] = field(default_factory=dict)
    # launches the lake holds that the newest complete snapshot of the input no longer lists
    not_listed: NotListed | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. records of the same fetch time that differ
    message: str | None = None  # a note for a run that changed nothing
    error: str | None = None

    @classmethod
    def start(cls, run_id: str, env: str, inputs: list[str], lake: str) -> RunReport:
        return cls(run_id, env, inputs=Inputs(list(inputs)), outputs={"lake": lake})

    def as_dict(self) -> dict[str, Any]:
        def part(value: Any, absent: Any = None) -> Any:
            return absent if value is None else value.as_dict()

        return {
            "run_id": self.run_id,
            "env": self.env,
            "status": self.status,
            "exit_code": self.exit_code,
            "phase": self.phase,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "inputs": self.inputs.as_dict(),
            "counts": part(self.counts, {}),
            "conservation": part(self.conservation, {}),
            "rule_failures": dict(self.rule_failures),
            "rule_warnings": dict(self.rule_warnings),
            "outputs": dict(self.outputs),
            "lake": self.lake.as_dict(),
            "lake_snapshots": {table: snapshot.as_dict() for table, snapshot in self.lake_snapshots.items()},
            "cores": part(self.cores),
            "warehouse": part(self.warehouse),
            "durations_s": dict(self.durations_s),
            "not_listed": part(self.not_listed),
            "warnings": list(self.warnings),
            "message": self.message,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> RunReport:
        """A report read back from its JSON (`as_dict`); a part it lacks is absent here too."""
        return cls(
            run_id=document["run_id"],
            env=document["env"],
            status=document["status"],
            exit_code=document.get("exit_code"),
            phase=document.get("phase"),
            started_at=document.get("started_at") or "",
            finished_at=document.get("finished_at"),
            inputs=Inputs.from_dict(document.get("inputs") or {}),
            counts=part_or_none(LaunchCounts.from_dict, document.get("counts")),
            conservation=part_or_none(Conservation.from_dict, document.get("conservation")),
            rule_failures=document.get("rule_failures") or {},
            rule_warnings=document.get("rule_warnings") or {},
            outputs=document.get("outputs") or {},
            lake=LakeOutcome.from_dict(document.get("lake") or {}),
            lake_snapshots={
                table: snapshot_of(table, entry)
                for table, entry in (document.get("lake_snapshots") or {}).items()
            },
            cores=part_or_none(cores_from_dict, document.get("cores")),
            warehouse=part_or_none(WarehouseOutcome.from_dict, document.get("warehouse")),
            durations_s=document.get("durations_s") or {},
            not_listed=part_or_none(NotListed.from_dict, document.get("not_listed")),
            warnings=document.get("warnings") or [],
            message=document.get("message"),
            error=document.get("error"),
        )


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
    files = report.inputs.files
    if files:
        lines.append(f"  input      {len(files)} file(s), {sum(f.bytes for f in files):,} bytes")
    skipped = report.inputs.skipped or []
    if skipped:
        names = ", ".join(entry["path"].rsplit("/", 1)[-1] for entry in skipped[:3])
        more = f" and {len(skipped) - 3:,} more" if len(skipped) > 3 else ""
        lines.append(
            f"  skipped    {len(skipped):,} file(s): {names}{more} (not launches data: see the report)"
        )
    if counts is not None:
        lines.append(
            f"  records    {counts.input_records:,} in = {counts.launches:,} launches + "
            f"{counts.duplicates_collapsed:,} duplicates collapsed + {counts.quarantined:,} quarantined"
        )
        lines.append(
            f"  cores      {counts.launch_cores:,} launch_cores rows "
            f"({counts.unknown_core_slots:,} with unknown core)"
        )
    if isinstance(report.cores, CoresOutcome):
        core_counts = report.cores.counts
        lines.append(
            f"  boosters   {core_counts.input_records:,} /cores records = {core_counts.cores:,} cores + "
            f"{core_counts.duplicates_collapsed:,} duplicates collapsed + {core_counts.quarantined:,} quarantined"
        )
    failing = {rule: n for rule, n in report.rule_failures.items() if n}
    if failing:
        lines.append("  rules      " + ", ".join(f"{rule}={n}" for rule, n in failing.items()))
    for table, outcome in report.lake.tables().items():
        lines.append(f"  lake       {table}: {_lake_line(table, outcome)}")
    gone = report.not_listed
    if gone and gone.launches:
        lines.append(
            f"  upstream   {gone.launches:,} launch(es) in the lake are not in the newest complete snapshot "
            f"({gone.complete_snapshot}); kept, named in the report (not_listed)"
        )
    for warning in report.warnings:
        lines.append(f"  warning    {warning}")
    warehouse = report.warehouse
    if warehouse and warehouse.sync and warehouse.sync.tables:
        loads = warehouse.sync.tables.items()
        tables = ", ".join(f"{table} {load.before:,}->{load.after:,}" for table, load in loads)
        note = " (already at the lake's snapshots)" if warehouse.sync.up_to_date_before else ""
        lines.append(redact_text(f"  warehouse  {warehouse.location}: {tables}{note}"))
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


def _lake_line(table: str, outcome: MergeOutcome | QuarantineOutcome) -> str:
    """`launches: 3 new, 2 updated, 200 unchanged, 1 kept (lake newer) -> snapshot 123`."""
    commit = (
        f"snapshot {outcome.snapshot.snapshot_id}" if outcome.committed else "no commit (nothing changed)"
    )
    if isinstance(outcome, QuarantineOutcome):
        return f"{outcome.rows:,} rows -> {commit}"
    changes = outcome.changes
    parts = [f"{changes.insert:,} new", f"{changes.update:,} updated", f"{changes.unchanged:,} unchanged"]
    if changes.kept_newer:
        parts.append(f"{changes.kept_newer:,} kept (the lake holds a newer snapshot)")
    return f"{', '.join(parts)} {KEYED_BY.get(table, 'rows')} -> {commit}"
