"""The transactional lake on real Spark, Iceberg and DuckDB: a backfill never reverts newer data, a small
run never shrinks the data set, a failed warehouse load is healed by the next run, a kill -9 at any
phase leaves every table all-old or all-new and a re-run finishes the work, two runs at once both land.
After each scenario the warehouse holds exactly what the lake committed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from spacex_launches.exceptions import WarehouseError
from spacex_launches.job.pipeline import LAUNCH_COLUMNS
from spacex_launches.lake import precedence
from spacex_launches.lake.history import slot_changes
from spacex_launches.lake.tables import Lakehouse
from spacex_launches.warehouse import read_sql
from spacex_launches.warehouse.duckdb import DuckDBLoader
from support.jobs import spark_submit, spark_submit_command
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
)
from support.paths import REPO, SAMPLE_DIR
from support.spark import lake_catalog

pytestmark = pytest.mark.integration
TABLES = ("launches", "launch_cores", "launch_sightings")


def lake_state(spark, lake: Path) -> dict[str, set[tuple]]:
    return {table: lake_rows(spark, lake, table) for table in TABLES}


def test_a_backfill_of_an_older_snapshot_keeps_the_newer_rows(spark, tmp_path):
    lake, warehouse, raw = tmp_path / "lake", tmp_path / "w.duckdb", tmp_path / "raw"
    newer = raw_file(
        raw,
        "20240102T060000",
        [
            launch(hid("L1"), "2020-03-01T20:45:00Z", [core("B2")], details="corrected"),
            launch(hid("L2"), "2021-03-01T20:45:00Z", []),
        ],
    )
    older = raw_file(
        raw,
        "20240101T060000",
        [
            launch(hid("L1"), "2020-03-01T20:45:00Z", [core("B1"), core("B3")], details="original"),
            launch(hid("L2"), "2021-03-01T20:45:00Z", [core("B4")]),  # the newer snapshot dropped this slot
            launch(hid("L3"), "2019-03-01T20:45:00Z", [core("B5")]),  # only the old snapshot knows L3
        ],
    )
    run_in_process(spark, [newer], lake, warehouse, "newer")
    backfill = run_in_process(spark, [older], lake, warehouse, "backfill")

    assert backfill["lake"]["launches"]["launches"] == {
        "insert": 1,
        "update": 0,
        "unchanged": 0,
        "kept_newer": 2,
        "same_time_conflicts": 0,
    }
    assert backfill["lake"]["launch_cores"]["launches"]["kept_newer"] == 2
    assert query(warehouse, "SELECT launch_id, details, ingested_at FROM spacex.launches ORDER BY 1") == [
        (hid("L1"), "corrected", datetime(2024, 1, 2, 6)),
        (hid("L2"), None, datetime(2024, 1, 2, 6)),
        (hid("L3"), None, datetime(2024, 1, 1, 6)),
    ]
    assert query(
        warehouse, "SELECT launch_id, core_position, core_id FROM spacex.launch_cores ORDER BY 1, 2"
    ) == [
        (hid("L1"), 0, hid("B2")),
        (hid("L3"), 0, hid("B5")),
    ]
    assert_warehouse_mirrors_lake(spark, lake, warehouse)
    # the same order of events in one run gives the same tables
    together, together_warehouse = tmp_path / "together", tmp_path / "together.duckdb"
    run_in_process(spark, [older, newer], together, together_warehouse, "both")
    assert lake_state(spark, together) == lake_state(spark, lake)


def test_a_small_run_after_the_full_data_set_keeps_the_data_set(spark, tmp_path):
    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    run_in_process(spark, [SAMPLE_DIR], lake, warehouse, "full")
    three = raw_file(
        tmp_path / "raw",
        "20240103T060000",
        [
            launch(f"5a3b1e00000000000000d00{i}", "2020-01-10T14:00:00Z", [core("5a3b1e0000000000000c0a01")])
            for i in (1, 2, 3)
        ],
    )
    report = run_in_process(spark, [three], lake, warehouse, "three")
    assert report["counts"]["launches"] == 3
    assert report["lake"]["launches"]["launches"]["update"] == 3
    assert len(lake_rows(spark, lake, "launches")) == 14
    assert query(warehouse, "SELECT COUNT(*) FROM spacex.launches") == [(14,)]
    assert_warehouse_mirrors_lake(spark, lake, warehouse)


@contextmanager
def duckdb_held_by_another_process(warehouse: Path):
    """Another process opens the DuckDB file, holding its single-writer lock until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(warehouse)!r}); print('held', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_a_failed_warehouse_load_is_healed_by_the_next_run(spark, tmp_path):
    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    run_in_process(spark, [SAMPLE_DIR], lake, warehouse, "first")
    newer = raw_file(
        tmp_path / "raw", "20240105T060000", [launch("NEW1", "2022-01-01T00:00:00Z", [core("C9")])]
    )
    with duckdb_held_by_another_process(warehouse):
        result = spark_submit(
            "--input",
            str(newer),
            "--lake",
            str(lake),
            "--warehouse",
            str(warehouse),
            "--run-id",
            "locked",
            env={"SPACEX_WAREHOUSE_LOCK_TIMEOUT_S": "2"},
        )
        assert result.returncode == 3, result.stdout[-3000:]
        assert "another process has held the file" in result.stdout + result.stderr
    # the lake committed the new launch; the warehouse did not get it
    assert (hid("NEW1"),) in {row[:1] for row in lake_rows(spark, lake, "launches")}
    assert query(warehouse, f"SELECT COUNT(*) FROM spacex.launches WHERE launch_id = '{hid('NEW1')}'") == [
        (0,)
    ]

    healed = run_in_process(spark, [SAMPLE_DIR], lake, warehouse, "next")  # nothing new to commit
    assert not healed["lake"]["launches"]["committed"]
    assert healed["warehouse"]["tables"]["launches"]["loaded"] is True
    assert query(warehouse, f"SELECT COUNT(*) FROM spacex.launches WHERE launch_id = '{hid('NEW1')}'") == [
        (1,)
    ]
    assert_warehouse_mirrors_lake(spark, lake, warehouse)


def test_a_locked_warehouse_waits_then_says_which_file(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with (
        duckdb_held_by_another_process(warehouse),
        pytest.raises(WarehouseError, match=r"w\.duckdb: another process has held the file for over 1 s"),
    ):
        DuckDBLoader(str(warehouse), lock_timeout=1).connect()
    DuckDBLoader(str(warehouse), lock_timeout=1).connect().close()  # released: it opens


# --- kill -9 at each phase ------------------------------------------------------------------------

NEW_SNAPSHOT = [
    launch(
        "5a3b1e00000000000000d001", "2020-01-10T14:00:00Z", [core("5a3b1e0000000000000c0b02")], details="fix"
    ),
    launch("5a3b1e00000000000000d099", "2023-05-01T00:00:00Z", [core("5a3b1e0000000000000c0a01", 6)]),
    launch("5a3b1e00000000000000d098", "bad date", [core("X")]),  # quarantined
]


@pytest.fixture(scope="module")
def kill_scenario(spark, tmp_path_factory):
    """The state before the interrupted run, and the tables a clean run leaves. (Each test builds its
    own lake: a copied one would be refused, its metadata naming the original's files.)"""
    work = tmp_path_factory.mktemp("kill")
    before_lake, before_warehouse = work / "before" / "lake", work / "before" / "w.duckdb"
    run_in_process(spark, [SAMPLE_DIR], before_lake, before_warehouse, "base")
    new_input = raw_file(work / "raw", "20240201T060000", NEW_SNAPSHOT)
    clean_lake = work / "clean" / "lake"
    run_in_process(spark, [SAMPLE_DIR], clean_lake, None, "base")
    run_in_process(spark, [new_input], clean_lake, None, "clean")
    return {
        "warehouse": before_warehouse,
        "input": new_input,
        "old": lake_state(spark, before_lake),
        "new": lake_state(spark, clean_lake),
    }


def run_until(marker: str, *args: str, timeout: float = 300) -> tuple[bool, str]:
    """Start the job with spark-submit and SIGKILL its whole process tree when `marker` appears in its
    output (the job's progress lines). Returns whether it was killed, and the output so far."""
    command, environment = spark_submit_command(*args)
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        cwd=REPO,
        start_new_session=True,
    )
    output, deadline = [], time.monotonic() + timeout
    try:
        for line in process.stdout:
            output.append(line)
            if marker in line:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return True, "".join(output)
            if time.monotonic() > deadline:
                break
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return False, "".join(output)


@pytest.mark.parametrize(
    ("marker", "same_run_id"),
    [
        ("read_parse_validate ...", True),  # while staging the records
        ("launches: committing", True),  # during the launches commit
        ("launches: committed", False),  # between the two tables' commits; healed by a new run id
        ("launch_cores: committing", True),
        ("warehouse: loading", True),  # during the warehouse transaction
    ],
)
def test_kill_9_leaves_every_table_old_or_new_and_a_rerun_heals(
    spark, tmp_path, kill_scenario, marker, same_run_id
):
    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    run_in_process(spark, [SAMPLE_DIR], lake, None, "base")
    shutil.copy(kill_scenario["warehouse"], warehouse)
    killed, output = run_until(
        marker,
        "--input",
        str(kill_scenario["input"]),
        "--lake",
        str(lake),
        "--warehouse",
        str(warehouse),
        "--run-id",
        "interrupted",
    )
    assert killed, output[-3000:]

    for table in TABLES:
        state = lake_rows(spark, lake, table)
        assert state in (kill_scenario["old"][table], kill_scenario["new"][table]), (
            f"{table} is mixed after {marker!r}"
        )
    in_warehouse = {table: query(warehouse, f"SELECT COUNT(*) FROM spacex.{table}")[0][0] for table in TABLES}
    assert in_warehouse in (
        {table: len(kill_scenario["old"][table]) for table in TABLES},
        {table: len(kill_scenario["new"][table]) for table in TABLES},
    )

    run_id = "interrupted" if same_run_id else "after-the-crash"
    healed = run_in_process(spark, [kill_scenario["input"]], lake, warehouse, run_id)
    assert healed["status"] == "succeeded"
    assert lake_state(spark, lake) == kill_scenario["new"]
    assert_warehouse_mirrors_lake(spark, lake, warehouse)
    quarantined = lake_table(spark, lake, "quarantine").filter(f"run_id = '{run_id}'").count()
    assert quarantined == 1  # a retried run replaces its own quarantine rows, never adds to them
    if same_run_id:
        assert not (lake / "_staging" / run_id).exists()


# --- two runs at once -----------------------------------------------------------------------------


def test_two_concurrent_runs_both_land_and_never_mix(spark, tmp_path):
    raw = tmp_path / "raw"
    first = raw_file(
        raw,
        "20240301T060000",
        [launch(f"C{i:03d}", f"20{10 + i % 12}-01-01T00:00:00Z", [core(f"A{i}")]) for i in range(60)],
    )
    second = raw_file(
        raw,
        "20240302T060000",
        [
            launch(f"C{i:03d}", f"20{10 + i % 12}-01-01T00:00:00Z", [core(f"B{i}"), core(f"B{i}x")])
            for i in range(30, 90)
        ],
    )
    # Either serial order is a correct outcome: they differ only in ingested_at of the launches both
    # snapshots hold with the same values (the first to land is the row's snapshot; the other a sighting).
    references = []
    for name, order in (("first-then-second", (first, second)), ("second-then-first", (second, first))):
        reference = tmp_path / name
        for position, source in enumerate(order):
            run_in_process(spark, [source], reference, None, f"{name}-{position}")
        references.append(lake_state(spark, reference))

    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    runs = []
    for source, run_id in ((first, "concurrent-1"), (second, "concurrent-2")):
        command, environment = spark_submit_command(
            "--input", str(source), "--lake", str(lake), "--warehouse", str(warehouse), "--run-id", run_id
        )
        runs.append(
            subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=environment,
                cwd=REPO,
            )
        )
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(output[-3000:] for output in outputs)
    assert lake_state(spark, lake) in references
    assert_warehouse_mirrors_lake(spark, lake, warehouse)


def test_a_commit_that_lost_to_a_concurrent_one_is_decided_again(spark, tmp_path):
    """Another run commits between this merge's decision and its commit: Iceberg refuses the commit
    (validated from the snapshot the decision read), and the merge decides again on the new state."""
    lake = tmp_path / "lake"
    run_in_process(
        spark,
        [raw_file(tmp_path / "raw", "20240101T000000", [launch(hid("L1"), "2020-01-01T00:00:00Z", [])])],
        lake,
        None,
        "seed",
    )
    lakehouse = Lakehouse(spark, lake_catalog(spark, lake))
    current = lakehouse.read("launches").drop("run_id")
    slow = current.withColumn("details", F.lit("slow")).withColumn("ingested_at", F.lit(datetime(2024, 2, 1)))
    fast = current.withColumn("details", F.lit("fast")).withColumn("ingested_at", F.lit(datetime(2024, 3, 1)))
    decisions = []

    def decide(held):
        if not decisions:  # the concurrent run commits its newer snapshot now
            lakehouse.merge(
                "launches", fast, lambda c: precedence.row_changes(fast, c, LAUNCH_COLUMNS), "fast"
            )
        decisions.append(1)
        return precedence.row_changes(slow, held, LAUNCH_COLUMNS)

    result = lakehouse.merge("launches", slow, decide, "slow")
    assert (result.attempts, result.committed, result.changes["kept_newer"]) == (2, False, 1)
    assert [row.details for row in lakehouse.read("launches").collect()] == ["fast"]


def test_history_shows_when_and_from_which_file_a_core_slot_changed(spark, tmp_path):
    lake, raw = tmp_path / "lake", tmp_path / "raw"
    first = raw_file(
        raw,
        "20240101T060000",
        [launch(hid("FH1"), "2020-03-01T20:45:00Z", [core("B1"), core("B2"), core("C1")])],
    )
    second = raw_file(
        raw, "20240102T060000", [launch(hid("FH1"), "2020-03-01T20:45:00Z", [core("B1"), core("B9", 2)])]
    )
    third = raw_file(
        raw, "20240103T060000", [launch(hid("FH1"), "2020-03-01T20:45:00Z", [core("B1"), core("B9", 2)])]
    )
    for run_id, source in (("first", first), ("second", second), ("third", third)):
        run_in_process(spark, [source], lake, None, run_id)

    changes = slot_changes(Lakehouse(spark, lake_catalog(spark, lake)), hid("FH1"))
    seen = [(c.run_id, c.core_position, c.change, c.old_core, c.new_core, c.other_changes) for c in changes]
    assert seen == [
        ("first", 0, "added", None, hid("B1"), ""),
        ("first", 1, "added", None, hid("B2"), ""),
        ("first", 2, "added", None, hid("C1"), ""),
        ("second", 1, "changed", hid("B2"), hid("B9"), "core_flight: 1 -> 2, reused: False -> True"),
        ("second", 2, "removed", hid("C1"), None, ""),
    ]  # the third run only confirmed the slots (launch_sightings): no commit, no refresh
    assert changes[3].source_file.endswith(second.name) and changes[3].snapshot_time == datetime(
        2024, 1, 2, 6
    )
    with_refreshes = slot_changes(Lakehouse(spark, lake_catalog(spark, lake)), hid("FH1"), refreshes=True)
    refreshed = [(c.run_id, c.core_position) for c in with_refreshes if c.change == "refreshed"]
    assert refreshed == [("second", 0)]  # slot 0 moved to the second snapshot with its set

    command, environment = spark_submit_command(
        "--launch", hid("FH1"), "--lake", str(lake), script="launch_history.py"
    )
    printed = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO, timeout=600)
    assert printed.returncode == 0, printed.stderr[-3000:]
    assert (
        f"{hid('B2')} -> {hid('B9')}" in printed.stdout
        and second.name in printed.stdout
        and "(5 changes)" in printed.stdout
    )


def test_staging_left_by_a_run_nobody_retried_is_removed_after_a_day(spark, tmp_path):
    lake = tmp_path / "lake"
    dead, live = lake / "_staging" / "dead-run" / "records", lake / "_staging" / "live-run" / "records"
    for folder in (dead, live):
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_bytes(b"x")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(dead.parent, (two_days_ago, two_days_ago))
    run_in_process(spark, [SAMPLE_DIR], lake, None, "today")
    assert sorted(p.name for p in (lake / "_staging").iterdir()) == ["live-run"]  # a live run keeps its own


def test_cores_go_through_the_same_precedence_quarantine_and_load(spark, tmp_path):
    lake, warehouse, raw = tmp_path / "lake", tmp_path / "w.duckdb", tmp_path / "raw"
    launches = raw_file(
        raw / "launches", "20240101T000000", [launch("L1", "2020-01-01T00:00:00Z", [core(hid("B1"))])]
    )

    def booster(serial: str, status: str) -> dict:
        return {"id": hid("B1"), "serial": serial, "status": status, "block": 5, "reuse_count": 0}

    newer = raw_file(
        raw / "cores", "20240103T000000", [booster("B1001", "retired"), {"id": "bad", "serial": "X"}]
    )
    older = raw_file(raw / "cores", "20240102T000000", [booster("B1001-old", "active")])
    first = run_in_process(spark, [launches], lake, warehouse, "newer", cores_inputs=[str(newer)])
    assert first["cores"]["counts"] == {
        "input_records": 2,
        "cores": 1,
        "duplicates_collapsed": 0,
        "quarantined": 1,
    }
    quarantined = lake_table(spark, lake, "quarantine").filter("run_id = 'newer'").collect()
    assert [(row.dataset, row.rule, row.record_id) for row in quarantined] == [("cores", "id_format", "bad")]

    backfill = run_in_process(spark, [launches], lake, warehouse, "older", cores_inputs=[str(older)])
    assert backfill["lake"]["cores"]["launches"]["kept_newer"] == 1
    assert query(warehouse, "SELECT core_id, serial, status FROM spacex.cores") == [
        (hid("B1"), "B1001", "retired")
    ]
    assert query(warehouse, read_sql("max_core_reuse.sql"))[0][:2] == (
        hid("B1"),
        "B1001",
    )  # the serial beside the id
    assert_warehouse_mirrors_lake(spark, lake, warehouse)
