"""The lake's raw side and its file system: where raw input is found, when each file's snapshot was
fetched, and how its records are read.

All file-system work goes through Hadoop's FileSystem API, so the same code serves local paths and
`s3a://`. The validated zone (Iceberg tables) is lakehouse.py's.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

DATA_SUFFIXES = (".json", ".jsonl", ".ndjson")
SIDECAR_SUFFIX = ".manifest.json"
_INGEST_DATE = re.compile(r"(?:^|/)ingest_date=(\d{4}-\d{2}-\d{2})(?:/|$)")
_HEAD_BYTES = 512
# Raw-zone data files are named `<fetch time, UTC, to the second>-<sha256 prefix>.json` (ingest.py).
_FETCH_TIME_NAME = r"(\d{8}T\d{6})Z-[^/]*$"
_FETCH_TIME_FORMAT = "%Y%m%dT%H%M%S"


class InputFileError(ValueError):
    """A whole input file cannot be used (not JSON, an HTML page, truncated, empty)."""


@dataclass(frozen=True)
class InputFile:
    path: str
    format: str  # "json_array" | "json_lines"
    size: int
    # When the snapshot in this file was fetched from the API: its records' precedence and
    # `ingested_at`. None: unknown (older than every known time). `snapshot_time_from` says where
    # it came from: "name" (raw-zone file name), "manifest" (its sidecar), "option" or "unknown".
    snapshot_time: datetime | None = None
    snapshot_time_from: str = "unknown"


def normalise_root(path: str) -> str:
    """Absolute local path, or a URI (s3a://, s3://, file:) as given, without a trailing slash."""
    if "://" in path or path.startswith("file:"):
        return path.rstrip("/")
    return os.path.abspath(path)


@dataclass(frozen=True)
class LakePaths:
    root: str

    @classmethod
    def at(cls, root: str) -> LakePaths:
        return cls(normalise_root(root))

    @property
    def raw_launches(self) -> str:
        return f"{self.root}/raw/spacex/launches"

    @property
    def validated(self) -> str:
        """The Iceberg warehouse: `<validated>/<database>/<table>/{data,metadata}`."""
        return f"{self.root}/validated"

    def staging(self, run_id: str) -> str:
        return f"{self.root}/_staging/{run_id}"

    def report(self, run_id: str) -> str:
        return f"{self.root}/_reports/{run_id}.json"


class LakeFS:
    """Thin wrapper over Hadoop FileSystem for the few operations the pipeline needs."""

    def __init__(self, spark: SparkSession):
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _resolve(self, path: str):
        jpath = self._jvm.org.apache.hadoop.fs.Path(path)
        return jpath.getFileSystem(self._conf), jpath

    def exists(self, path: str) -> bool:
        fs, jpath = self._resolve(path)
        return fs.exists(jpath)

    def delete(self, path: str) -> None:
        fs, jpath = self._resolve(path)
        if fs.exists(jpath):
            fs.delete(jpath, True)

    def rename(self, source: str, target: str) -> None:
        fs, jsource = self._resolve(source)
        _, jtarget = self._resolve(target)
        fs.mkdirs(jtarget.getParent())
        if not fs.rename(jsource, jtarget):
            raise OSError(f"could not move {source} to {target}")

    def list_files(self, path: str) -> list[tuple[str, int]]:
        """(uri, size) of every file under `path` (a file, a directory or a glob), sorted by uri."""
        fs, jpath = self._resolve(path)
        statuses = fs.globStatus(jpath)
        if statuses is None or len(statuses) == 0:
            raise InputFileError(f"input not found: {path}")
        found = []
        for status in statuses:
            if status.isFile():
                found.append((status.getPath().toString(), status.getLen()))
                continue
            files = fs.listFiles(status.getPath(), True)
            while files.hasNext():
                child = files.next()
                found.append((child.getPath().toString(), child.getLen()))
        return sorted(found)

    def read_head(self, path: str, size: int = _HEAD_BYTES) -> bytes:
        fs, jpath = self._resolve(path)
        stream = fs.open(jpath)
        try:
            bounded = self._jvm.org.apache.commons.io.input.BoundedInputStream(stream, size)
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(bounded))
        finally:
            stream.close()

    def write_text(self, path: str, text: str) -> None:
        """Write a small text file atomically: to a temporary name, then renamed into place."""
        fs, jpath = self._resolve(path)
        temporary = self._jvm.org.apache.hadoop.fs.Path(path + ".inprogress")
        stream = fs.create(temporary, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()
        if fs.exists(jpath):
            fs.delete(jpath, False)
        if not fs.rename(temporary, jpath):
            raise OSError(f"could not write {path}")

    def copy_to_local(self, path: str, local_path: str) -> None:
        """Copy a file or directory tree (e.g. on s3a://) to `local_path`, which must not exist yet."""
        fs, jpath = self._resolve(path)
        target = self._jvm.org.apache.hadoop.fs.Path(f"file://{os.path.abspath(local_path)}")
        fs.copyToLocalFile(False, jpath, target, True)

    def read_text(self, path: str) -> str:
        fs, jpath = self._resolve(path)
        stream = fs.open(jpath)
        try:
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)).decode("utf-8")
        finally:
            stream.close()


def is_data_file(uri: str) -> bool:
    name = uri.rsplit("/", 1)[-1]
    return (
        not name.startswith(("_", ".")) and name.endswith(DATA_SUFFIXES) and not name.endswith(SIDECAR_SUFFIX)
    )


def ingest_date_of(uri: str) -> date | None:
    match = _INGEST_DATE.search(uri)
    return date.fromisoformat(match.group(1)) if match else None


def in_ingest_dates(uri: str, start: date | None, end: date | None) -> bool:
    """True when no date range is asked for, or the file's ingest_date partition is in [start, end]."""
    if start is None and end is None:
        return True
    day = ingest_date_of(uri)
    return day is not None and (start is None or day >= start) and (end is None or day <= end)


def classify(uri: str, head: bytes, size: int) -> InputFile:
    """Tell a JSON array file from JSON Lines by its first character; refuse anything else."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if size == 0 or not text:
        raise InputFileError(f"{uri}: file is empty, expected a JSON array or JSON Lines of launches")
    first = text[0]
    if first == "[":
        return InputFile(uri, "json_array", size)
    if first == "{":
        return InputFile(uri, "json_lines", size)
    if first == "<":
        raise InputFileError(f"{uri}: looks like HTML or XML ({text[:40]!r}), not launches JSON")
    raise InputFileError(f"{uri}: not JSON: starts with {text[:40]!r}")


def fetch_time_from_name(uri: str) -> datetime | None:
    """The fetch time a raw-zone file name carries (`20240101T060000Z-<sha>.json`), else None."""
    match = re.search(_FETCH_TIME_NAME, uri)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), _FETCH_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def sidecar_of(uri: str) -> str:
    """The manifest written beside a raw-zone data file (`<stem>.manifest.json`)."""
    return uri.rsplit(".", 1)[0] + SIDECAR_SUFFIX


def fetch_time_from_manifest(lakefs: LakeFS, uri: str) -> datetime | None:
    """`fetched_at` of the file's sidecar manifest, if it has one that says so."""
    sidecar = sidecar_of(uri)
    if not lakefs.exists(sidecar):
        return None
    try:
        fetched_at = json.loads(lakefs.read_text(sidecar)).get("fetched_at")
        when = None if fetched_at is None else datetime.fromisoformat(fetched_at)
    except (ValueError, TypeError, AttributeError):
        raise InputFileError(f"{sidecar}: manifest without a readable fetched_at") from None
    return when if when is None or when.tzinfo else when.replace(tzinfo=UTC)


def with_snapshot_time(lakefs: LakeFS, found: InputFile, explicit: datetime | None) -> InputFile:
    """The file's snapshot time: from its raw-zone name, else its manifest, else `explicit`
    (--snapshot-time), else unknown. Never the file's modification time: copying the raw zone
    must not change which snapshot is newer."""
    sources = (
        ("name", lambda: fetch_time_from_name(found.path)),
        ("manifest", lambda: fetch_time_from_manifest(lakefs, found.path)),
        ("option", lambda: explicit),
    )
    for source, lookup in sources:
        when = lookup()
        if when is not None:
            return InputFile(found.path, found.format, found.size, when.astimezone(UTC), source)
    return found


def find_input_files(
    lakefs: LakeFS,
    paths: Sequence[str],
    start: date | None = None,
    end: date | None = None,
    snapshot_time: datetime | None = None,
) -> list[InputFile]:
    """Every data file under `paths` (files, directories or globs), classified and timed, in path order."""
    listed = [item for path in paths for item in lakefs.list_files(normalise_root(path))]
    selected = [(uri, size) for uri, size in listed if is_data_file(uri) and in_ingest_dates(uri, start, end)]
    if not selected:
        window = f" for ingest dates {start or '...'} to {end or '...'}" if (start or end) else ""
        raise InputFileError(f"no .json/.jsonl/.ndjson input files under {', '.join(paths)}{window}")
    return [
        with_snapshot_time(lakefs, classify(uri, lakefs.read_head(uri), size), snapshot_time)
        for uri, size in sorted(set(selected))
    ]


def escape_glob(path: str) -> str:
    """A listed path handed back to Spark, which would read `[ ] { } * ?` in a name as a pattern."""
    return re.sub(r"([\\\[\]{}*?])", r"\\\1", path)


def _snapshot_time_column(files: list[InputFile]) -> Column:
    """Per record, its file's snapshot time. Spark names a record's file by an encoded URI, so the
    time is read again from that name in Spark (the same rule as fetch_time_from_name) where the name
    carries it, and is a literal for files that all share a time from elsewhere."""
    from_name = F.to_timestamp(
        F.regexp_extract(F.col("_metadata.file_path"), _FETCH_TIME_NAME, 1), "yyyyMMdd'T'HHmmss"
    )
    times = {f.snapshot_time for f in files}
    if all(f.snapshot_time_from == "name" for f in files):
        return from_name
    if len(times) == 1:
        return F.lit(times.pop()).cast("timestamp")
    raise ValueError("files of one read group must share their source of snapshot time")


def _read_group(spark: SparkSession, files: list[InputFile]) -> DataFrame:
    """Records of files sharing one source of snapshot time (see read_raw_records)."""
    arrays = [escape_glob(f.path) for f in files if f.format == "json_array"]
    lines = [escape_glob(f.path) for f in files if f.format == "json_lines"]
    snapshot_time = _snapshot_time_column(files).alias("snapshot_time")
    parts = []
    if arrays:
        whole = spark.read.text(arrays, wholetext=True).select(
            F.col("_metadata.file_path").alias("source_file"),
            snapshot_time,
            F.from_json("value", T.ArrayType(T.StringType())).alias("elements"),
        )
        # Flag the unreadable file before exploding, so no exploded row refers to (and carries a copy
        # of) the whole parsed array: that made memory grow with the square of the file's size.
        flagged = whole.select(
            "source_file",
            "snapshot_time",
            F.col("elements").isNull().alias("unreadable_file"),
            F.coalesce("elements", F.array(F.lit(None).cast("string"))).alias("elements"),
        )
        parts.append(
            flagged.select(
                "source_file",
                F.lit(0).cast("long").alias("source_block"),
                "snapshot_time",
                "unreadable_file",
                F.posexplode("elements").alias("source_row", "raw_record"),
            )
        )
    if lines:
        text = spark.read.text(lines).filter(F.trim("value") != "")
        parts.append(
            text.select(
                F.col("_metadata.file_path").alias("source_file"),
                snapshot_time,
                F.col("_metadata.file_block_start").alias("source_block"),
                F.lit(False).alias("unreadable_file"),
                F.monotonically_increasing_id().alias("source_row"),
                F.col("value").alias("raw_record"),
            )
        )
    return _union([part.select(RAW_RECORD_COLUMNS) for part in parts])


RAW_RECORD_COLUMNS = [
    "source_file",
    "source_block",
    "source_row",
    "snapshot_time",
    "raw_record",
    "unreadable_file",
]


def _union(frames: list[DataFrame]) -> DataFrame:
    combined = frames[0]
    for frame in frames[1:]:
        combined = combined.unionByName(frame)
    return combined


def read_raw_records(spark: SparkSession, files: Iterable[InputFile]) -> DataFrame:
    """One row per input record with its raw text, origin and snapshot time; plus `unreadable_file`
    for array files that do not parse as a JSON array at all (such a file yields one flagged row).

    Files are read in groups by where their snapshot time comes from: raw-zone names (one group,
    however many files), and one group per time otherwise (usually none, or one for --snapshot-time)."""
    groups: dict[tuple, list[InputFile]] = {}
    for found in files:
        key = ("name",) if found.snapshot_time_from == "name" else ("time", found.snapshot_time)
        groups.setdefault(key, []).append(found)
    combined = _union([_read_group(spark, group) for group in groups.values()])
    return combined.withColumn("source_row", F.col("source_row").cast("long"))
