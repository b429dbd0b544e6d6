"""Hostile input and faults through the real job: every file is read completely or refused by name, a
bad record is quarantined under the rule that names its cause, nothing hangs, a fault is one paragraph
and its exit code with the tables unchanged, and a planted secret is printed or stored nowhere."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from spacex_launches.exceptions import InputFileError
from support.jobs import spark_submit
from support.lake import (
    assert_warehouse_mirrors_lake,
    core,
    hid,
    lake_rows,
    lake_table,
    launch,
    read_report,
    run_in_process,
    validated_files,
)
from support.paths import SAMPLE_DIR

pytestmark = pytest.mark.integration
SECRET = "Hostile-S3cret-42"
CAFE = "5a3b1e00000000000000cafe"


def good(launch_name: str, day: int, cores: list | None = None, **fields) -> dict:
    record = launch(launch_name, f"2021-01-{day:02d}T12:00:00Z", [core("B1")] if cores is None else cores)
    return {**record, **fields}


def deep_record(name: str) -> str:
    return json.dumps(good(name, 20)).replace(
        '"name":', '"links": ' + '{"a": ' * 1200 + "1" + "}" * 1200 + ', "name":'
    )


@pytest.fixture(scope="module")
def hostile_inputs(tmp_path_factory) -> Path:
    """One folder of files in every accepted container, with bad records in them and files to skip."""
    folder = tmp_path_factory.mktemp("hostile") / "in [dir] {x}"  # glob characters and a space
    folder.mkdir()
    (folder / "20240101T000000Z-bom-array.json").write_text("\ufeff" + json.dumps([good("BOM", 1)]))
    (folder / "20240101T000000Z-envelope.json").write_text(
        json.dumps({"docs": [good("ENV1", 2), good("ENV2", 3)], "totalDocs": 2, "page": 1}, indent=2)
    )
    (folder / "20240101T000000Z-packed.json.gz").write_bytes(
        gzip.compress(json.dumps([good("GZ", 4)]).encode())
    )
    (folder / "20240101T000000Z-UPPER.JSON").write_text(json.dumps([good("UPPER", 5)]))
    (folder / "20240101T000000Z-blank-start.json").write_text(" " * 4096 + json.dumps([good("BLANK", 6)]))
    (folder / "20240101T000000Z-odd *?[1].json").write_text(json.dumps([good("ODD", 7)]))
    lines = [
        json.dumps(good("LINE1", 8)),
        json.dumps([good("LINE2", 9), good("LINE3", 10)]),  # a line that is an array
        json.dumps(good("NOCORES", 11, cores=[])),
        json.dumps(good("ANCIENT", 12, date_utc="1899-12-31T00:00:00Z")),  # Parquet's ancient dates
        json.dumps({**good("X", 13), "id": CAFE.upper()}),  # a near-duplicate by case
        json.dumps({**good("X", 14), "id": f" {CAFE} "}),  # ... by whitespace
        json.dumps({**good("X", 15), "id": hid("LONG") * 20}),  # an over-long id
        json.dumps(good("WIDE", 16, name="é" * 200)),  # 400 bytes in a VARCHAR(256)
        json.dumps(good("HUGE", 17, details="x" * (2 * 1024 * 1024))),  # a 2 MB record
        deep_record("DEEP"),
        json.dumps(good("TWO1", 18)) + " " + json.dumps(good("TWO2", 19)),  # two values side by side
    ]
    (folder / "20240102T000000Z-lines.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "notes.txt").write_text("not data")
    (folder / "20240101T000000Z-bom-array.manifest.json").write_text("{}")
    return folder


def test_every_file_is_read_and_every_bad_record_named_for_its_cause(spark, hostile_inputs, tmp_path):
    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    result = spark_submit("--input", str(hostile_inputs), "--lake", str(lake), "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    report = read_report(lake)
    read = sorted(Path(f["path"]).name for f in report["inputs"]["files"])
    assert (
        len(read) == 7 and "20240101T000000Z-packed.json.gz" in read and "20240101T000000Z-UPPER.JSON" in read
    )
    assert [Path(s["path"]).name for s in report["inputs"]["skipped"]] == ["notes.txt"]
    assert "skipped    1 file(s): notes.txt" in result.stdout
    expected_launches = [
        "BOM",
        "ENV1",
        "ENV2",
        "GZ",
        "UPPER",
        "BLANK",
        "ODD",
        "LINE1",
        "LINE2",
        "LINE3",
        "NOCORES",
    ]
    assert {row[0] for row in lake_rows(spark, lake, "launches")} == {hid(name) for name in expected_launches}
    assert report["counts"] == {
        "input_records": 19,
        "launches": 11,
        "duplicates_collapsed": 0,
        "quarantined": 8,
        "launch_cores": 10,  # NOCORES has none, and its run completes
        "unknown_core_slots": 0,
        "same_time_conflicts": 0,  # the files share a fetch time, but no launch is in two of them
    }
    quarantine = lake_table(spark, lake, "quarantine").collect()
    by_rule = sorted((row.rule, row.record_id) for row in quarantine)
    assert by_rule == sorted(
        [
            ("date_utc_in_range", hid("ANCIENT")),
            ("id_format", CAFE.upper()),
            ("id_format", f" {CAFE} "),
            ("id_format", hid("LONG") * 20),
            ("text_fits_warehouse", hid("WIDE")),
            ("record_within_size", hid("HUGE")),
            ("json_nesting_within_limit", None),
            ("valid_json_object", hid("TWO1")),  # the line with two values side by side (the first named)
        ]
    )
    assert all(row.raw_record for row in quarantine)  # each kept as it came, for a person to look at
    assert_warehouse_mirrors_lake(spark, lake, warehouse)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("two-arrays.json", '[{"id": "a"}] [{"id": "b"}]', "holds more after its first JSON value"),
        ("trailing.json", '[{"id": "a"}] and more text', "holds more after its first JSON value"),
        ("utf16.json", '[{"id": "a"}]'.encode("utf-16"), "UTF-16 or UTF-32 text"),
        ("gzip-unnamed.json", gzip.compress(b"[]", mtime=0), "gzip-compressed but not named .gz"),
        ("at 06:00.json", "[]", "a local file name with a colon cannot be read"),
        ("broken.json", None, "a symbolic link to a file that does not exist"),
    ],
)
def test_a_refused_file_is_named_and_changes_nothing(spark, sample_copy, tmp_path, name, content, message):
    lake, warehouse = sample_copy
    inputs = tmp_path / "inputs"
    shutil.copytree(SAMPLE_DIR, inputs)
    if content is None:
        (inputs / name).symlink_to(tmp_path / "gone.json")
    else:
        (inputs / name).write_bytes(content.encode() if isinstance(content, str) else content)
    files, tables = (
        validated_files(lake),
        {t: lake_rows(spark, lake, t) for t in ("launches", "launch_cores")},
    )

    with pytest.raises(InputFileError) as error:
        run_in_process(spark, [inputs], lake, warehouse, "refused")

    assert name in str(error.value) and message in str(error.value)
    assert validated_files(lake) == files
    assert {t: lake_rows(spark, lake, t) for t in tables} == tables
    assert_warehouse_mirrors_lake(spark, lake, warehouse)


def test_the_job_refuses_with_one_paragraph_and_exit_2(sample_copy, tmp_path):
    lake, warehouse = sample_copy
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "launches.json").write_text('[{"id": "a"}] [{"id": "b"}]')

    result = spark_submit("--input", str(inputs), "--lake", str(lake), "--warehouse", str(warehouse))

    assert result.returncode == 2
    printed = result.stdout + result.stderr
    assert "launches.json: holds more after its first JSON value" in printed
    assert "Traceback" not in printed and "\tat org." not in printed


def mounted(path: Path, options: str) -> bool:
    """A small tmpfs at `path` (as root); False where this machine does not allow it."""
    path.mkdir(parents=True, exist_ok=True)
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )


@pytest.mark.parametrize("fault", ["read-only lake", "full disk"])
def test_a_lake_that_cannot_be_written_is_one_paragraph_and_exit_2(sample_run, tmp_path, fault):
    disk = tmp_path / "disk"
    if os.geteuid() != 0 or not mounted(disk, "size=50m" if fault == "read-only lake" else "size=160k"):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        lake = disk / "lake"
        if fault == "read-only lake":
            shutil.copytree(sample_run / "lake", lake)
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        before = validated_files(lake) if lake.exists() else {}
        newer = tmp_path / "20250101T000000Z-newer.json"
        newer.write_text(json.dumps([good("NEWER", 1)]))

        result = spark_submit(
            "--input",
            str(newer),
            str(SAMPLE_DIR),
            "--lake",
            str(lake),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
        )

        printed = result.stdout + result.stderr
        assert result.returncode == 2, printed[-3000:]
        expected = "cannot be written" if fault == "read-only lake" else "no space left on the disk"
        assert expected in printed and "Every lake table is at its last committed snapshot" in printed
        assert "Traceback" not in printed and "\tat org." not in printed
        assert (validated_files(lake) if lake.exists() else {}) == before or fault == "full disk"
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_a_malformed_or_mistyped_config_names_its_file_and_key(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(Path(__file__).resolve().parents[2] / "conf", conf)
    local = conf / "local.yaml"
    local.write_text(local.read_text().replace("lake: lake ", "lake: [lake, other] "))
    mistyped = spark_submit("--input", str(SAMPLE_DIR), env={"SPACEX_CONF_DIR": str(conf)})
    assert mistyped.returncode == 2
    assert f"{local}: `lake` must be a string, got list" in mistyped.stdout + mistyped.stderr

    local.write_text("env: local\nlake: 'unclosed\n")
    malformed = spark_submit("--input", str(SAMPLE_DIR), env={"SPACEX_CONF_DIR": str(conf)})
    assert malformed.returncode == 2
    assert f"{local}: not valid YAML at line" in malformed.stdout + malformed.stderr


def test_a_lake_and_warehouse_path_with_quotes_and_spaces(spark, tmp_path):
    lake, warehouse = tmp_path / "it's a lake", tmp_path / "it's.duckdb"
    result = spark_submit("--input", str(SAMPLE_DIR), "--lake", str(lake), "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stdout[-3000:]
    assert_warehouse_mirrors_lake(spark, lake, warehouse)


@pytest.mark.parametrize(
    "spec",
    [
        f"postgresql://loader:{SECRET}@127.0.0.1:1/spacex",
        f"postgresql://loader:{SECRET.replace('-', '%2D')}%3A@127.0.0.1:1/spacex",
        f"jdbc:postgresql://127.0.0.1:1/spacex?user=loader&password={SECRET}",
        f"host=127.0.0.1 user=loader password={SECRET}",
        f"postgersql://loader:{SECRET}@127.0.0.1/spacex",  # a typo'd scheme
    ],
)
def test_a_secret_in_a_warehouse_spec_is_printed_and_stored_nowhere(tmp_path, spec):
    lake = tmp_path / "lake"
    result = spark_submit("--input", str(SAMPLE_DIR), "--lake", str(lake), "--warehouse", spec)
    assert result.returncode == 2
    everything = [result.stdout, result.stderr]
    everything += [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    logs = Path("/tmp/spacex-launches")
    everything += [p.read_text(errors="replace") for p in logs.glob("*.log")] if logs.exists() else []
    assert not [text for text in everything if SECRET in text or SECRET.replace("-", "%2D") in text]
    assert "***" in result.stdout + result.stderr
