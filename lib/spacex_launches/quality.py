"""Data-quality rules on parsed launch records.

Each rule is a named predicate that is true when the record passes. A record failing any rule goes to
the quarantine with the names of the rules it failed, the first one being its `rule`. The first three
judge the record's text itself (its size, its depth, being a JSON object at all); a record failing one
of them fails only those, as its other rules say nothing.
"""

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spacex_launches.schemas import CORE_TEXT_BYTES, CORRUPT_RECORD, ID_PATTERN, LAUNCH_TEXT_BYTES

DATE_PRECISIONS = ("half", "quarter", "year", "month", "day", "hour")
MAX_RECORD_BYTES = 1024 * 1024  # a launch record is a few KB
# JSON parsers stop at some depth (Spark's, Jackson, at 1000 levels); a record deeper than that is
# named for it rather than called malformed.
_PARSER_DEPTH = {"maxNestingDepth": str(1 << 30), "mode": "PERMISSIVE", "columnNameOfCorruptRecord": "c"}
# SpaceX first flew in 2006; a date outside this window is wrong (and dates before 1900 are where
# Parquet's calendar rebasing starts).
EARLIEST_LAUNCH, LATEST_LAUNCH = datetime(2000, 1, 1), datetime(2100, 1, 1)

VALID_JSON_OBJECT = "valid_json_object"


def _record_within_size() -> Column:
    return F.octet_length("raw_record") <= MAX_RECORD_BYTES


def _json_nesting_within_limit() -> Column:
    # Only an object that did not parse is parsed again without the depth limit (CASE WHEN evaluates
    # lazily): if that succeeds, its depth was the problem.
    parsed = F.col(CORRUPT_RECORD).isNull() | F.json_object_keys("raw_record").isNotNull()
    parses_deeper = F.from_json("raw_record", "c string", _PARSER_DEPTH)["c"].isNull()
    return F.when(parsed | ~F.ltrim("raw_record").startswith("{"), True).otherwise(~parses_deeper)


def _is_json_object() -> Column:
    # json_object_keys is null for invalid JSON and for JSON that is not an object.
    return F.col(CORRUPT_RECORD).isNull() | F.json_object_keys("raw_record").isNotNull()


def _fields_match_schema() -> Column:
    # A JSON object whose field has the wrong type (e.g. "flight_number": "5") parses partially.
    return F.col(CORRUPT_RECORD).isNull()


def _id_present() -> Column:
    return F.col("id").isNotNull() & (F.trim("id") != "")


def _id_format() -> Column:
    return ~_id_present() | F.col("id").rlike(ID_PATTERN)  # an absent id is id_present's failure


def _flight_number_positive() -> Column:
    return F.col("flight_number").isNotNull() & (F.col("flight_number") > 0)


def _date_utc_parses() -> Column:
    return F.col("launch_ts").isNotNull()


def _date_utc_in_range() -> Column:
    within = (F.col("launch_ts") >= F.lit(EARLIEST_LAUNCH)) & (F.col("launch_ts") < F.lit(LATEST_LAUNCH))
    return F.col("launch_ts").isNull() | within  # an unreadable date is date_utc_parses' failure


def _date_precision_known() -> Column:
    return F.col("date_precision").isin(*DATE_PRECISIONS)


def _upcoming_is_boolean() -> Column:
    return F.col("upcoming").isNotNull()


def _cores_is_array() -> Column:
    return F.col("cores").isNotNull()


def _core_flight_positive() -> Column:
    return F.forall(
        F.coalesce(F.col("cores"), F.array()),
        lambda core: core.isNull() | core["flight"].isNull() | (core["flight"] >= 1),
    )


def _fits(value: Column, limit: int) -> Column:
    return value.isNull() | (F.octet_length(value) <= limit)


def _text_fits_warehouse() -> Column:
    launch_fields = [_fits(F.col(field), limit) for field, (_, limit) in LAUNCH_TEXT_BYTES.items()]
    cores_fit = F.forall(
        F.coalesce(F.col("cores"), F.array()),
        lambda core: (
            core.isNull()
            | F.reduce(
                F.array(*[_fits(core[field], limit) for field, (_, limit) in CORE_TEXT_BYTES.items()]),
                F.lit(True),
                lambda fits, this: fits & this,
            )
        ),
    )
    fits = cores_fit
    for field_fits in launch_fields:
        fits = fits & field_fits
    return fits


# Order matters: the first failing rule is the record's quarantine reason.
TEXT_RULES = {
    "record_within_size": _record_within_size,
    "json_nesting_within_limit": _json_nesting_within_limit,
    VALID_JSON_OBJECT: _is_json_object,
}
RECORD_RULES = {
    "fields_match_schema": _fields_match_schema,
    "id_present": _id_present,
    "id_format": _id_format,
    "flight_number_positive": _flight_number_positive,
    "date_utc_parses": _date_utc_parses,
    "date_utc_in_range": _date_utc_in_range,
    "date_precision_known": _date_precision_known,
    "upcoming_is_boolean": _upcoming_is_boolean,
    "cores_is_array": _cores_is_array,
    "core_flight_positive": _core_flight_positive,
    "text_fits_warehouse": _text_fits_warehouse,
}
RULE_NAMES = (*TEXT_RULES, *RECORD_RULES)


def _failures(rules: dict) -> Column:
    return F.array_compact(
        F.array(*[F.when(~F.coalesce(rule(), F.lit(False)), F.lit(name)) for name, rule in rules.items()])
    )


def with_failed_rules(records: DataFrame) -> DataFrame:
    """Add `failed_rules` (array of rule names, empty when the record is valid)."""
    text_failures = _failures(TEXT_RULES)
    return records.withColumn(
        "failed_rules",
        F.when(F.size(text_failures) > 0, text_failures).otherwise(_failures(RECORD_RULES)),
    )


def is_valid() -> Column:
    return F.size("failed_rules") == 0
