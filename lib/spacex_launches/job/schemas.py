"""Explicit schemas of what the job reads: the raw /launches record (v4 and v5), the raw /cores record
(v4), the reader's rows, and the quarantine's rows. The warehouse contract tables are
spacex_launches.contract (their Spark schemas: lake/schemas.py).

Only the fields the pipeline uses are declared; unknown extra fields are ignored and missing ones
become null. The raw record itself is kept as text, so nothing the API sent is lost.
"""

from pyspark.sql import types as T

CORRUPT_RECORD = "_corrupt_record"

RAW_CORE = T.StructType(
    [
        T.StructField("core", T.StringType()),
        T.StructField("flight", T.IntegerType()),
        T.StructField("gridfins", T.BooleanType()),
        T.StructField("legs", T.BooleanType()),
        T.StructField("reused", T.BooleanType()),
        T.StructField("landing_attempt", T.BooleanType()),
        T.StructField("landing_success", T.BooleanType()),
        T.StructField("landing_type", T.StringType()),
        T.StructField("landpad", T.StringType()),
        T.StructField(CORRUPT_RECORD, T.StringType()),  # a field of the wrong type in this core object
    ]
)

RAW_LAUNCH = T.StructType(
    [
        T.StructField("id", T.StringType()),
        T.StructField("flight_number", T.IntegerType()),
        T.StructField("name", T.StringType()),
        T.StructField("date_utc", T.StringType()),
        T.StructField("date_unix", T.LongType()),
        T.StructField("date_precision", T.StringType()),
        T.StructField("upcoming", T.BooleanType()),
        T.StructField("success", T.BooleanType()),
        T.StructField("rocket", T.StringType()),
        T.StructField("launchpad", T.StringType()),
        T.StructField("details", T.StringType()),
        # v4: a list of crew ids; v5: a list of {crew, role} objects. As strings, v5 objects arrive
        # as their JSON text, which is how the API version of a record is told apart.
        T.StructField("crew", T.ArrayType(T.StringType())),
        # Each element's own text: a `null` or `{}` entry must be told apart from a core object whose
        # fields are all null (transforms.parse_launch_records parses each with RAW_CORE).
        T.StructField("cores", T.ArrayType(T.StringType())),
        T.StructField(CORRUPT_RECORD, T.StringType()),
    ]
)

# One element of the API's /cores response (GET /v4/cores; the API serves cores only as v4): a JSON
# array of these. serial (B1049) is unique and required by the API; block is null when unknown; status
# is one of active|inactive|unknown|expended|lost|retired; the counts are the API's own. Its `launches`
# (launch ids) is not declared: the warehouse counts flights from launch_cores, and the raw text keeps it.
RAW_CORE_RECORD = T.StructType(
    [
        T.StructField("id", T.StringType()),
        T.StructField("serial", T.StringType()),
        T.StructField("block", T.IntegerType()),
        T.StructField("status", T.StringType()),
        T.StructField("reuse_count", T.IntegerType()),
        T.StructField("rtls_attempts", T.IntegerType()),
        T.StructField("rtls_landings", T.IntegerType()),
        T.StructField("asds_attempts", T.IntegerType()),
        T.StructField("asds_landings", T.IntegerType()),
        T.StructField("last_update", T.StringType()),
        T.StructField(CORRUPT_RECORD, T.StringType()),
    ]
)

# The raw zone's files as the reader hands them on (reader.read_raw_records): one row per record, with
# where it came from. `one_value`: the record's text is exactly one JSON value (false for a line that is
# not: two values side by side, trailing text, a truncated record), which the JSON parser alone would not
# tell. `file_problem`: why the whole file cannot be read (null when it can). `source_invalid_utf8`: the
# line or document the record was split from holds bytes that are not UTF-8 (the split decodes them as
# U+FFFD, so the record's own text no longer shows them: quality's `text_storable` reads this).
RAW_RECORDS = T.StructType(
    [
        T.StructField("source_file", T.StringType(), False),
        T.StructField("source_block", T.LongType(), False),
        T.StructField("source_row", T.LongType(), False),
        T.StructField("snapshot_time", T.TimestampType()),
        T.StructField("raw_record", T.StringType()),
        T.StructField("one_value", T.BooleanType()),
        T.StructField("file_problem", T.StringType()),
        T.StructField("source_invalid_utf8", T.BooleanType()),
    ]
)
