"""A lake's identity and its way back, with spark-submit on real lakes: a `cp -a` copy and a moved lake
stop before any write (the original untouched), a damaged metadata file names its table and file, and
the documented ways back (`make rebuild`, or the previous metadata version) give the same rows."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.jobs import spark_submit
from support.lake import core, hid, lake_rows, launch, raw_file, run_in_process
from support.paths import REPO

pytestmark = pytest.mark.integration
TABLES = ("launches", "launch_cores")


def files_of(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder`: (size, modification time in ns) by relative path."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def run_job(lake: Path, *inputs: Path, run_id: str) -> subprocess.CompletedProcess:
    return spark_submit(
        "--input", *map(str, inputs), "--lake", str(lake), "--warehouse", "none", "--run-id", run_id
    )


def two_snapshot_lake(spark, lake: Path) -> Path:
    """A lake whose raw zone holds two snapshots, both run into its validated zone; returns the newer
    raw file."""
    raw = lake / "raw" / "spacex" / "launches"
    first = raw_file(raw, "20240101T060000", [launch(hid("L1"), "2020-03-01T20:45:00Z", [core("B1")])])
    second = raw_file(
        raw,
        "20240102T060000",
        [
            launch(hid("L1"), "2020-03-01T20:45:00Z", [core("B2")], details="corrected"),
            launch(hid("L2"), "2021-03-01T20:45:00Z", [core("B1", 2)]),
        ],
    )
    for run_id, source in (("first", first), ("second", second)):
        run_in_process(spark, [source], lake, None, run_id)
    return second


@pytest.mark.parametrize("how", ["cp -a", "mv"])
def test_a_copied_or_moved_lake_stops_before_any_write(spark, tmp_path, how):
    original = tmp_path / "original"
    newer = two_snapshot_lake(spark, original)
    other = tmp_path / "elsewhere"  # a copy beside the original, or the original moved away
    subprocess.run([*(["cp", "-a"] if how == "cp -a" else ["mv"]), str(original), str(other)], check=True)
    before_original = files_of(original) if how == "cp -a" else {}
    before_other = files_of(other / "validated")

    result = run_job(other, other / newer.relative_to(original), run_id="elsewhere")

    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-3000:]
    message = result.stdout + result.stderr  # the run's summary names the failure
    assert "lake.spacex.launches" in message
    assert f"{original}/validated/spacex/launches" in message  # where its metadata says it lives
    assert f"{other}/validated/spacex/launches" in message  # where the run was told it is
    assert f"make rebuild LAKE={other}" in message and "rewrite_table_path" in message
    assert "a bug" not in message
    if how == "cp -a":
        assert files_of(original) == before_original  # a copy never writes into its original
    else:
        assert not original.exists()  # nor does a moved lake recreate the old place
    assert files_of(other / "validated") == before_other  # and nothing is written in the copy's tables
    assert not list((other / "_staging").glob("*"))


def newest_metadata(table: Path) -> Path:
    return max((table / "metadata").glob("v*.metadata.json"), key=lambda p: int(p.name[1:].split(".")[0]))


@pytest.mark.parametrize("with_checksum", [True, False])
def test_damaged_metadata_names_table_and_file_and_the_way_back_gives_the_same_rows(
    spark, tmp_path, with_checksum
):
    lake = tmp_path / "lake"
    newer = two_snapshot_lake(spark, lake)
    expected = {table: lake_rows(spark, lake, table) for table in TABLES}
    table = lake / "validated" / "spacex" / "launch_cores"
    damaged = newest_metadata(table)
    truncated = damaged.read_bytes()[: damaged.stat().st_size // 2]
    damaged.write_bytes(truncated)  # cut mid-document, as by a full disk
    if not with_checksum:
        damaged.with_name(f".{damaged.name}.crc").unlink()

    result = run_job(lake, newer, run_id="after-the-damage")

    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-3000:]
    message = result.stdout + result.stderr
    assert "lake.spacex.launch_cores" in message and str(damaged) in message
    assert f"make rebuild LAKE={lake}" in message and "version-hint.text" in message
    assert "a bug" not in message

    if with_checksum:  # the way back: make rebuild, which keeps the damaged zone aside
        rebuilt = subprocess.run(
            [
                "make",
                "--no-print-directory",
                "-o",
                ".venv/.installed",
                "rebuild",
                f"LAKE={lake}",
                "WAREHOUSE=none",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert rebuilt.returncode == 0, rebuilt.stdout[-3000:] + rebuilt.stderr[-3000:]
        kept = list((lake / "_set_aside").glob(f"validated-*/spacex/launch_cores/metadata/{damaged.name}"))
        assert [p.read_bytes() for p in kept] == [truncated]
    else:  # the way back the message gives: the table's previous metadata version
        version = int(damaged.name[1:].split(".")[0])
        damaged.rename(tmp_path / damaged.name)
        (table / "metadata" / "version-hint.text").write_text(str(version - 1))
    again = run_job(lake, newer, run_id="next")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert {table: lake_rows(spark, lake, table) for table in TABLES} == expected
