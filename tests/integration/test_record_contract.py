"""The record contract through the real pipeline (Spark, Iceberg, DuckDB and PostgreSQL): nothing the
API sends is changed or lost silently. Repeated keys and text no warehouse can store are quarantined
by name, fetch times from the future are refused before anything is committed, a launch the API stops
listing is named, records of the same fetch time are decided the same way in either order, and a
refetch of unchanged data rewrites nothing while an older backfill still loses."""

from __future__ import annotations

import json

import pytest

from spacex_launches import contract
from spacex_launches.common.settings import Settings
from spacex_launches.exceptions import InputFileError
from spacex_launches.warehouse.postgres import PostgresLoader
from support.lake import (
    assert_warehouse_mirrors_lake,
    core,
    hid,
    lake_rows,
    lake_table,
    launch,
    query,
    raw_file,
    run_in_process,
    warehouse_rows,
    write_json,
)

pytestmark = pytest.mark.integration


def compact(record: dict) -> str:
    """JSON as Spark writes a record it splits from a file: the quarantine keeps this text as it was."""
    return json.dumps(record, separators=(",", ":"))


def good(name: str, day: int, **fields) -> dict:
    return launch(name, f"2021-02-{day:02d}T12:00:00Z", [core(f"B{day}")], **fields)


def test_repeated_keys_at_three_depths_are_quarantined_and_take_no_launch_with_them(spark, tmp_path):
    victim = good("VICTIM", 1)
    text = compact(good("DUPID", 2))
    lines = [
        compact(victim),
        text[:-1] + f',"id":"{victim["id"]}"}}',  # a second id: another launch's
        compact(good("DUPCORE", 3)).replace('"flight":1,', f'"flight":1,"core":"{hid("X")}",', 1),
        compact(good("DUPDEEP", 4, links={"patch": {"small": "a"}})).replace(
            '"small":"a"', '"small":"a","small":"b"'
        ),
    ]
    source = write_json(tmp_path / "in" / "20240301T000000Z-aaaa.jsonl", "\n".join(lines))
    report = run_in_process(spark, [source], tmp_path / "lake", tmp_path / "w.duckdb", "dup")
    assert report["rule_failures"]["no_duplicate_keys"] == 3
    assert report["counts"] | {"same_time_conflicts": 0} == {
        "input_records": 4,
        "launches": 1,
        "duplicates_collapsed": 0,
        "quarantined": 3,
        "launch_cores": 1,
        "unknown_core_slots": 0,
        "same_time_conflicts": 0,
    }
    # the launch whose id the first bad record repeated is whole and under its own values
    assert query(tmp_path / "w.duckdb", "SELECT launch_id, name FROM spacex.launches") == [
        (victim["id"], "VICTIM")
    ]
    quarantine = lake_table(spark, tmp_path / "lake", "quarantine").collect()
    assert {row.rule for row in quarantine} == {"no_duplicate_keys"}
    assert sorted(row.raw_record for row in quarantine) == sorted(lines[1:])  # kept exactly as sent


def test_text_no_warehouse_can_store_is_quarantined_so_duckdb_and_postgresql_agree(spark, tmp_path, database):
    good_line = compact(good("GOOD", 1)).encode()
    nul = compact(good("NUL", 2, details="PLACE")).replace("PLACE", r"before\u0000after").encode()
    surrogate = compact(good("SURR", 3, details="PLACE")).replace("PLACE", r"\ud800").encode()
    invalid = compact(good("BYTES", 4, details="PLACE")).encode().replace(b"PLACE", b"caf\xe9")
    source = tmp_path / "in" / "20240301T000000Z-bbbb.jsonl"
    source.parent.mkdir(parents=True)
    # a file whose first 64 KiB are not UTF-8 is refused by name (another encoding: docs/running.md);
    # invalid bytes further on are one record's
    padding = [compact(launch(f"P{i}", "2021-03-01T12:00:00Z", [core(f"P{i}")])).encode() for i in range(300)]
    source.write_bytes(b"\n".join([good_line, nul, surrogate, *padding, invalid]) + b"\n")

    duckdb_lake, duckdb = tmp_path / "lake-duckdb", tmp_path / "w.duckdb"
    report = run_in_process(spark, [source], duckdb_lake, duckdb, "text-duckdb")
    pg_report = run_in_process(spark, [source], tmp_path / "lake-pg", database, "text-pg")
    for run in (report, pg_report):
        assert run["status"] == "succeeded"
        assert run["rule_failures"]["text_storable"] == 3
        assert run["counts"]["launches"] == 301
    postgres = PostgresLoader.from_spec(database, Settings())
    for table in ("launches", "launch_cores"):
        columns = ", ".join(contract.column_names(table))
        assert set(postgres.query(f"SELECT {columns} FROM spacex.{table}")[1]) == warehouse_rows(
            duckdb, table
        )
    raw = {row.raw_record for row in lake_table(spark, duckdb_lake, "quarantine").collect()}
    assert nul.decode() in raw  # as sent, the escape and all
    # an unpaired surrogate is kept as the six characters \ud800 (Spark's split would make it "?")
    assert surrogate.decode().replace("\\ud800", "\\\\ud800") in raw


def test_fetch_times_from_the_future_are_refused_before_anything_is_committed(spark, tmp_path):
    lake = tmp_path / "lake"
    first = raw_file(tmp_path / "raw", "20240101T060000", [good("L1", 1)])
    run_in_process(spark, [first], lake, None, "first")
    before = lake_rows(spark, lake, "launches")

    future = raw_file(tmp_path / "raw", "20991231T000000", [good("L1", 1, details="from the future")])
    with pytest.raises(InputFileError, match=r"20991231T000000Z.*later than now") as by_name:
        run_in_process(spark, [future], lake, None, "future-name")
    assert str(future) in str(by_name.value)

    export = write_json(tmp_path / "exports" / "launches.json", [good("L1", 1, details="exported")])
    (tmp_path / "exports" / "launches.manifest.json").write_text(
        json.dumps({"fetched_at": "2099-01-01T00:00:00+00:00"})
    )
    with pytest.raises(InputFileError, match=r"manifest's fetched_at.*later than now"):
        run_in_process(spark, [export], lake, None, "future-manifest")
    assert lake_rows(spark, lake, "launches") == before


def test_a_launch_the_api_stops_listing_is_named_and_kept(spark, tmp_path):
    lake, warehouse, raw = tmp_path / "lake", tmp_path / "w.duckdb", tmp_path / "raw"
    run_in_process(
        spark, [raw_file(raw, "20240101T060000", [good("L1", 1), good("GONE", 2)])], lake, warehouse, "a"
    )
    later = run_in_process(spark, [raw_file(raw, "20240102T060000", [good("L1", 1)])], lake, warehouse, "b")
    assert later["not_listed"]["launch_ids"] == [hid("GONE")]
    assert later["not_listed"]["complete_snapshot"] == "2024-01-02T06:00:00+00:00"
    assert query(warehouse, "SELECT COUNT(*) FROM spacex.launches") == [(2,)]  # kept: docs/lake.md says why
    assert (
        query(
            warehouse, f"SELECT last_seen_at FROM spacex.launch_sightings WHERE launch_id = '{hid('GONE')}'"
        )[0][0].day
        == 1
    )
    # an export outside the raw zone is not a complete listing: nothing is called missing
    export = write_json(tmp_path / "exports" / "some.json", [good("L1", 1)])
    partial = run_in_process(spark, [export], lake, warehouse, "c")
    assert partial["not_listed"] is None


def test_records_of_the_same_fetch_time_are_decided_alike_in_either_run_order(spark, tmp_path):
    raw = tmp_path / "raw" / "ingest_date=2024-01-01"
    one = write_json(raw / "20240101T060000Z-1111111111.json", [good("L1", 1, details="one")])
    two = write_json(raw / "20240101T060000Z-2222222222.json", [good("L1", 1, details="two")])
    states, warnings = [], []
    for name, order in (("one-two", (one, two)), ("two-one", (two, one))):
        lake = tmp_path / name
        reports = [
            run_in_process(spark, [source], lake, None, f"{name}-{i}") for i, source in enumerate(order)
        ]
        states.append({table: lake_rows(spark, lake, table) for table in ("launches", "launch_cores")})
        warnings.append(reports[1]["counts"]["same_time_conflicts"])
    assert states[0] == states[1]
    assert warnings == [1, 1]  # the second run of each order saw the disagreement


def test_unchanged_refetches_commit_nothing_and_an_older_backfill_still_loses(spark, tmp_path):
    lake, warehouse, raw = tmp_path / "lake", tmp_path / "w.duckdb", tmp_path / "raw"
    data = [good("L1", 1), good("L2", 2)]
    first = run_in_process(spark, [raw_file(raw, "20240101T060000", data)], lake, warehouse, "day-1")
    for day in (2, 3, 4):
        refetch = run_in_process(
            spark, [raw_file(raw, f"2024010{day}T060000", data)], lake, warehouse, f"day-{day}"
        )
        for table in ("launches", "launch_cores"):
            assert refetch["lake"][table]["committed"] is False
            assert refetch["lake_snapshots"][table] == first["lake_snapshots"][table]
        assert refetch["lake"]["launch_sightings"]["committed"] is True
    # fetched on day 3 but older than the last confirmation (day 4): it must not revert the lake
    backfill = run_in_process(
        spark,
        [raw_file(raw, "20240103T070000", [good("L1", 1, details="stale")])],
        lake,
        warehouse,
        "backfill",
    )
    assert backfill["lake"]["launches"]["launches"]["kept_newer"] == 1
    correction = run_in_process(
        spark, [raw_file(raw, "20240105T060000", [good("L1", 1, details="fixed")])], lake, warehouse, "fix"
    )
    assert correction["lake"]["launches"]["launches"]["update"] == 1
    assert query(warehouse, "SELECT launch_id, details FROM spacex.launches ORDER BY 1") == [
        (hid("L1"), "fixed"),
        (hid("L2"), None),
    ]
    assert_warehouse_mirrors_lake(spark, lake, warehouse)
