"""`make run`, the README's first command: the repo's sample through the job and both answers printed;
the first run saves a class-data sharing archive that the next run maps (where the JVM can save one)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.integration


def make_run(tmp_path: Path, archive: Path) -> subprocess.CompletedProcess:
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "run", f"LAKE={tmp_path / 'lake'}",
               f"WAREHOUSE={tmp_path / 'spacex.duckdb'}", f"CDS_ARCHIVE={archive}"]  # fmt: skip
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def jvm_can_save_class_archives() -> bool:
    java = Path(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    return subprocess.run([java, "-Xshare:on", "-version"], capture_output=True).returncode == 0


def test_make_run_answers_on_the_sample_and_reuses_its_class_archive(tmp_path):
    archive = tmp_path / "spark-classes.jsa"

    first = make_run(tmp_path, archive)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "SUCCEEDED" in first.stdout
    # most-reused core: serial unknown (no cores loaded), 4 reuses, 5 flights
    assert re.search(r"^core_id +serial +reuses +flights$", first.stdout, re.MULTILINE)
    assert re.search(r"^5a3b1e0000000000000c0a01 {10}4 {7}5 *$", first.stdout, re.MULTILINE)
    assert "(4 rows)" in first.stdout  # re-flights within 50 days
    assert not Path(f"{archive}.tmp").exists()
    if not jvm_can_save_class_archives():
        assert not archive.exists() and "-XX:ArchiveClassesAtExit" not in first.stdout
        return
    assert "first run: the JVM saves Spark's classes" in first.stdout
    assert archive.stat().st_size > 10_000_000

    second = make_run(tmp_path, archive)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"-XX:SharedArchiveFile={archive}" in second.stdout
    assert "first run" not in second.stdout
    assert "launches 14->14, launch_cores 18->18" in second.stdout  # the re-run changed nothing
