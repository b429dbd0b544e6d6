"""`make run`, the README's first command: the repo's sample through the job and both answers printed;
the first re-run into the lake saves a class-data sharing archive (where the JVM can save one), which
later runs map (tests/unit/job/test_submit.py; every spark-submit of the tests maps the session's).
Every path lives in a directory whose name has a space: INPUT, CORES_INPUT, LAKE and WAREHOUSE each
pass through make and spark-submit as one argument."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from support.jobs import jvm_can_save_class_archives
from support.paths import REPO, SAMPLE_CORES, SAMPLE_DIR

pytestmark = pytest.mark.integration


def make_run(base: Path, archive: Path, *inputs: str) -> subprocess.CompletedProcess:
    command = [
        "make",
        "--no-print-directory",
        "-o",
        ".venv/.installed",
        "run",
        f"LAKE={base / 'lake'}",
        f"WAREHOUSE={base / 'launches.duckdb'}",
        f"CDS_ARCHIVE={archive}",
        *inputs,
    ]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def saved_to(archive: Path) -> list[Path]:
    """A run's class archive as the JVM writes it (<archive>.<pid>.tmp), before the move into place."""
    return list(archive.parent.glob(f"{archive.name}.*tmp"))


def test_make_run_answers_on_the_sample_and_its_re_run_saves_the_class_archive(tmp_path):
    base = tmp_path / "my dir"
    base.mkdir()
    archive = tmp_path / "spark-classes.jsa"  # make's own file (.venv/ by default), not a user path

    first = make_run(base, archive)  # INPUT: the sample, as on a fresh clone
    assert first.returncode == 0, first.stderr[-3000:]
    assert (
        f"--lake '{base / 'lake'}'" in first.stdout
        and f"SPACEX_WAREHOUSE={base / 'launches.duckdb'}" in first.stdout
    )
    assert "SUCCEEDED" in first.stdout
    assert "records    16 in = 14 launches + 1 duplicates collapsed + 1 quarantined" in first.stdout
    # most-reused core: its serial from the sample's /cores, 4 reuses, 5 flights
    assert re.search(r"^core_id +serial +reuses +flights$", first.stdout, re.MULTILINE)
    assert re.search(r"^5a3b1e0000000000000c0a01  B9001 +4 +5 *$", first.stdout, re.MULTILINE)
    assert "(4 rows)" in first.stdout  # re-flights within 50 days
    with duckdb.connect(str(base / "launches.duckdb"), read_only=True) as analyst:  # as an analyst opens it
        assert analyst.execute("select count(*) from spacex.launches").fetchall() == [(14,)]
    # A first load saves no class archive: the first re-run into the lake saves a daily run's classes.
    assert not archive.exists() and not saved_to(archive)
    assert "-XX:ArchiveClassesAtExit" not in first.stdout and "-XX:SharedArchiveFile" not in first.stdout
    saves_archives = jvm_can_save_class_archives()
    if saves_archives:
        assert (
            f"no class archive yet: the first run into a lake that holds tables saves {archive}"
            in first.stdout
        )

    # The same sample again, from a copy in the spaced directory: the re-run changes nothing.
    launches, cores = (
        shutil.copytree(SAMPLE_DIR, base / "launches"),
        shutil.copytree(SAMPLE_CORES, base / "cores"),
    )
    second = make_run(base, archive, f"INPUT={launches}", f"CORES_INPUT={cores}")
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"--input '{launches}' --lake '{base / 'lake'}'" in second.stdout
    assert f"--cores-input '{cores}'" in second.stdout
    assert "launches 14->14, launch_cores 18->18" in second.stdout
    assert len(list((base / "lake" / "_reports").glob("*.json"))) == 2
    assert not saved_to(archive)
    if saves_archives:
        assert f"first re-run: the JVM saves Spark's classes to {archive}" in second.stdout
        assert re.search(rf"-XX:ArchiveClassesAtExit={re.escape(str(archive))}\.\d+\.tmp", second.stdout)
        assert archive.stat().st_size > 10_000_000
    else:
        assert not archive.exists() and "-XX:ArchiveClassesAtExit" not in second.stdout
