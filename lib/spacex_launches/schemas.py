"""Explicit schemas: the raw /launches record (v4 and v5) and the warehouse contract tables.

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
    ]
)

RAW_LAUNCH = T.StructType(
    [
        T.StructField("id", T.StringType()),
        T.StructField("flight_number", T.IntegerType()),
        T.StructField("name", T.StringType()),
        T.StructField("date_utc", T.StringType()),
        T.StructField("date_precision", T.StringType()),
        T.StructField("upcoming", T.BooleanType()),
        T.StructField("success", T.BooleanType()),
        T.StructField("rocket", T.StringType()),
        T.StructField("launchpad", T.StringType()),
        T.StructField("details", T.StringType()),
        # v4: a list of crew ids; v5: a list of {crew, role} objects. As strings, v5 objects arrive
        # as their JSON text, which is how the API version of a record is told apart.
        T.StructField("crew", T.ArrayType(T.StringType())),
        T.StructField("cores", T.ArrayType(RAW_CORE)),
        T.StructField(CORRUPT_RECORD, T.StringType()),
    ]
)

# The raw zone's files as the reader hands them on: one row per record, with where it came from.
RAW_RECORDS = T.StructType(
    [
        T.StructField("source_file", T.StringType(), False),
        T.StructField("source_block", T.LongType(), False),
        T.StructField("source_row", T.LongType(), False),
        T.StructField("snapshot_time", T.TimestampType()),
        T.StructField("raw_record", T.StringType()),
    ]
)

LAUNCHES = T.StructType(
    [
        T.StructField("launch_id", T.StringType(), False),
        T.StructField("flight_number", T.IntegerType()),
        T.StructField("name", T.StringType()),
        T.StructField("date_utc", T.TimestampType()),
        T.StructField("date_unix", T.LongType()),
        T.StructField("date_precision", T.StringType()),
        T.StructField("upcoming", T.BooleanType()),
        T.StructField("success", T.BooleanType()),
        T.StructField("rocket_id", T.StringType()),
        T.StructField("launchpad_id", T.StringType()),
        T.StructField("details", T.StringType()),
        T.StructField("source_api_version", T.StringType()),
        T.StructField("ingested_at", T.TimestampType()),
    ]
)

LAUNCH_CORES = T.StructType(
    [
        T.StructField("launch_id", T.StringType(), False),
        T.StructField("core_position", T.IntegerType(), False),
        T.StructField("core_id", T.StringType()),
        T.StructField("core_flight", T.IntegerType()),
        T.StructField("reused", T.BooleanType()),
        T.StructField("gridfins", T.BooleanType()),
        T.StructField("legs", T.BooleanType()),
        T.StructField("landing_attempt", T.BooleanType()),
        T.StructField("landing_success", T.BooleanType()),
        T.StructField("landing_type", T.StringType()),
        T.StructField("landpad_id", T.StringType()),
        T.StructField("date_utc", T.TimestampType()),
        T.StructField("date_unix", T.LongType()),
        T.StructField("upcoming", T.BooleanType()),
    ]
)

QUARANTINE = T.StructType(
    [
        T.StructField("source_file", T.StringType(), False),
        T.StructField("source_block", T.LongType(), False),
        T.StructField("source_row", T.LongType(), False),
        T.StructField("launch_id", T.StringType()),
        T.StructField("rule", T.StringType()),
        T.StructField("failed_rules", T.ArrayType(T.StringType())),
        T.StructField("raw_record", T.StringType()),
    ]
)

# Warehouse tables and their keys; every loader and the merge SQL follow this.
TABLES = {"launches": LAUNCHES, "launch_cores": LAUNCH_CORES}
TABLE_KEYS = {"launches": ("launch_id",), "launch_cores": ("launch_id", "core_position")}
