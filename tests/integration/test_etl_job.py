"""The Spark job end to end: real files in, validated Iceberg tables + quarantine + DuckDB out, checked
by querying what it wrote."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from spacex_launches.common.settings import load_settings
from support.jobs import spark_submit
from support.lake import (
    answers,
    core,
    hid,
    lake_table,
    launch,
    query,
    read_report,
    run_in_process,
    table_dump,
    validated_files,
    write_json,
)
from support.paths import REPO, SAMPLE_DIR
from support.spark import lake_catalog

pytestmark = pytest.mark.integration


def test_real_snapshot_end_to_end_through_spark_submit(snapshot_run):
    lake, warehouse = snapshot_run / "lake", snapshot_run / "launches.duckdb"
    assert "SUCCEEDED" in (snapshot_run / "job.out").read_text()

    assert query(warehouse, "SELECT COUNT(*), COUNT(DISTINCT launch_id) FROM spacex.launches") == [(205, 205)]
    assert query(warehouse, "SELECT COUNT(*) FROM spacex.launch_cores") == [(215,)]
    assert query(warehouse, "SELECT COUNT(*) FROM spacex.launch_cores WHERE core_id IS NULL") == [(19,)]
    most_reused, quick_reflights = answers(warehouse)
    assert most_reused == [("5e9e28a7f3591817f23b2663", None, 13, 14)]  # no cores file: serial null
    assert len(quick_reflights) == 25
    assert len({row[0] for row in quick_reflights}) == 9
    assert all(row[1] is None and row[6] < 50 for row in quick_reflights)  # serial, gap_days

    report = read_report(lake)
    assert report["status"] == "succeeded"
    assert report["counts"]["input_records"] == 205
    assert report["conservation"]["holds"] is True
    assert set(report["durations_s"]) >= {"read_parse_validate", "commit", "warehouse_load", "total"}


def test_an_analyst_opens_the_default_warehouse_file_with_duckdb(sample_run):
    """DuckDB names a file's catalog after the file: were the default warehouse (conf/local.yaml, the
    Makefile's WAREHOUSE) called spacex.duckdb, `spacex.launches` would be an ambiguous reference."""
    default = Path(load_settings("local", environ={}).warehouse.duckdb_path)
    assert default.stem != "spacex" and f"WAREHOUSE ?= {default}\n" in (REPO / "Makefile").read_text()
    assert (sample_run / default.name).is_file()  # the session's run, named as a default run names it

    with duckdb.connect(str(sample_run / default.name), read_only=True) as connection:
        assert connection.execute("select count(*) from spacex.launches").fetchall() == [(14,)]


def test_sample_run_quarantines_the_bad_record_and_keeps_the_later_copy(spark, sample_run):
    lake, warehouse = sample_run / "lake", sample_run / "launches.duckdb"
    printed = (sample_run / "job.out").read_text()
    assert "16 in = 14 launches + 1 duplicates collapsed + 1 quarantined" in printed
    assert "boosters   5 /cores records = 5 cores + 0 duplicates collapsed + 0 quarantined" in printed

    report = read_report(lake)
    assert report["counts"] == {
        "input_records": 16,
        "launches": 14,
        "duplicates_collapsed": 1,
        "quarantined": 1,
        "launch_cores": 18,
        "unknown_core_slots": 2,
        "same_time_conflicts": 0,
    }
    assert report["rule_failures"]["valid_json_object"] == 1
    assert [f["format"] for f in report["inputs"]["files"]] == ["json_document", "json_lines"]

    quarantine = lake_table(spark, lake, "quarantine").select("rule", "source_file", "raw_record").collect()
    assert len(quarantine) == 1
    rule, source_file, raw = quarantine[0]
    assert rule == "valid_json_object"
    assert source_file.endswith("20240102T060000Z-api-v4.jsonl")
    assert raw.startswith('{"id": "5a3b1e00000000000000d015"')

    # launch 8 appears in both snapshots: the later (v4) copy wins
    assert query(
        warehouse,
        "SELECT success, details, source_api_version FROM spacex.launches "
        "WHERE launch_id = '5a3b1e00000000000000d008'",
    ) == [(True, "Payload deployed nominally (corrected report)", "v4")]
    assert query(
        warehouse, "SELECT source_api_version, COUNT(*) FROM spacex.launches GROUP BY 1 ORDER BY 1"
    ) == [
        ("v4", 3),
        ("v5", 11),  # all three launches of the v4 file, though only one carries crew ids
    ]
    most_reused, quick_reflights = answers(warehouse)
    assert most_reused == [("5a3b1e0000000000000c0a01", "B9001", 4, 5)]  # the serial from sample/cores
    assert {(row[0], row[1]) for row in quick_reflights} == {
        ("5a3b1e0000000000000c0a01", "B9001"),
        ("5a3b1e0000000000000c0b02", "B9002"),
        ("5a3b1e0000000000000c0c03", None),  # a core the cores file lacks keeps its rows, serial unknown
    }
    assert sorted({row[0] for row in quick_reflights}) == [
        "5a3b1e0000000000000c0a01",
        "5a3b1e0000000000000c0b02",
        "5a3b1e0000000000000c0c03",
    ]
    assert len(quick_reflights) == 4
    catalog = lake_catalog(spark, lake)
    partitions = spark.sql(
        f"SELECT partition.date_utc_year FROM {catalog.table('launches')}.partitions"
    ).collect()
    assert sorted(row[0] + 1970 for row in partitions) == [2020, 2021]  # one file per launch year
    # the contract's ingested_at is each snapshot's fetch time, from the raw-zone file name
    assert query(warehouse, "SELECT DISTINCT ingested_at FROM spacex.launches ORDER BY 1") == [
        (datetime(2024, 1, 1, 6),),
        (datetime(2024, 1, 2, 6),),
    ]


def test_rerun_of_the_same_input_changes_nothing(spark, tmp_path):
    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    first = run_in_process(spark, [SAMPLE_DIR], lake, warehouse, "run-1")
    before = table_dump(warehouse)
    snapshots = first["lake_snapshots"]
    second = run_in_process(spark, [SAMPLE_DIR], lake, warehouse, "run-2")
    assert table_dump(warehouse) == before
    # the same snapshots merged again: no commit, and the warehouse is already there
    assert second["lake_snapshots"] == snapshots
    assert {table: outcome["committed"] for table, outcome in second["lake"].items()} == {
        "quarantine": True,  # the second run's own quarantine partition
        "launches": False,
        "launch_cores": False,
        "launch_sightings": False,  # the same snapshot: no newer sighting
    }
    assert second["lake"]["launches"]["launches"]["unchanged"] == 14
    assert second["warehouse"]["up_to_date_before"] is True
    assert first["counts"] == second["counts"]


def test_later_snapshot_moves_a_core_slot_and_drops_a_stale_one(spark, tmp_path):
    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    first = write_json(
        tmp_path / "in1" / "ingest_date=2024-01-01" / "20240101T000000Z-0000000000000001.json",
        [
            launch(hid("FH1"), "2020-03-01T20:45:00Z", [core("B1"), core("B2"), core("C1")]),
            launch(hid("F9"), "2020-04-01T20:45:00Z", [core("A1")]),
        ],
    )
    run_in_process(spark, [first], lake, warehouse, "run-1")
    corrected = write_json(
        tmp_path / "in2" / "ingest_date=2024-01-02" / "20240102T000000Z-0000000000000002.json",
        [
            launch(hid("FH1"), "2020-03-01T20:45:00Z", [core("B1"), core("B9")]),
        ],
    )
    run_in_process(spark, [corrected], lake, warehouse, "run-2")
    assert query(
        warehouse, "SELECT launch_id, core_position, core_id FROM spacex.launch_cores ORDER BY 1, 2"
    ) == [
        (hid("F9"), 0, hid("A1")),
        (hid("FH1"), 0, hid("B1")),
        (hid("FH1"), 1, hid("B9")),
    ]
    assert query(warehouse, "SELECT COUNT(*) FROM spacex.launches") == [(2,)]


def test_duplicates_across_two_snapshots_in_one_run(spark, tmp_path):
    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    raw = tmp_path / "raw"
    write_json(
        raw / "ingest_date=2024-01-01" / "20240101T000000Z-0000000000000001.json",
        [
            launch(hid("L1"), "2020-01-01T00:00:00Z", [core("A")], details="first"),
            launch(hid("L2"), "2020-02-01T00:00:00Z", [core("B")]),
        ],
    )
    same_time = [
        launch(hid("L1"), "2020-01-01T00:00:00Z", [core("A")], details="second"),
        launch(hid("L1"), "2020-01-01T00:00:00Z", [core("A")], details="third, the later line"),
    ]
    # the hash of the record's text as the split writes it (compact JSON)
    kept = max(same_time, key=lambda record: spark_hash(spark, json.dumps(record, separators=(",", ":"))))[
        "details"
    ]
    for order, lines in (("run-1", same_time), ("run-2", same_time[::-1])):
        lake, warehouse = tmp_path / order / "lake", tmp_path / order / "w.duckdb"
        write_json(
            raw / "ingest_date=2024-01-02" / "20240102T000000Z-0000000000000002.jsonl",
            "\n".join(json.dumps(x) for x in lines),
        )
        report = run_in_process(spark, [raw], lake, warehouse, order)
        assert report["counts"]["duplicates_collapsed"] == 2
        assert report["counts"]["launches"] == 2
        # two records of one fetch time: the greater record hash wins in either line order, with a warning
        assert report["counts"]["same_time_conflicts"] == 1
        assert any(hid("L1") in warning for warning in report["warnings"])
        assert query(warehouse, f"SELECT details FROM spacex.launches WHERE launch_id = '{hid('L1')}'") == [
            (kept,)
        ]


def spark_hash(spark, text: str) -> int:
    """The record_hash Spark gives a record's text (transforms.parse_launch_records)."""
    return spark.createDataFrame([(text,)], "t string").selectExpr("xxhash64(t)").first()[0]


def test_quarantine_reasons_and_conservation_of_counts(spark, tmp_path):
    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    good = [launch(f"G{i}", "2020-01-01T00:00:00Z", [core(f"C{i}")]) for i in range(5)]
    bad = [
        launch(None, "2020-01-01T00:00:00Z", [core("X")]),
        launch("B1", "yesterday", [core("X")]),
        launch("B2", "2020-01-01T00:00:00Z", [core("X")], flight_number=-3),
        launch("B3", "2020-01-01T00:00:00Z", "not-an-array"),
        launch("B4", "2020-01-01T00:00:00Z", [core("X", flight=0)]),
    ]
    lines = [json.dumps(x) for x in good + bad] + ['{"id": "B5", "truncated']
    source = write_json(tmp_path / "in" / "launches.jsonl", "\n".join([*lines, json.dumps(good[0])]))
    report = run_in_process(spark, [source], lake, warehouse, "run-q")
    assert report["counts"]["input_records"] == 12
    assert (
        report["counts"]["launches"],
        report["counts"]["duplicates_collapsed"],
        report["counts"]["quarantined"],
    ) == (5, 1, 6)
    assert report["conservation"]["holds"] is True
    rows = lake_table(spark, lake, "quarantine").filter("run_id = 'run-q'").collect()
    quarantine = {row.record_id or "<none>": row.rule for row in rows}
    assert quarantine == {
        "<none>": quarantine["<none>"],
        hid("B1"): "date_utc_parses",
        hid("B2"): "flight_number_positive",
        hid("B3"): "fields_match_schema",
        hid("B4"): "core_flight_positive",
    }
    assert sorted(row.rule for row in rows if row.record_id is None) == ["id_present", "valid_json_object"]
    failures = {rule: n for rule, n in report["rule_failures"].items() if n}
    assert failures["cores_is_array"] == 1 and failures["valid_json_object"] == 1


@pytest.mark.parametrize(
    ("bad_name", "content", "message"),
    [
        (
            "truncated.json",
            '[{"id": "5a3b1e00000000000000d001", "flight_number": 1',
            "not valid JSON (truncated or malformed)",
        ),
        ("error-page.json", "<html><body>502 Bad Gateway</body></html>", "looks like HTML"),
        ("empty.jsonl", "", "file is empty"),
    ],
)
def test_whole_file_failure_changes_nothing_and_exits_non_zero(
    sample_copy, tmp_path, bad_name, content, message
):
    lake, warehouse = sample_copy
    validated_before, warehouse_before = validated_files(lake), table_dump(warehouse)

    inputs = tmp_path / "inputs"
    shutil.copytree(SAMPLE_DIR, inputs)
    (inputs / bad_name).write_text(content)
    failed = spark_submit("--input", str(inputs), "--lake", str(lake), "--warehouse", str(warehouse))

    assert failed.returncode == 2
    output = failed.stdout + failed.stderr  # spark-submit merges the driver's stderr into stdout
    assert message in output and bad_name in output
    assert validated_files(lake) == validated_before
    assert table_dump(warehouse) == warehouse_before
    assert not (lake / "_staging").exists() or not any((lake / "_staging").iterdir())
    report = read_report(lake)
    assert report["status"] == "failed" and bad_name in report["error"]


def test_empty_array_is_a_no_op_that_says_so(sample_copy, tmp_path):
    lake, warehouse = sample_copy
    before = table_dump(warehouse), validated_files(lake)
    empty = write_json(tmp_path / "empty" / "launches.json", "[]\n")
    result = spark_submit("--input", str(empty), "--lake", str(lake), "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "NO_OP" in result.stdout and "no launch records" in result.stdout
    assert (table_dump(warehouse), validated_files(lake)) == before
