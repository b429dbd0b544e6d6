"""The API's /cores records: parsed with the explicit schema, checked by their rules, shaped into the
`cores` contract table (small inline frames)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from pyspark.sql import functions as F

from spacex_launches.job import cores, schemas
from spacex_launches.lake.schemas import CORES
from support.lake import hid
from support.paths import SAMPLE_CORES

FETCHED = datetime(2024, 1, 1, 6)


def core_record(**fields) -> dict:
    record = {
        "id": hid("B1049"),
        "serial": "B1049",
        "block": 5,
        "status": "active",
        "reuse_count": 9,
        "rtls_attempts": 0,
        "rtls_landings": 0,
        "asds_attempts": 10,
        "asds_landings": 10,
        "last_update": "Landed on OCISLY",
        "launches": [hid("L1")],
    }
    record.update(fields)
    return record


def checked(spark, *records):
    rows = [
        (
            "file:/raw/cores/20240101T060000Z-a.json",
            0,
            i,
            FETCHED,
            json.dumps(r) if isinstance(r, dict) else r,
            True,
            None,
            False,
        )
        for i, r in enumerate(records)
    ]
    raw = spark.createDataFrame(rows, schemas.RAW_RECORDS)
    return raw.transform(cores.parse_core_records).transform(cores.with_core_failed_rules)


def test_a_good_core_passes_and_becomes_a_contract_row(spark):
    [row] = checked(spark, core_record()).collect()
    assert row.failed_rules == []
    contract = cores.to_cores(
        checked(spark, core_record()).withColumnRenamed("snapshot_time", "snapshot_time")
    )
    assert contract.columns == [*CORES.fieldNames(), "source_file", "record_hash"]
    [out] = contract.collect()
    assert (out.core_id, out.serial, out.block, out.asds_landings, out.ingested_at) == (
        hid("B1049"),
        "B1049",
        5,
        10,
        FETCHED,
    )


@pytest.mark.parametrize(
    ("record", "rule"),
    [
        (core_record(id=None), "id_present"),
        (core_record(id="B1049"), "id_format"),
        (core_record(serial=" "), "serial_present"),
        (core_record(status="exploded"), "status_known"),
        (core_record(reuse_count=-1), "counts_not_negative"),
        (core_record(block="five"), "fields_match_schema"),
        (core_record(serial="B" * 33), "text_fits_warehouse"),
        ('{"id": "trunc', "valid_json_object"),
    ],
)
def test_each_core_rule_names_its_failure(spark, record, rule):
    [row] = checked(spark, record).collect()
    assert row.failed_rules[0] == rule


def test_a_null_block_and_status_are_allowed(spark):
    [row] = checked(spark, core_record(block=None, status=None)).collect()
    assert row.failed_rules == []


def test_sample_cores_read_with_the_explicit_schema(spark):
    frame = (
        spark.read.schema(schemas.RAW_CORE_RECORD)
        .option("multiLine", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", schemas.CORRUPT_RECORD)
        .json(str(SAMPLE_CORES / "20240101T060000Z-api-v4.json"))
    )
    rows = {row["id"]: row for row in frame.collect()}
    assert len(rows) == 5
    assert all(row[schemas.CORRUPT_RECORD] is None for row in rows.values())
    assert all(row["serial"] and row["status"] for row in rows.values())
    assert frame.filter(F.col("block").isNull()).count() == 1
