"""Data-quality rules on parsed launch records.

Each rule is a named predicate that is true when the record passes. A record failing any rule goes to
the quarantine with the names of the rules it failed, the first one being its `rule`. The text rules
judge the record's text itself (its size, its depth, being one JSON object, no key twice in any of its
objects, only text every warehouse can store); a record failing one of them fails only those, as its
other rules say nothing (its parsed fields are not what the API meant).
"""

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spacex_launches.contract import CORE_TEXT_BYTES, ID_PATTERN, LAUNCH_TEXT_BYTES
from spacex_launches.job.jvm_functions import REPEATS_A_KEY
from spacex_launches.job.schemas import CORRUPT_RECORD

DATE_PRECISIONS = ("half", "quarter", "year", "month", "day", "hour")
MAX_RECORD_BYTES = 1024 * 1024  # a launch record is a few KB
# JSON parsers stop at some depth (Spark's, Jackson, at 1000 levels); a record deeper than that is
# named for it rather than called malformed.
_PARSER_DEPTH = {"maxNestingDepth": str(1 << 30), "mode": "PERMISSIVE", "columnNameOfCorruptRecord": "c"}
# SpaceX first flew in 2006; a date outside this window is wrong (and dates before 1900 are where
# Parquet's calendar rebasing starts).
EARLIEST_LAUNCH, LATEST_LAUNCH = datetime(2000, 1, 1), datetime(2100, 1, 1)

VALID_JSON_OBJECT = "valid_json_object"
# JSON escapes no warehouse stores as sent: NUL (PostgreSQL and Redshift refuse it) and a UTF-16
# surrogate without its pair (Spark would store it as `?`). An escape is one preceded by an even
# number of backslashes (`\\u0000` is a backslash followed by the text u0000).
_ESCAPE = r"(?<!\\)(?:\\\\)*\\u"
# The reader keeps an unpaired surrogate visible as the text `\ud800` (reader._surrogates_kept),
# which is in a record's JSON as `\\ud800`.
_UNSTORABLE_ESCAPE = (
    rf"{_ESCAPE}0000"
    rf"|{_ESCAPE}[dD][89abAB][0-9a-fA-F]{{2}}(?!\\u[dD][c-fC-F])"
    rf"|(?<!\\u[dD][89abAB][0-9a-fA-F]{{2}}){_ESCAPE}[dD][c-fC-F][0-9a-fA-F]{{2}}"
    r"|\\\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
# date_utc with more than six fractional digits: Spark's timestamps hold microseconds.
_SUB_MICROSECOND = r"[.,]\d{7,}"


def _record_within_size() -> Column:
    return F.octet_length("raw_record") <= MAX_RECORD_BYTES


def _json_nesting_within_limit() -> Column:
    # Only an object that did not parse is parsed again without the depth limit (CASE WHEN evaluates
    # lazily): if that succeeds, its depth was the problem.
    parsed = F.col(CORRUPT_RECORD).isNull() | F.json_object_keys("raw_record").isNotNull()
    parses_deeper = F.from_json("raw_record", "c string", _PARSER_DEPTH)["c"].isNull()
    return F.when(parsed | ~F.ltrim("raw_record").startswith("{"), True).otherwise(~parses_deeper)


def _is_json_object() -> Column:
    # json_object_keys is null for invalid JSON and for JSON that is not an object; the parser reads a
    # text's first value only, so the reader says whether there was exactly one (`one_value`).
    parsed = F.col(CORRUPT_RECORD).isNull() | F.json_object_keys("raw_record").isNotNull()
    return F.col("one_value") & parsed


def _no_duplicate_keys() -> Column:
    """At any depth, in one streaming pass over the text (a JVM function: jvm/RepeatsAKey.scala)."""
    return ~F.coalesce(F.call_function(REPEATS_A_KEY, F.col("raw_record")), F.lit(False))


def _text_storable() -> Column:
    """Valid UTF-8 (Spark keeps a file's bytes as they are: re-encoding changes invalid ones), and no
    NUL or unpaired-surrogate escape (checked only in records that hold an escape at all)."""
    valid_utf8 = F.encode("raw_record", "UTF-8") == F.col("raw_record").cast("binary")
    # split from a line or document with invalid bytes: the split turned them into U+FFFD
    decoded_invalid = F.coalesce(F.col("source_invalid_utf8"), F.lit(False)) & F.col("raw_record").contains(
        "\ufffd"
    )
    escapes_ok = ~F.col("raw_record").contains("\\u") | ~F.col("raw_record").rlike(_UNSTORABLE_ESCAPE)
    return valid_utf8 & ~decoded_invalid & escapes_ok


def _record_fields_match_schema() -> Column:
    # A JSON object whose field has the wrong type (e.g. "flight_number": "5") parses partially.
    return F.col(CORRUPT_RECORD).isNull()


def _fields_match_schema() -> Column:
    """The launch's fields and each core object's (parsed from its own text)."""
    cores_match = F.forall(
        F.coalesce(F.col("cores"), F.array()), lambda core: core.isNull() | core[CORRUPT_RECORD].isNull()
    )
    return _record_fields_match_schema() & cores_match


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


def _date_unix_matches_date_utc() -> Column:
    """The API's date_unix within a second of its date_utc (the job keeps the sent value)."""
    sent, derived = F.col("date_unix"), F.unix_micros("launch_ts") / 1_000_000
    return sent.isNull() | F.col("launch_ts").isNull() | (F.abs(sent - derived) <= 1)


def _date_utc_within_microseconds() -> Column:
    return F.col("date_utc").isNull() | ~F.col("date_utc").rlike(_SUB_MICROSECOND)


def _date_utc_matches_precision() -> Column:
    """A date_precision of `hour` needs a time of day in date_utc (a date alone would be midnight)."""
    has_time = F.col("date_utc").rlike(r"^\s*\d{4}-\d{2}-\d{2}[Tt ]\d")
    unreadable = F.col("launch_ts").isNull()  # date_utc_parses' failure
    return (F.col("date_precision") != "hour") | unreadable | has_time


def _core_entries_present() -> Column:
    """Every `cores` element is a core object with at least one field: a `null` or `{}` entry is not
    an unknown booster (that is a core object whose `core` is null) and would shift the slots."""
    return F.forall(
        F.coalesce(F.col("core_texts"), F.array()),
        lambda text: text.isNotNull() & ~text.rlike(r"^\s*\{\s*\}\s*$"),
    )


def _core_id_format() -> Column:
    """A core's id has a launch id's contract (ID_PATTERN); null is an unknown booster."""
    return F.forall(
        F.coalesce(F.col("cores"), F.array()),
        lambda core: core.isNull() | core["core"].isNull() | core["core"].rlike(ID_PATTERN),
    )


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
    "no_duplicate_keys": _no_duplicate_keys,
    "text_storable": _text_storable,
}
RECORD_RULES = {
    "fields_match_schema": _fields_match_schema,
    "id_present": _id_present,
    "id_format": _id_format,
    "flight_number_positive": _flight_number_positive,
    "date_utc_parses": _date_utc_parses,
    "date_utc_in_range": _date_utc_in_range,
    "date_utc_within_microseconds": _date_utc_within_microseconds,
    "date_precision_known": _date_precision_known,
    "date_utc_matches_precision": _date_utc_matches_precision,
    "upcoming_is_boolean": _upcoming_is_boolean,
    "cores_is_array": _cores_is_array,
    "core_entries_present": _core_entries_present,
    "core_id_format": _core_id_format,
    "core_flight_positive": _core_flight_positive,
    "text_fits_warehouse": _text_fits_warehouse,
}
# Rules a record may fail and still be kept as sent: the failure is counted and named in the run report
# (`rule_warnings`). The real API has a launch whose date_unix is 120 s from its date_utc: both are
# kept as sent (date_utc drives the analytics), not one recomputed from the other.
WARNING_RULES = {"date_unix_matches_date_utc": _date_unix_matches_date_utc}
# The parts of a launch's rules the API's /cores records share (cores.py).
RECORD_FIELDS_MATCH_SCHEMA = _record_fields_match_schema
RULE_NAMES = (*TEXT_RULES, *RECORD_RULES)


def _failures(rules: dict) -> Column:
    return F.array_compact(
        F.array(*[F.when(~F.coalesce(rule(), F.lit(False)), F.lit(name)) for name, rule in rules.items()])
    )


def with_failed_rules(
    records: DataFrame, record_rules: dict | None = None, warning_rules: dict | None = None
) -> DataFrame:
    """Add `failed_rules` (array of rule names, empty when the record is valid) and `warned_rules`
    (the warning rules it fails, kept all the same). `record_rules`/`warning_rules`: the rules after
    the text rules (default: a launch record's)."""
    text_failures = _failures(TEXT_RULES)
    warnings = WARNING_RULES if warning_rules is None else warning_rules
    return records.withColumn(
        "failed_rules",
        F.when(F.size(text_failures) > 0, text_failures).otherwise(_failures(record_rules or RECORD_RULES)),
    ).withColumn(
        "warned_rules",
        F.when(F.size("failed_rules") > 0, F.array().cast("array<string>")).otherwise(
            _failures(warnings) if warnings else F.array().cast("array<string>")
        ),
    )


def is_valid() -> Column:
    return F.size("failed_rules") == 0
