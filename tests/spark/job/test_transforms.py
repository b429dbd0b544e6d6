"""Unit tests of the pure transforms and quality rules on small inline DataFrames."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spacex_launches.job import quality, schemas, transforms
from spacex_launches.lake.schemas import LAUNCH_CORES, LAUNCHES
from support.lake import hid

LANDED = datetime(2024, 1, 1, 6, 0, 0)


def launch(launch_id="L1", **fields) -> dict:
    record = {
        "id": hid(launch_id),
        "flight_number": 1,
        "name": "Demo",
        "date_utc": "2020-03-01T20:45:00.000Z",
        "date_precision": "hour",
        "upcoming": False,
        "success": True,
        "rocket": "R1",
        "launchpad": "P1",
        "details": None,
        "crew": [],
        "cores": [{"core": hid("C1"), "flight": 1, "reused": False}],
        "links": {"webcast": None},  # unknown fields are ignored
    }
    record.update(fields)
    return record


def raw_records(spark, *texts, source_file="file:/lake/raw/a.json", snapshot_time=LANDED):
    rows = [
        (
            source_file,
            0,
            position,
            snapshot_time,
            text if isinstance(text, str) else json.dumps(text),
            True,
            None,
            False,
        )
        for position, text in enumerate(texts)
    ]
    return spark.createDataFrame(rows, schemas.RAW_RECORDS)


def checked(spark, *texts, **kwargs):
    return (
        raw_records(spark, *texts, **kwargs)
        .transform(transforms.parse_launch_records)
        .transform(quality.with_failed_rules)
    )


def failed_rules(spark, *texts) -> list[list[str]]:
    return [row.failed_rules for row in checked(spark, *texts).orderBy("source_row").collect()]


def test_parse_keeps_typed_fields_and_utc_timestamp(spark):
    parsed = raw_records(spark, launch()).transform(transforms.parse_launch_records)
    row = parsed.collect()[0]
    assert row.id == hid("L1")
    assert row.flight_number == 1
    assert row.launch_ts == datetime(2020, 3, 1, 20, 45)  # session time zone is UTC
    assert row.cores[0].core == hid("C1")
    assert row[schemas.CORRUPT_RECORD] is None


def test_offset_timestamps_are_converted_to_utc(spark):
    parsed = raw_records(spark, launch(date_utc="2020-03-02T08:45:00+12:00")).transform(
        transforms.parse_launch_records
    )
    assert parsed.collect()[0].launch_ts == datetime(2020, 3, 1, 20, 45)


def test_valid_record_fails_no_rule(spark):
    assert failed_rules(spark, launch()) == [[]]


@pytest.mark.parametrize(
    ("record", "rule"),
    [
        (launch(id=None), "id_present"),
        (launch(id="  "), "id_present"),
        (launch(flight_number=0), "flight_number_positive"),
        (launch(flight_number=None), "flight_number_positive"),
        (launch(date_utc="not a date"), "date_utc_parses"),
        (launch(date_utc=None), "date_utc_parses"),
        (launch(date_precision="week"), "date_precision_known"),
        (launch(upcoming=None), "upcoming_is_boolean"),
        (launch(cores=None), "cores_is_array"),
        (launch(cores=[{"core": hid("C1"), "flight": 0}]), "core_flight_positive"),
        (launch(id="L1"), "id_format"),
        (launch(id=hid("L1").upper()), "id_format"),  # a near-duplicate by case is not the same launch
        (launch(id=f" {hid('L1')}"), "id_format"),  # nor by surrounding whitespace
        (launch(id=hid("L1") + "00"), "id_format"),  # an over-long id blocks no load
        (launch(date_utc="1899-12-31T00:00:00Z"), "date_utc_in_range"),  # Parquet's ancient dates
        (launch(date_utc="2100-01-01T00:00:00Z"), "date_utc_in_range"),
        (launch(name="é" * 129), "text_fits_warehouse"),  # 129 characters, 258 bytes: VARCHAR(256)
        (launch(details="x" * 65536), "text_fits_warehouse"),
        (launch(cores=[{"core": hid("C1"), "landpad": "x" * 65, "flight": 1}]), "text_fits_warehouse"),
        (launch(cores=[{"core": hid("C1"), "landing_type": "x" * 33}]), "text_fits_warehouse"),
        # the record contract: what the API sent is kept as sent, or the record is quarantined
        (launch(cores=[{"core": "B1049", "flight": 1}]), "core_id_format"),  # a serial is no core id
        (launch(cores=[{"core": hid("C1")[:-1] + "A", "flight": 1}]), "core_id_format"),  # upper case
        (launch(cores=[None]), "core_entries_present"),
        (launch(cores=[{}]), "core_entries_present"),
        (launch(cores=[None, {"core": hid("C1"), "flight": 1}]), "core_entries_present"),  # would shift
        (launch(date_utc="2020-03-01", date_precision="hour"), "date_utc_matches_precision"),
        (launch(date_utc="2020-03-01T20:45:00.123456789Z"), "date_utc_within_microseconds"),
        (launch(details="x" * (1024 * 1024)), "record_within_size"),
    ],
)
def test_each_rule_names_its_failure(spark, record, rule):
    assert failed_rules(spark, record) == [[rule]]


def test_wrong_types_fail_schema_rule_and_the_field_rule(spark):
    wrong_type = launch(flight_number="five")
    cores_not_array = launch(cores={"core": hid("C1")})
    assert failed_rules(spark, wrong_type, cores_not_array) == [
        ["fields_match_schema", "flight_number_positive"],
        ["fields_match_schema", "cores_is_array"],
    ]


def test_text_that_is_not_a_json_object_fails_only_valid_json_object(spark):
    assert failed_rules(spark, '{"id": "L1", "flight', "3", "[1, 2]") == [["valid_json_object"]] * 3


def test_a_record_nested_deeper_than_parsers_go_is_named_for_it(spark):
    deep = json.dumps(launch()).replace('"links": {', '"links": ' + '{"a": ' * 1200 + "{") + "}" * 1200
    # valid JSON (Python's own parser would recurse too deep to check it), too deep for Spark's parser
    assert failed_rules(spark, deep) == [["json_nesting_within_limit", "valid_json_object"]]


def test_a_record_over_the_size_limit_fails_its_text_rules_only(spark):
    huge = launch(details="x" * (25 * 1024 * 1024))
    assert failed_rules(spark, huge) == [["record_within_size"]]


def test_missing_optional_fields_become_null_and_pass(spark):
    minimal = {
        "id": hid("L1"),
        "flight_number": 7,
        "date_utc": "2021-01-01T00:00:00Z",
        "date_precision": "day",
        "upcoming": True,
        "cores": [],
    }
    row = checked(spark, minimal).collect()[0]
    assert row.failed_rules == []
    assert (row.success, row.rocket, row.details, row.crew) == (None, None, None, None)


def test_core_flight_null_is_allowed(spark):
    assert failed_rules(spark, launch(cores=[{"core": None, "flight": None}])) == [[]]


def test_a_date_unix_that_disagrees_with_date_utc_is_kept_as_sent_with_a_warning(spark):
    """The real API holds such launches (120 s apart): neither value is recomputed from the other."""
    [row] = checked(spark, launch(date_unix=1583095500 + 120)).collect()
    assert (row.failed_rules, row.warned_rules) == ([], ["date_unix_matches_date_utc"])
    assert (
        transforms.to_launches(checked(spark, launch(date_unix=1583095620))).first().date_unix == 1583095620
    )


def test_date_unix_as_sent_is_kept_within_a_second_of_date_utc(spark):
    sent = launch(date_utc="2020-03-01T20:45:00.600Z", date_unix=1583095501)
    row = transforms.to_launches(checked(spark, sent)).collect()[0]
    assert row.date_unix == 1583095501  # as the API sent it, not recomputed (1583095500)
    assert failed_rules(spark, sent) == [[]]


def test_a_repeated_key_at_any_depth_fails_only_the_text_rule(spark):
    base = json.dumps(launch())
    other = hid("L2")
    in_launch = base[:-1] + f', "id": "{other}"}}'  # the second id would win: another launch's
    in_core = base.replace('"flight": 1,', '"flight": 1, "core": "' + hid("C2") + '",', 1)
    in_nested = base.replace('"links": {"webcast": null}', '"links": {"patch": {"small": 1, "small": 2}}')
    in_core_of_array = base.replace('"crew": []', '"crew": [{"crew": "a", "role": "x", "role": "y"}]')
    assert failed_rules(spark, in_launch, in_core, in_nested, in_core_of_array) == [["no_duplicate_keys"]] * 4
    # the same key in sibling objects is no repetition
    siblings = launch(cores=[{"core": hid("C1"), "flight": 1}, {"core": hid("C2"), "flight": 1}])
    assert failed_rules(spark, siblings) == [[]]


# JSON text as it stands in the file (raw strings: one backslash is JSON's escape character).
@pytest.mark.parametrize("escaped", [r"\u0000", r"a\u0000b", r"\ud800", r"\udc00", r"x\ud83dy"])
def test_text_no_warehouse_can_store_fails_text_storable(spark, escaped):
    text = json.dumps(launch(details="PLACEHOLDER")).replace("PLACEHOLDER", escaped)
    assert failed_rules(spark, text) == [["text_storable"]]


@pytest.mark.parametrize("escaped", [r"\\u0000", r"\ud83d\ude00", r"\u00e9"])  # a backslash; a pair; é
def test_storable_escapes_pass(spark, escaped):
    text = json.dumps(launch(details="PLACEHOLDER")).replace("PLACEHOLDER", escaped)
    assert failed_rules(spark, text) == [[]]


def test_disposition_same_snapshot_time_is_decided_by_content_in_any_order(spark):
    """Two different records of one launch with the same fetch time: the greater record_hash is kept
    whatever the files' names and order, and the other is flagged as a same-time conflict."""

    def kept(first: str, second: str) -> tuple[str, set]:
        files = [
            raw_records(spark, launch(name=name), source_file=f"file:/raw/{path}.json")
            for name, path in ((first, "a"), (second, "b"))
        ]
        records = (
            files[0]
            .unionByName(files[1])
            .transform(transforms.parse_launch_records)
            .transform(quality.with_failed_rules)
            .transform(transforms.with_disposition)
            .collect()
        )
        [latest] = [row.name for row in records if row.disposition == "latest"]
        return latest, {row.name for row in records if row.same_time_conflict}

    one_way, other_way = kept("alpha", "beta"), kept("beta", "alpha")
    assert one_way == other_way
    assert one_way[1] == {"alpha", "beta"} - {one_way[0]}
    older = raw_records(spark, launch(name="older"), snapshot_time=datetime(2023, 1, 1))
    newer = raw_records(spark, launch(name="newer"), source_file="file:/raw/0.json")
    records = (
        older.unionByName(newer)
        .transform(transforms.parse_launch_records)
        .transform(quality.with_failed_rules)
        .transform(transforms.with_disposition)
        .collect()
    )
    assert {row.name: (row.disposition, row.same_time_conflict) for row in records} == {
        "older": ("duplicate", False),  # an older snapshot is no conflict
        "newer": ("latest", False),
    }


def test_disposition_follows_snapshot_time_not_path_order(spark):
    """A backfilled file sorts last by path but holds the oldest snapshot; a file of unknown time
    (NULL) is older than every known one."""
    fetched = raw_records(spark, launch(name="fetched"), snapshot_time=datetime(2024, 1, 2))
    backfill = raw_records(
        spark,
        launch(name="backfill"),
        source_file="file:/raw/zz-backfill.json",
        snapshot_time=datetime(2023, 1, 1),
    )
    untimed = raw_records(spark, launch(name="untimed"), source_file="file:/raw/zzz.json", snapshot_time=None)
    records = (
        fetched.unionByName(backfill)
        .unionByName(untimed)
        .transform(transforms.parse_launch_records)
        .transform(quality.with_failed_rules)
        .transform(transforms.with_disposition)
    )
    by_name = {row.name: row.disposition for row in records.collect()}
    assert by_name == {"fetched": "latest", "backfill": "duplicate", "untimed": "duplicate"}


def test_disposition_invalid_copy_does_not_replace_a_valid_one(spark):
    records = checked(spark, launch(name="valid"), launch(name="bad", flight_number=-1)).transform(
        transforms.with_disposition
    )
    assert {row.name: row.disposition for row in records.collect()} == {
        "valid": "latest",
        "bad": "quarantined",
    }


def test_to_launches_matches_the_contract(spark):
    v5_crew = [{"crew": "P1", "role": "Commander"}]
    records = checked(spark, launch(crew=v5_crew, success=None, details="d"))
    expected = spark.createDataFrame(
        [
            (
                hid("L1"),
                1,
                "Demo",
                datetime(2020, 3, 1, 20, 45),
                1583095500,
                "hour",
                False,
                None,
                "R1",
                "P1",
                "d",
                "v5",
                LANDED,
                "file:/lake/raw/a.json",
            )
        ],
        T.StructType([*LAUNCHES.fields, T.StructField("source_file", T.StringType())]),
    )
    assert_df_equality(transforms.to_launches(records).drop("record_hash"), expected, ignore_nullable=True)


@pytest.mark.parametrize(
    ("crew", "default", "version"),
    [
        (["P1", "P2"], "v5", "v4"),
        ([{"crew": "P1", "role": "Pilot"}], "v4", "v5"),
        ([], "v4", "v4"),
        (None, "v5", "v5"),
    ],
)
def test_source_api_version_from_crew_shape_else_default(spark, crew, default, version):
    launches = transforms.to_launches(checked(spark, launch(crew=crew)), default_api_version=default)
    assert launches.collect()[0].source_api_version == version


def test_crewless_launch_takes_the_api_version_of_its_file(spark):
    v4_file = checked(spark, launch("A", crew=["P1"]), launch("B", crew=[]), source_file="file:/raw/v4.jsonl")
    v5_file = checked(spark, launch("C", crew=[]), source_file="file:/raw/other.json")
    launches = transforms.to_launches(v4_file.unionByName(v5_file), default_api_version="v5")
    assert {row.launch_id: row.source_api_version for row in launches.collect()} == {
        hid("A"): "v4",
        hid("B"): "v4",
        hid("C"): "v5",
    }


def test_to_launch_cores_one_row_per_slot_including_unknown_cores(spark):
    falcon_heavy = launch(
        "FH",
        cores=[
            {"core": hid("B1"), "flight": 2, "reused": True, "landing_type": "RTLS", "landpad": "LZ1"},
            {"core": hid("B2"), "flight": 2, "reused": True, "landing_type": "RTLS", "landpad": "LZ2"},
            {"core": None, "flight": None, "reused": False},
        ],
    )
    no_cores = launch("NC", cores=[])
    cores = transforms.to_launch_cores(checked(spark, falcon_heavy, no_cores)).drop("record_hash")
    when, source = datetime(2020, 3, 1, 20, 45), "file:/lake/raw/a.json"
    expected = spark.createDataFrame(
        [
            (
                hid("FH"),
                0,
                hid("B1"),
                2,
                True,
                None,
                None,
                None,
                None,
                "RTLS",
                "LZ1",
                when,
                1583095500,
                False,
                LANDED,
                source,
            ),
            (
                hid("FH"),
                1,
                hid("B2"),
                2,
                True,
                None,
                None,
                None,
                None,
                "RTLS",
                "LZ2",
                when,
                1583095500,
                False,
                LANDED,
                source,
            ),
            (
                hid("FH"),
                2,
                None,
                None,
                False,
                None,
                None,
                None,
                None,
                None,
                None,
                when,
                1583095500,
                False,
                LANDED,
                source,
            ),
        ],
        T.StructType(
            [
                *LAUNCH_CORES.fields,
                T.StructField("ingested_at", T.TimestampType()),
                T.StructField("source_file", T.StringType()),
            ]
        ),
    )
    assert_df_equality(cores, expected, ignore_row_order=True, ignore_nullable=True)


def test_to_quarantine_keeps_raw_record_and_reasons(spark):
    truncated = '{"id": "L9", "flight'
    records = checked(spark, launch(flight_number=0), truncated).filter(~quality.is_valid())
    quarantine = records.transform(transforms.to_quarantine).select(
        "source_row",
        "record_id",
        "rule",
        "failed_rules",
        F.col("raw_record").startswith("{").alias("raw_kept"),
    )
    expected = spark.createDataFrame(
        [
            (0, hid("L1"), "flight_number_positive", ["flight_number_positive"], True),
            (1, None, "valid_json_object", ["valid_json_object"], True),
        ],
        "source_row long, record_id string, rule string, failed_rules array<string>, raw_kept boolean",
    )
    assert_df_equality(quarantine, expected, ignore_row_order=True, ignore_nullable=True)
