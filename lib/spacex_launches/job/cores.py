"""The API's `/cores` (first-stage boosters: serial, block, status): parsed with its explicit schema,
checked by its rules, and shaped into the `cores` contract table. The reader, the lake's precedence
and the quarantine are the launches' own (pipeline.py wires both datasets the same way).
"""

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spacex_launches import contract
from spacex_launches.job import quality, schemas

_JSON_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": schemas.CORRUPT_RECORD}
STATUSES = ("active", "inactive", "unknown", "expended", "lost", "retired")
COUNTS = ("reuse_count", "rtls_attempts", "rtls_landings", "asds_attempts", "asds_landings")


def parse_core_records(raw_records: DataFrame) -> DataFrame:
    """Parse `raw_record` text with the explicit /cores schema."""
    parsed = F.from_json("raw_record", schemas.RAW_CORE_RECORD, _JSON_OPTIONS)
    return raw_records.withColumn("core", parsed).select(
        *[c for c in raw_records.columns if c != "core"],
        "core.*",
        F.xxhash64("raw_record").alias("record_hash"),
    )


def _serial_present() -> Column:
    return F.col("serial").isNotNull() & (F.trim("serial") != "")


def _status_known() -> Column:
    return F.col("status").isNull() | F.col("status").isin(*STATUSES)


def _counts_not_negative() -> Column:
    ok = F.lit(True)
    for count in COUNTS:
        ok = ok & (F.col(count).isNull() | (F.col(count) >= 0))
    return ok


def _text_fits_warehouse() -> Column:
    ok = F.lit(True)
    for field, (_, limit) in contract.CORES_TABLE_TEXT_BYTES.items():
        ok = ok & (F.col(field).isNull() | (F.octet_length(field) <= limit))
    return ok


# After the text rules every record gets (quality.TEXT_RULES); the first failing one is the reason.
CORE_RULES = {
    "fields_match_schema": quality.RECORD_FIELDS_MATCH_SCHEMA,
    "id_present": quality.RECORD_RULES["id_present"],
    "id_format": quality.RECORD_RULES["id_format"],
    "serial_present": _serial_present,
    "status_known": _status_known,
    "counts_not_negative": _counts_not_negative,
    "text_fits_warehouse": _text_fits_warehouse,
}
CORE_RULE_NAMES = (*quality.TEXT_RULES, *CORE_RULES)


def with_core_failed_rules(records: DataFrame) -> DataFrame:
    return quality.with_failed_rules(records, CORE_RULES, warning_rules={})


def to_cores(records: DataFrame) -> DataFrame:
    """The `cores` contract table and each row's `source_file`; `ingested_at` is the fetch time of
    the snapshot the record came from."""
    return records.select(
        F.col("id").alias("core_id"),
        "serial",
        "block",
        "status",
        *COUNTS,
        "last_update",
        F.col("snapshot_time").alias("ingested_at"),
        "source_file",
        "record_hash",
    )
