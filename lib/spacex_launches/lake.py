"""The lake: where raw input is found and read, and how outputs are staged and published.

All file-system work goes through Hadoop's FileSystem API, so the same code serves local paths and
`s3a://`. Outputs are written under `<lake>/_staging/<run_id>/` and only moved into place once every
output of the run is complete, so a failed run leaves the previously published data as it was.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

DATA_SUFFIXES = (".json", ".jsonl", ".ndjson")
SIDECAR_SUFFIX = ".manifest.json"
_INGEST_DATE = re.compile(r"(?:^|/)ingest_date=(\d{4}-\d{2}-\d{2})(?:/|$)")
_HEAD_BYTES = 512


class InputFileError(ValueError):
    """A whole input file cannot be used (not JSON, an HTML page, truncated, empty)."""


@dataclass(frozen=True)
class InputFile:
    path: str
    format: str  # "json_array" | "json_lines"
    size: int


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

    def validated(self, table: str) -> str:
        return f"{self.root}/validated/spacex/{table}"

    def quarantine(self, run_id: str) -> str:
        return f"{self.root}/quarantine/spacex/launches/run_id={run_id}"

    def staging(self, run_id: str) -> str:
        return f"{self.root}/_staging/{run_id}"

    def trash(self, run_id: str) -> str:
        return f"{self.root}/_trash/{run_id}"

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


def find_input_files(
    lakefs: LakeFS,
    paths: Sequence[str],
    start: date | None = None,
    end: date | None = None,
) -> list[InputFile]:
    """Every data file under `paths` (files, directories or globs), classified, in path order."""
    listed = [item for path in paths for item in lakefs.list_files(normalise_root(path))]
    selected = [(uri, size) for uri, size in listed if is_data_file(uri) and in_ingest_dates(uri, start, end)]
    if not selected:
        window = f" for ingest dates {start or '...'} to {end or '...'}" if (start or end) else ""
        raise InputFileError(f"no .json/.jsonl/.ndjson input files under {', '.join(paths)}{window}")
    return [classify(uri, lakefs.read_head(uri), size) for uri, size in sorted(set(selected))]


def _source_columns() -> list:
    return [
        F.col("_metadata.file_path").alias("source_file"),
        F.col("_metadata.file_modification_time").alias("source_modified_at"),
    ]


def read_raw_records(spark: SparkSession, files: Iterable[InputFile]) -> DataFrame:
    """One row per input record with its raw text and origin; plus `unreadable_file` for array files
    that do not parse as a JSON array at all (such a file yields exactly one flagged row)."""
    files = list(files)
    arrays = [f.path for f in files if f.format == "json_array"]
    lines = [f.path for f in files if f.format == "json_lines"]
    parts = []
    if arrays:
        whole = spark.read.text(arrays, wholetext=True).select(
            *_source_columns(), F.from_json("value", T.ArrayType(T.StringType())).alias("elements")
        )
        # Flag the unreadable file before exploding, so no exploded row refers to (and carries a copy
        # of) the whole parsed array: that made memory grow with the square of the file's size.
        flagged = whole.select(
            "source_file",
            "source_modified_at",
            F.col("elements").isNull().alias("unreadable_file"),
            F.coalesce("elements", F.array(F.lit(None).cast("string"))).alias("elements"),
        )
        parts.append(
            flagged.select(
                "source_file",
                F.lit(0).cast("long").alias("source_block"),
                "source_modified_at",
                "unreadable_file",
                F.posexplode("elements").alias("source_row", "raw_record"),
            )
        )
    if lines:
        text = spark.read.text(lines).filter(F.trim("value") != "")
        parts.append(
            text.select(
                *_source_columns(),
                F.col("_metadata.file_block_start").alias("source_block"),
                F.lit(False).alias("unreadable_file"),
                F.monotonically_increasing_id().alias("source_row"),
                F.col("value").alias("raw_record"),
            )
        )
    columns = [
        "source_file",
        "source_block",
        "source_row",
        "source_modified_at",
        "raw_record",
        "unreadable_file",
    ]
    combined = parts[0].select(columns)
    for part in parts[1:]:
        combined = combined.unionByName(part.select(columns))
    return combined.withColumn("source_row", F.col("source_row").cast("long"))


def publish(lakefs: LakeFS, staged: str, final: str, trash: str) -> None:
    """Replace `final` with the fully written `staged` directory (the old one is kept until the new one
    is in place). On a local file system each move is a rename; on S3 a copy, so only this short step
    is not atomic there."""
    had_previous = lakefs.exists(final)
    if had_previous:
        lakefs.rename(final, trash)
    try:
        lakefs.rename(staged, final)
    except Exception:
        if had_previous:
            lakefs.rename(trash, final)
        raise
    lakefs.delete(trash)
