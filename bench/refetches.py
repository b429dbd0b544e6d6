"""`make bench BENCH_ARGS="--refetches 60"`: does a daily run cost more as the lake's history grows?

The real snapshot is fetched again every day, unchanged: day d lands it in the raw zone as
`ingest_date=<day>/<day>T060000Z-<sha>.json` (as the ingest names a fetch) and runs the job as the
daily DAG does (`--ingest-date <day>`, DuckDB warehouse, one lake for all days). Day 0 is the first
load; days 1.. are refetches, which commit only launch_sightings. The lake is maintained every
`--maintain-every` days as the weekly DAG does (`jobs/maintain_lake.py`), with a snapshot retention of
0 h: the days here pass in seconds, so a retention in hours would never expire anything. Printed per day:
wall, job phases and the validated zone's files; then the first refetch beside the last ones.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from bench.bench_launches import REPO, checked_run, job_seconds, spark_environment, submit_command


def land(raw: Path, day: datetime, snapshot: Path) -> None:
    """The snapshot as the ingest lands a fetch made at `day`, 06:00 UTC."""
    body = snapshot.read_bytes()
    name = f"{day:%Y%m%dT060000}Z-{hashlib.sha256(body).hexdigest()[:16]}.json"
    folder = raw / f"ingest_date={day:%Y-%m-%d}"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(body)


def conf_without_retention(tmp: Path) -> Path:
    """A copy of conf/ whose maintenance expires every snapshot the warehouse no longer needs."""
    conf = tmp / "conf"
    shutil.copytree(REPO / "conf", conf)
    base = yaml.safe_load((conf / "base.yaml").read_text())
    base["maintenance"]["snapshot_retention_h"] = 0
    (conf / "base.yaml").write_text(yaml.safe_dump(base))
    return conf


def files_under(path: Path) -> int:
    return sum(len(names) for _, _, names in os.walk(path))


def run_day(
    args: argparse.Namespace, lake: Path, raw: Path, day: datetime, env: dict, java_opts: str
) -> dict:
    run_id = f"day-{day:%Y%m%d}"
    job_args = ["--input", str(raw), "--ingest-date", f"{day:%Y-%m-%d}", "--lake", str(lake)]
    job_args += ["--warehouse", str(lake.parent / "launches.duckdb"), "--run-id", run_id]
    command = submit_command(args, REPO / "jobs" / "launches_etl.py", job_args, java_opts)
    run = checked_run(command, env, f"the job on {day:%Y-%m-%d}")
    report = json.loads((lake / "_reports" / f"{run_id}.json").read_text())
    return {
        "day": f"{day:%Y-%m-%d}",
        "wall_s": run["wall_s"],
        "job_s": job_seconds(report),
        "durations_s": report["durations_s"],
        "committed": [table for table, outcome in report["lake"].items() if (outcome or {}).get("committed")],
        "validated_files": files_under(lake / "validated"),
    }


def maintain(args: argparse.Namespace, lake: Path, env: dict, java_opts: str) -> dict:
    arguments = ["--lake", str(lake), "--warehouse", str(lake.parent / "launches.duckdb")]
    command = submit_command(args, REPO / "jobs" / "maintain_lake.py", arguments, java_opts)
    run = checked_run(command, env, "maintenance")
    return {"wall_s": run["wall_s"], "validated_files": files_under(lake / "validated")}


def refetches(args: argparse.Namespace, snapshot: Path, java_opts: str) -> dict:
    """Day 0 then `args.refetches` daily refetches of `snapshot` into one lake; per-day figures."""
    with tempfile.TemporaryDirectory(prefix="refetch-", dir=args.out) as tmp_name:
        tmp = Path(tmp_name)
        lake, raw = tmp / "lake", tmp / "raw"
        env = {**spark_environment(), "SPACEX_CONF_DIR": str(conf_without_retention(tmp))}
        first_day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        first_day -= timedelta(days=args.refetches + 1)
        days, maintenance = [], []
        for number in range(args.refetches + 1):
            day = first_day + timedelta(days=number)
            land(raw, day, snapshot)
            days.append(run_day(args, lake, raw, day, env, java_opts))
            print(_day_line(number, days[-1]), flush=True)
            if number and number % args.maintain_every == 0:
                maintenance.append({"after_day": number, **maintain(args, lake, env, java_opts)})
                print(f"maintained: {maintenance[-1]['validated_files']} files", flush=True)
    return {"days": days, "maintenance": maintenance, "maintain_every": args.maintain_every}


def _day_line(number: int, day: dict) -> str:
    phases = ", ".join(f"{name} {seconds:.1f}" for name, seconds in day["durations_s"].items())
    return (
        f"day {number:>3}: wall {day['wall_s']:5.1f} s, job {day['job_s']:5.1f} s, "
        f"{day['validated_files']:>4} files, committed {'/'.join(day['committed']) or '-'} ({phases})"
    )


def summary(result: dict, last: int = 5) -> str:
    """The first refetch (day 1) beside the median of the first and of the last `last` refetches."""
    refetched = result["days"][1:]
    if not refetched:
        return "no refetches"

    def median(days: list[dict], key: str) -> float:
        return statistics.median(day[key] for day in days)

    head, tail = refetched[:last], refetched[-last:]
    return (
        f"{len(refetched)} refetches of unchanged data, maintained every {result['maintain_every']} days: "
        f"first refetch wall {refetched[0]['wall_s']:.1f} s / job {refetched[0]['job_s']:.1f} s; "
        f"median of the first {len(head)}: wall {median(head, 'wall_s'):.1f} / job {median(head, 'job_s'):.1f} s; "
        f"of the last {len(tail)}: wall {median(tail, 'wall_s'):.1f} / job {median(tail, 'job_s'):.1f} s; "
        f"validated/ files {refetched[0]['validated_files']} on day 1, {refetched[-1]['validated_files']} "
        f"on day {len(refetched)}"
    )
