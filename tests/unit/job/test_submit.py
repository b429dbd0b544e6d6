"""The one builder of the spark-submit command (spacex_launches.job.submit), without running Spark: what
`make job`, `make maintain` and `make history` print and run (`--dry-run`), and the exit codes it passes
on. `make job` itself runs Spark: tests/integration/test_make_run.py and test_job_exit_codes.py."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from spacex_launches.common.s3 import S3A_PACKAGES
from spacex_launches.job import jvm_functions, submit
from spacex_launches.lake.catalog import ICEBERG_PACKAGES
from spacex_launches.warehouse.jdbc import POSTGRES_JDBC_PACKAGE


def where_make_runs(monkeypatch, warehouse: str | None = None) -> None:
    """The project directory as the working directory, and SPACEX_WAREHOUSE as make exports it."""
    monkeypatch.chdir(submit.PROJECT_DIR)
    if warehouse is None:
        monkeypatch.delenv("SPACEX_WAREHOUSE", raising=False)
    else:
        monkeypatch.setenv("SPACEX_WAREHOUSE", warehouse)


def holding_tables(lake: Path) -> Path:
    """`lake` with a launches table's metadata, as a lake a run has committed to has (holds_tables)."""
    metadata = lake / "validated" / "spacex" / "launches" / "metadata"
    metadata.mkdir(parents=True)
    (metadata / "v1.metadata.json").write_text("{}")
    return lake


def dry_run(capsys, monkeypatch, *argv: str, warehouse: str | None = None) -> list[str]:
    """The lines `python -m spacex_launches.job.submit ... --dry-run` prints, run where make runs it
    (a dry run builds nothing and starts no JVM: the job's JVM functions' jar is only named)."""
    where_make_runs(monkeypatch, warehouse)
    assert submit.main([*argv, "--dry-run"]) == 0
    return capsys.readouterr().out.splitlines()


def test_job_prints_the_warehouse_masked_and_the_command_with_its_jars(capsys, monkeypatch, tmp_path):
    archive = tmp_path / "classes.jsa"
    archive.write_bytes(b"")
    lines = dry_run(
        capsys,
        monkeypatch,
        "job",
        "--input=s3a://bucket/raw",
        "--lake=my lake",
        "--cores-input=",
        "--job-args=--run-id r1 --ingest-date 2026-11-23",
        f"--class-archive={archive}",
        warehouse="postgresql://u:S3cret@h/db",
    )

    assert lines[0] == "SPACEX_WAREHOUSE=postgresql://u:***@h/db"
    command = shlex.split(lines[1])
    assert Path(command[0]).name == "spark-submit"
    assert (
        command[command.index("--packages") + 1]
        == f"{ICEBERG_PACKAGES},{POSTGRES_JDBC_PACKAGE},{S3A_PACKAGES}"
    )
    java_options = command[command.index("--driver-java-options") + 1]
    assert java_options.endswith(f"-XX:TieredStopAtLevel=1 -Xlog:cds*=error -XX:SharedArchiveFile={archive}")
    assert command[command.index("--jars") + 1] == str(jvm_functions.local_jar_path().relative_to(Path.cwd()))
    assert command[command.index("--packages") + 2 :] == [
        "jobs/launches_etl.py",
        "--env",
        "local",
        "--input",
        "s3a://bucket/raw",
        "--lake",
        "my lake",
        "--run-id",
        "r1",
        "--ingest-date",
        "2026-11-23",
    ]
    assert "S3cret" not in "".join(lines)


def test_the_warehouse_packages_and_the_class_archive_can_be_turned_off(capsys, monkeypatch):
    lines = dry_run(
        capsys,
        monkeypatch,
        "job",
        "--warehouse-packages=",
        "--no-class-archive",
        "--packages=a:b:1",
        warehouse="postgresql://u@h/db",
    )
    command = shlex.split(lines[-1])
    assert command[command.index("--packages") + 1] == f"{ICEBERG_PACKAGES},a:b:1"
    assert "cds" not in command[command.index("--driver-java-options") + 1]


def test_maintain_and_history_run_their_scripts_and_never_save_classes(capsys, monkeypatch, tmp_path):
    missing = tmp_path / "none.jsa"
    archive = f"--class-archive={missing}"
    maintain = dry_run(capsys, monkeypatch, "maintain", "--lake=l", "--job-args=--run-id m", archive)
    history = dry_run(capsys, monkeypatch, "history", "--lake=l", "--launch=abc", "--all", archive)

    assert len(maintain) == len(history) == 1  # no warehouse line, no "first run" line
    assert maintain[0].endswith("jobs/maintain_lake.py --env local --lake l --run-id m")
    assert history[0].endswith("jobs/launch_history.py --env local --lake l --launch abc --all")
    assert "ArchiveClassesAtExit" not in maintain[0] + history[0]


def test_a_dry_run_names_the_jvm_functions_jar_without_building_it(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(jvm_functions, "BUILD_DIR", tmp_path / "build")
    lines = dry_run(capsys, monkeypatch, "job", "--no-class-archive", warehouse="")
    command = shlex.split(lines[-1])
    jar = Path(command[command.index("--jars") + 1])
    assert jar.parent == tmp_path / "build" and jar.name.startswith("spacex-launches-jvm-")
    assert not jar.exists() and not any("compiling" in line for line in lines)


def test_the_jvm_options_follow_the_inputs_size_unless_given(capsys, monkeypatch, tmp_path):
    """C1 only for a small or remote input (short runs start faster), C2 and the throughput collector
    with a small young generation from LARGE_INPUT_BYTES of local files on (the parse of millions of
    records is 2-3x faster; the heap's resident pages stay few)."""
    small, large = tmp_path / "small", tmp_path / "large"
    (small / "raw").mkdir(parents=True)
    (small / "raw" / "l.json").write_text("[]")
    large.mkdir()
    with (large / "l.jsonl").open("wb") as sparse:  # its size without its bytes on disk
        sparse.truncate(submit.LARGE_INPUT_BYTES)

    def java_options(*argv: str) -> tuple[str, list[str]]:
        lines = dry_run(capsys, monkeypatch, "job", "--lake=l", "--no-class-archive", *argv, warehouse="")
        command = shlex.split(lines[-1])
        return command[command.index("--driver-java-options") + 1], lines[:-1]

    assert java_options(f"--input={small}")[0].endswith(" -XX:TieredStopAtLevel=1")
    assert java_options("--input=s3a://bucket/raw")[0].endswith(" -XX:TieredStopAtLevel=1")
    options, printed = java_options(f"--input={large}")
    assert options.endswith(" -XX:+UseParallelGC -Xmn128m")
    assert any(
        "-XX:+UseParallelGC -Xmn128m (the C2 JIT, a 128 MB young generation) for 128 MiB" in line
        for line in printed
    )
    assert java_options(f"--input={small}", f"--cores-input={large}")[0].endswith(" -Xmn128m")
    assert java_options(f"--input={large}", "--jvm-options=-Xss2m")[0].endswith(" -Xss2m")


def test_run_passes_on_the_exit_code_and_a_signal_as_128_plus_n():
    environment = {"PATH": "/usr/bin:/bin"}
    assert submit.run(["sh", "-c", "exit 3"], environment) == 3
    assert submit.run(["sh", "-c", "kill -TERM $$"], environment) == 143
    assert submit.run(["/nonexistent/spark-submit"], environment) == 127


def test_class_sharing_maps_an_archive_or_saves_one():
    assert submit.class_sharing_options(None) == ""
    assert submit.class_sharing_options(Path("/nonexistent.jsa")) == ""
    saving = submit.class_sharing_options(Path("/nonexistent.jsa"), Path("/tmp/x.jsa.tmp"))
    assert saving == "-Xlog:cds*=error -XX:ArchiveClassesAtExit=/tmp/x.jsa.tmp"


def test_the_first_re_run_into_a_lake_with_tables_saves_the_class_archive(capsys, monkeypatch, tmp_path):
    """A first load saves no archive (it never loads the classes of a decision against held tables);
    the first run into a lake that holds the launches table does, as does any run into a lake on S3
    (not looked up from here)."""
    monkeypatch.setattr(submit, "jvm_can_save_class_archives", lambda home: True)
    archive, lake = tmp_path / "classes.jsa", tmp_path / "lake"
    job = ["job", f"--lake={lake}", f"--class-archive={archive}"]

    first_load = dry_run(capsys, monkeypatch, *job, warehouse="")
    assert first_load[0] == (
        f"no class archive yet: the first run into a lake that holds tables saves {archive} "
        "(the classes of a daily run; CDS= turns it off)"
    )
    assert "cds" not in first_load[-1]

    holding_tables(lake)
    assert all(submit.holds_tables(spelling) for spelling in (str(lake), f"file://{lake}", f"file:{lake}"))
    re_run = dry_run(capsys, monkeypatch, *job, warehouse="")
    assert re_run[0].startswith(f"first re-run: the JVM saves Spark's classes to {archive} at exit")
    saving = f"{archive}.{os.getpid()}.tmp"  # this run's own: two first re-runs at once write two files
    assert f"-Xlog:cds*=error -XX:ArchiveClassesAtExit={saving}" in re_run[-1]

    on_s3 = dry_run(
        capsys, monkeypatch, "job", "--lake=s3a://bucket/lake", f"--class-archive={archive}", warehouse=""
    )
    assert f"-XX:ArchiveClassesAtExit={saving}" in on_s3[-1]
    assert not archive.exists() and not Path(saving).exists()  # a dry run starts no JVM


@pytest.mark.parametrize("code", [0, 1])
def test_only_a_run_that_succeeded_keeps_the_classes_its_jvm_saved(capsys, monkeypatch, tmp_path, code):
    """The JVM writes the archive at exit whatever the job's outcome: a failed run's file is removed, so
    failed first re-runs leave nothing behind (each writes a file of its own)."""
    monkeypatch.setattr(submit, "jvm_can_save_class_archives", lambda home: True)
    jar = tmp_path / "functions.jar"
    jar.write_bytes(b"")
    monkeypatch.setattr(submit.jvm_functions, "local_jar_path", lambda: jar)
    archive, lake = tmp_path / "classes.jsa", holding_tables(tmp_path / "lake")

    def job_whose_jvm_saves_its_classes(command, environment, cwd=None) -> int:
        saving = re.search(r"-XX:ArchiveClassesAtExit=(\S+)", " ".join(command))
        assert saving, command
        Path(saving.group(1)).write_bytes(b"classes")
        return code

    monkeypatch.setattr(submit, "run", job_whose_jvm_saves_its_classes)
    where_make_runs(monkeypatch)
    assert submit.main(["job", f"--lake={lake}", f"--class-archive={archive}"]) == code
    assert archive.exists() == (code == 0)
    assert not list(tmp_path.glob("classes.jsa.*"))
