"""Spark reads the input files' records: one row per launch record with its raw text, where it came
from and its snapshot time. A file is read completely: every JSON value it holds, whatever its container
(discovery.py says which files and containers are accepted). A document that is not exactly one JSON
value gives one row flagged with `file_problem`, and the run refuses it by name.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spacex_launches.common.paths import FETCH_TIME_NAME
from spacex_launches.job import schemas
from spacex_launches.job.discovery import DOCUMENT, InputFile

STRINGS = T.ArrayType(T.StringType())
# Splitting a file into records must not stop at a record's size or depth: the quality rules judge
# each record (and quarantine it) under the parser's usual limits.
_SPLIT = {"maxNestingDepth": str(1 << 30), "maxStringLen": str((1 << 31) - 1)}
RAW_RECORD_COLUMNS = schemas.RAW_RECORDS.fieldNames()  # what the reader hands on, in this order
# An unpaired UTF-16 surrogate escape (`\ud800` without its pair): the split would store it as `?`.
# It is kept visible as the six characters `\ud800` (one more backslash) for `text_storable` to
# quarantine the record.
_EVEN_BACKSLASHES = r"(?<!\\)((?:\\\\)*)"
_LONE_SURROGATE = (
    rf"{_EVEN_BACKSLASHES}\\(u[dD][89abAB][0-9a-fA-F]{{2}})(?!\\u[dD][c-fC-F])"
    rf"|(?<!\\u[dD][89abAB][0-9a-fA-F]{{2}}){_EVEN_BACKSLASHES}\\(u[dD][c-fC-F][0-9a-fA-F]{{2}})"
)


def escape_glob(path: str) -> str:
    """A listed path handed back to Spark, which would read `[ ] { } * ?` in a name as a pattern."""
    return "".join(f"\\{character}" if character in "\\[]{}*?" else character for character in path)


def json_values(text: Column) -> Column:
    """The top-level JSON values of `text` (comma-separated, as an array's would be) as raw texts;
    null when `text` is not that (malformed, truncated, two values side by side, trailing text)."""
    return F.from_json(F.concat(F.lit("["), text, F.lit("]")), STRINGS, _SPLIT)


def records_of(value: Column) -> Column:
    """The launch records one JSON value holds: an array's elements, the API's query envelope's
    `docs`, else the value itself."""
    trimmed = F.ltrim(value)
    docs = F.from_json(value, "docs array<string>", _SPLIT)["docs"]
    return (
        F.when(trimmed.startswith("["), F.coalesce(F.from_json(value, STRINGS, _SPLIT), F.array(value)))
        .when(trimmed.startswith("{") & value.contains('"docs"'), F.coalesce(docs, F.array(value)))
        .otherwise(F.array(value))
    )


def document_problem(text: Column, values: Column) -> Column:
    """Why a whole-file document cannot be read (null when it can)."""
    first = F.ltrim(values[0])
    return (
        F.when(
            values.isNull(),
            F.when(
                F.get_json_object(text, "$").isNotNull(),
                F.lit("holds more after its first JSON value (a second array or object, or trailing text)"),
            ).otherwise(F.lit("not valid JSON (truncated or malformed)")),
        )
        .when(
            F.size(values) > 1,
            F.format_string(
                "holds %d JSON values; one array, envelope or object is expected", F.size(values)
            ),
        )
        .when(~(first.startswith("[") | first.startswith("{")), F.lit("a JSON scalar, not launches"))
    )


def _snapshot_time(files: list[InputFile]) -> Column:
    """Per record, its file's snapshot time. Spark names a record's file by an encoded URI, so the
    time is read again from that name in Spark (the same rule as layout.fetch_time_from_name) where
    the name carries it, and is a literal for files that all share a time from elsewhere."""
    if all(f.snapshot_time_from == "name" for f in files):
        name = F.regexp_extract(F.col("_metadata.file_path"), FETCH_TIME_NAME, 1)
        return F.to_timestamp(name, "yyyyMMdd'T'HHmmss")
    (time,) = {f.snapshot_time for f in files}
    return F.lit(time).cast("timestamp")


def _without_bom(column: str) -> Column:
    return F.regexp_replace(column, "^\ufeff", "")


def _surrogates_kept(text: Column) -> Column:
    """`text` with each unpaired surrogate escape's backslash doubled (only texts holding an escape)."""
    protected = F.regexp_replace(text, _LONE_SURROGATE, r"$1$3\\\\$2$4")
    return F.when(text.contains("\\u"), protected).otherwise(text)


def _invalid_utf8(text: Column) -> Column:
    """Spark keeps a file's bytes as they are until a function decodes them (a regex, a JSON parse:
    invalid ones become U+FFFD); re-encoding the text as read tells."""
    return F.encode(text, "UTF-8") != text.cast("binary")


def _documents(spark: SparkSession, files: list[InputFile]) -> DataFrame:
    whole = spark.read.text([escape_glob(f.path) for f in files], wholetext=True).select(
        F.col("_metadata.file_path").alias("source_file"),
        _snapshot_time(files).alias("snapshot_time"),
        _surrogates_kept(_without_bom("value")).alias("text"),
        _invalid_utf8(F.col("value")).alias("source_invalid_utf8"),
    )
    values = json_values(F.col("text")).alias("values")
    checked = whole.select("source_file", "snapshot_time", "text", "source_invalid_utf8", values).select(
        "source_file",
        "snapshot_time",
        "values",
        document_problem(F.col("text"), F.col("values")).alias("file_problem"),
        "source_invalid_utf8",
    )
    # Flag a file before exploding its records, so no exploded row refers to (and carries a copy of)
    # the whole text or its parsed values: memory would grow with the square of the file's size.
    flagged = checked.select(
        "source_file",
        "snapshot_time",
        "file_problem",
        "source_invalid_utf8",
        F.coalesce(
            F.when(F.col("file_problem").isNull(), records_of(F.col("values")[0])),
            F.array(F.lit(None).cast("string")),
        ).alias("records"),
    )
    return flagged.select(
        "source_file",
        F.lit(0).cast("long").alias("source_block"),
        "snapshot_time",
        "file_problem",
        "source_invalid_utf8",
        F.lit(True).alias("one_value"),  # split from a parsed document
        F.posexplode("records").alias("source_row", "raw_record"),
    )


def _lines(spark: SparkSession, files: list[InputFile]) -> DataFrame:
    lines = spark.read.text([escape_glob(f.path) for f in files]).select(
        F.col("_metadata.file_path").alias("source_file"),
        F.col("_metadata.file_block_start").alias("source_block"),
        _snapshot_time(files).alias("snapshot_time"),
        _surrogates_kept(_without_bom("value")).alias("line"),
        _invalid_utf8(F.col("value")).alias("source_invalid_utf8"),
    )
    # Each line is parsed once: `values` is a column of its own before the explode reads it twice.
    parsed = lines.filter(F.trim("line") != "").select(
        "source_file",
        "source_block",
        "snapshot_time",
        "line",
        json_values(F.col("line")).alias("values"),
        "source_invalid_utf8",
    )
    records = F.coalesce(F.flatten(F.transform("values", records_of)), F.array("line"))
    exploded = parsed.select(
        "source_file",
        "source_block",
        "snapshot_time",
        "source_invalid_utf8",
        F.col("values").isNotNull().alias("one_value"),
        F.explode(records).alias("raw_record"),
    )
    # In the order the records stand in the file: line order, then position within the line.
    return exploded.select(
        "source_file",
        "source_block",
        "snapshot_time",
        F.lit(None).cast("string").alias("file_problem"),
        F.monotonically_increasing_id().alias("source_row"),
        "raw_record",
        "one_value",
        "source_invalid_utf8",
    )


def read_raw_records(spark: SparkSession, files: Iterable[InputFile]) -> DataFrame:
    """One row per input record (RAW_RECORD_COLUMNS). Files are read in groups by container and by
    where their snapshot time comes from: raw-zone names (one group, however many files), and one group
    per time otherwise (usually none, or one for --snapshot-time)."""
    groups: dict[tuple, list[InputFile]] = {}
    for found in files:
        timed_by = ("name",) if found.snapshot_time_from == "name" else ("time", found.snapshot_time)
        groups.setdefault((found.format, *timed_by), []).append(found)
    parts = [
        (_documents if container == DOCUMENT else _lines)(spark, group).select(RAW_RECORD_COLUMNS)
        for (container, *_), group in groups.items()
    ]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.unionByName(part)
    return combined.withColumn("source_row", F.col("source_row").cast("long"))
