"""Precedence by version (snapshot time, then record hash): which incoming launches replace what the
lake holds, on small frames."""

from __future__ import annotations

from datetime import datetime

from chispa import assert_df_equality

from spacex_launches.lake import precedence

T1, T2, T3 = datetime(2024, 1, 1), datetime(2024, 2, 1), datetime(2024, 3, 1)
D2020, D2021 = datetime(2020, 5, 1), datetime(2021, 5, 1)
LAUNCH = "launch_id string, name string, date_utc timestamp, ingested_at timestamp, record_hash bigint"
SLOT = (
    "launch_id string, core_position int, core_id string, date_utc timestamp, ingested_at timestamp, "
    "record_hash bigint"
)
SIGHTINGS = "launch_id string, last_seen_at timestamp, record_hash bigint"
CHANGES = "launch_id string, change string, same_time_conflict boolean, current_year int, incoming_year int"
SLOT_CHANGES = "launch_id string, change string, current_year int, incoming_year int"


def _hashed(rows) -> list[tuple]:
    """Rows without a record hash get 0 (every test record of one snapshot the same text)."""
    return [row if len(row) == 5 else (*row, 0) for row in rows]


def launches(spark, *rows):
    return spark.createDataFrame(_hashed(rows), LAUNCH)


def slots(spark, *rows):
    return spark.createDataFrame([row if len(row) == 6 else (*row, 0) for row in rows], SLOT)


def test_row_changes_by_version_then_values(spark):
    current = launches(
        spark,
        ("same", "a", D2020, T2),
        ("older_in_lake", "a", D2020, T1),
        ("newer_in_lake", "a", D2020, T3),
        ("corrected", "a", D2020, T2),
        ("tie_lost", "a", D2020, T2, 5),
        ("moved", "a", D2020, T1),
        ("unknown_in_lake", "a", D2020, None),
        ("confirmed", "a", D2020, T1),
    )
    sightings = spark.createDataFrame([("confirmed", T3, 0), ("older_in_lake", T1, 0)], SIGHTINGS)
    incoming = launches(
        spark,
        ("same", "a", D2020, T2),  # the same snapshot again: nothing to do
        ("older_in_lake", "a", D2020, T2),  # a later snapshot, same values: a confirmation, no rewrite
        ("newer_in_lake", "b", D2020, T2),  # a backfill: the lake's newer row stays
        ("corrected", "b", D2020, T2, 7),  # the same snapshot time, another record: the greater hash wins
        ("tie_lost", "b", D2020, T2, 3),  # ... and the smaller one loses, in whichever order they come
        ("moved", "a", D2021, T2),  # the launch date moved to another year
        ("unknown_in_lake", "b", D2020, T1),  # any known time beats an unknown one
        ("confirmed", "b", D2020, T2),  # older than the lake's last sighting (T3) of the launch
        ("new", "a", D2021, None),
    )
    changes = precedence.row_changes(incoming, current, ["name", "date_utc"], sightings=sightings)
    expected = spark.createDataFrame(
        [
            ("same", "unchanged", False, 2020, 2020),
            ("older_in_lake", "unchanged", False, 2020, 2020),
            ("newer_in_lake", "kept_newer", False, 2020, 2020),
            ("corrected", "update", True, 2020, 2020),
            ("tie_lost", "kept_newer", True, 2020, 2020),
            ("moved", "update", False, 2020, 2021),
            ("unknown_in_lake", "update", False, 2020, 2020),
            ("confirmed", "kept_newer", False, 2020, 2020),
            ("new", "insert", False, None, 2021),
        ],
        CHANGES,
    )
    assert_df_equality(changes, expected, ignore_row_order=True, ignore_nullable=True)
    counts, years = precedence.change_summary(changes)
    assert counts == {
        "insert": 1,
        "update": 3,
        "unchanged": 2,
        "kept_newer": 3,
        "same_time_conflicts": 2,
    }
    assert years == [2020, 2021]  # the kept and unchanged launches' years are not rewritten


def test_sightings_advance_only_to_a_newer_version(spark):
    current = spark.createDataFrame([("a", T2, 0), ("b", T2, 0), ("c", T2, 5)], SIGHTINGS)
    incoming = spark.createDataFrame([("a", T3, 0), ("b", T1, 0), ("c", T2, 3), ("d", T1, 0)], SIGHTINGS)
    changes = precedence.sighting_changes(incoming, current)
    assert {row.launch_id: row.change for row in changes.collect()} == {
        "a": "update",
        "b": "unchanged",
        "c": "unchanged",
        "d": "insert",
    }


def test_slot_sets_are_replaced_together_and_never_by_an_older_launch_record(spark):
    current_slots = slots(
        spark,
        ("same", 0, "A", D2020, T2),
        ("swapped", 0, "A", D2020, T1),
        ("swapped", 1, "B", D2020, T1),
        ("dropped", 0, "A", D2020, T1),
        ("dropped", 1, "B", D2020, T1),
        ("backfill", 0, "A", D2020, T3),
    )
    current_launches = launches(
        spark,
        ("same", "x", D2020, T2),
        ("swapped", "x", D2020, T2),  # the launch row was already committed by this snapshot
        ("dropped", "x", D2020, T1),
        ("backfill", "x", D2020, T3),
        ("emptied", "x", D2020, T3),  # a newer record without cores: no slot row carries T3
    )
    incoming_launches = launches(
        spark,
        ("same", "x", D2020, T2),
        ("swapped", "x", D2020, T2),
        ("dropped", "x", D2020, T2),
        ("backfill", "x", D2020, T1),
        ("emptied", "x", D2020, T1),
        ("new", "x", D2021, T2),
        ("no_cores", "x", D2021, T2),
    )
    incoming_slots = slots(
        spark,
        ("same", 0, "A", D2020, T2),
        ("swapped", 0, "B", D2020, T2),
        ("swapped", 1, "A", D2020, T2),
        ("dropped", 0, "A", D2020, T2),
        ("backfill", 0, "Z", D2020, T1),
        ("emptied", 0, "Z", D2020, T1),
        ("new", 0, "C", D2021, T2),
    )
    changes = precedence.slot_set_changes(
        incoming_slots,
        incoming_launches,
        current_slots,
        current_launches,
        ["core_id", "date_utc"],
    )
    expected = spark.createDataFrame(
        [
            ("same", "unchanged", 2020, 2020),
            ("swapped", "update", 2020, 2020),
            ("dropped", "update", 2020, 2020),
            ("backfill", "kept_newer", 2020, 2020),
            ("emptied", "kept_newer", None, 2020),
            ("new", "insert", None, 2021),
            ("no_cores", "unchanged", None, 2021),
        ],
        SLOT_CHANGES,
    )
    assert_df_equality(changes, expected, ignore_row_order=True, ignore_nullable=True)

    _, years = precedence.change_summary(changes)
    rewritten = precedence.rewritten_partitions(current_slots, incoming_slots, changes, years)
    expected_rows = slots(
        spark,
        ("same", 0, "A", D2020, T2),  # untouched, but in a rewritten year: carried over as it was
        ("swapped", 0, "B", D2020, T2),
        ("swapped", 1, "A", D2020, T2),
        ("dropped", 0, "A", D2020, T2),  # slot 1 is gone with the newer record
        ("backfill", 0, "A", D2020, T3),
        ("new", 0, "C", D2021, T2),
    )
    assert_df_equality(rewritten, expected_rows, ignore_row_order=True, ignore_nullable=True)


def test_rewrite_keeps_only_the_touched_years_and_moves_a_launch_between_them(spark):
    current = launches(
        spark, ("a", "x", D2020, T1), ("b", "x", D2020, T1), ("c", "x", datetime(2019, 1, 1), T1)
    )
    incoming = launches(spark, ("a", "x", D2021, T2))
    changes = precedence.row_changes(incoming, current, ["name", "date_utc"])
    counts, years = precedence.change_summary(changes)
    assert (counts["update"], years) == (1, [2020, 2021])
    rewritten = precedence.rewritten_partitions(current, incoming, changes, years)
    # 2019 is not rewritten, so "c" is not part of the overwrite (and stays in the table)
    assert_df_equality(
        rewritten,
        launches(spark, ("a", "x", D2021, T2), ("b", "x", D2020, T1)),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_nothing_changed_means_no_years_to_rewrite(spark):
    rows = launches(spark, ("a", "x", D2020, T1))
    counts, years = precedence.change_summary(precedence.row_changes(rows, rows, ["name"]))
    assert (counts, years) == (
        {"insert": 0, "update": 0, "unchanged": 1, "kept_newer": 0, "same_time_conflicts": 0},
        [],
    )
