"""The run report: a machine-readable JSON document per run, and its short human summary.

Both show locations and errors with their secrets masked (spacex_launches.redact)."""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from spacex_launches.redact import redact_text

log = logging.getLogger("spacex_launches")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_report(run_id: str, env: str, inputs: list[str], lake: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "env": env,
        "status": "running",
        "started_at": utc_now(),
        "finished_at": None,
        "inputs": {"paths": inputs, "files": []},
        "counts": {},
        "conservation": {},
        "rule_failures": {},
        "outputs": {"lake": lake},
        "lake": {},
        "lake_snapshots": {},
        "warehouse": None,
        "durations_s": {},
        "error": None,
    }


@contextmanager
def timed(report: dict[str, Any], phase: str):
    """Time a phase into the report and log its start and end (the job's progress lines)."""
    log.info("%s ...", phase)
    start = time.monotonic()
    try:
        yield
    finally:
        report["durations_s"][phase] = round(time.monotonic() - start, 3)
        log.info("%s done in %.1f s", phase, report["durations_s"][phase])


def masked(value: Any) -> Any:
    """`value` with every string in it (not the keys) masked."""
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    return redact_text(value) if isinstance(value, str) else value


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(masked(report), indent=2, sort_keys=False, default=str) + "\n"


def summary(report: dict[str, Any]) -> str:
    counts = report.get("counts", {})
    lines = [f"run {report['run_id']} ({report['env']}): {report['status'].upper()}"]
    files = report["inputs"]["files"]
    if files:
        lines.append(f"  input      {len(files)} file(s), {sum(f['bytes'] for f in files):,} bytes")
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
    failing = {rule: n for rule, n in report.get("rule_failures", {}).items() if n}
    if failing:
        lines.append("  rules      " + ", ".join(f"{rule}={n}" for rule, n in failing.items()))
    for table, outcome in report.get("lake", {}).items():
        lines.append(f"  lake       {table}: {_lake_line(outcome)}")
    if report.get("warehouse") and report["warehouse"].get("tables"):
        warehouse = report["warehouse"]
        tables = ", ".join(
            f"{table} {stats['before']:,}->{stats['after']:,}"
            for table, stats in warehouse.get("tables", {}).items()
        )
        note = " (already at the lake's snapshots)" if warehouse.get("up_to_date_before") else ""
        lines.append(redact_text(f"  warehouse  {warehouse['location']}: {tables}{note}"))
    if report["durations_s"]:
        lines.append(f"  took       {report['durations_s'].get('total', 0):.1f} s")
    if report.get("error"):
        lines.append(redact_text(f"  error      {report['error']}"))
    return "\n".join(lines)


def _lake_line(outcome: dict[str, Any]) -> str:
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
    return f"{', '.join(parts)} launches -> {commit}"
