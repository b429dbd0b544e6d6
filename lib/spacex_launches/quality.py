"""Data-quality rules on parsed launch records.

Each rule is a named predicate that is true when the record passes. A record failing any rule goes to
the quarantine with the names of the rules it failed, the first one being its `rule`.
"""

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spacex_launches.schemas import CORRUPT_RECORD

DATE_PRECISIONS = ("half", "quarter", "year", "month", "day", "hour")

VALID_JSON_OBJECT = "valid_json_object"


def _is_json_object() -> Column:
    # json_object_keys is null for invalid JSON and for JSON that is not an object.
    return F.col(CORRUPT_RECORD).isNull() | F.json_object_keys("raw_record").isNotNull()


def _fields_match_schema() -> Column:
    # A JSON object whose field has the wrong type (e.g. "flight_number": "5") parses partially.
    return F.col(CORRUPT_RECORD).isNull()


def _id_present() -> Column:
    return F.col("id").isNotNull() & (F.trim("id") != "")


def _flight_number_positive() -> Column:
    return F.col("flight_number").isNotNull() & (F.col("flight_number") > 0)


def _date_utc_parses() -> Column:
    return F.col("launch_ts").isNotNull()


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


# Order matters: the first failing rule is the record's quarantine reason.
RECORD_RULES = {
    "fields_match_schema": _fields_match_schema,
    "id_present": _id_present,
    "flight_number_positive": _flight_number_positive,
    "date_utc_parses": _date_utc_parses,
    "date_precision_known": _date_precision_known,
    "upcoming_is_boolean": _upcoming_is_boolean,
    "cores_is_array": _cores_is_array,
    "core_flight_positive": _core_flight_positive,
}
RULE_NAMES = (VALID_JSON_OBJECT, *RECORD_RULES)


def with_failed_rules(records: DataFrame) -> DataFrame:
    """Add `failed_rules` (array of rule names, empty when the record is valid).

    A record that is not a JSON object fails only `valid_json_object`: its other rules say nothing.
    """
    record_failures = F.array_compact(
        F.array(
            *[F.when(~F.coalesce(rule(), F.lit(False)), F.lit(name)) for name, rule in RECORD_RULES.items()]
        )
    )
    return records.withColumn(
        "failed_rules",
        F.when(_is_json_object(), record_failures).otherwise(F.array(F.lit(VALID_JSON_OBJECT))),
    )


def is_valid() -> Column:
    return F.size("failed_rules") == 0
