"""Which files a run reads and how, decided from names and first bytes alone (discovery.py, layout.py):
containers, encodings, fetch times, ingest dates. On real files through Spark's file system:
tests/spark/job/test_discovery.py."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from spacex_launches.common.paths import LakePaths, fetch_time_from_name, in_ingest_dates
from spacex_launches.exceptions import InputFileError
from spacex_launches.job.discovery import (
    DOCUMENT,
    LINES,
    check_fetch_time,
    container,
    data_file_name,
    decoded_head,
    find_input_files,
)
from spacex_launches.job.reader import read_raw_records
from spacex_launches.lake.hadoopfs import LakeFS

ENVELOPE = {"docs": [{"id": "a"}, {"id": "b"}], "totalDocs": 2, "limit": 10, "page": 1}


@pytest.mark.parametrize(
    ("text", "complete", "expected"),
    [
        ('[{"id": "a"}]', True, DOCUMENT),  # the API's compact response, one line
        ('[{"id": "a"}, {"id": "b"', False, DOCUMENT),  # ... longer than the head
        ('[\n  {\n    "id": "a"\n  }\n]', True, DOCUMENT),  # pretty-printed
        (json.dumps(ENVELOPE, indent=2), True, DOCUMENT),  # the query envelope, pretty-printed
        (json.dumps(ENVELOPE), True, DOCUMENT),  # ... on one line
        ('{"id": "a"}\n{"id": "b"}\n', True, LINES),
        ('{"id": "a", "trunc\n{"id": "b"}\n', True, LINES),  # a bad first record is still a line
        ('[{"id": "a"}]\n[{"id": "b"}]\n', True, LINES),  # lines that are arrays
        ('{"id": "a", "details": "long', False, LINES),  # a first line longer than the head
    ],
)
def test_container_from_the_start_of_the_file(text, complete, expected):
    assert container("f.json", text, complete) == expected


@pytest.mark.parametrize(
    ("head", "compressed", "message"),
    [
        (b"\xff\xfe[\x00{\x00", False, "UTF-16 or UTF-32 text"),
        (b'[{"id": "\xe9t\xe9"}]', False, "not UTF-8 text"),
        (gzip.compress(b"[]", mtime=0), False, "gzip-compressed but not named .gz"),
        (b"[]", True, "named .gz but not gzip-compressed"),
    ],
)
def test_undecodable_heads_are_refused_naming_the_file(head, compressed, message):
    with pytest.raises(InputFileError, match=message) as error:
        decoded_head("s3a://lake/raw/x.json", head, compressed)
    assert str(error.value).startswith("s3a://lake/raw/x.json: ")


def test_a_bom_and_gzip_are_decoded():
    assert decoded_head("f.json", "\ufeff[]".encode(), False) == "[]"
    assert decoded_head("f.json.gz", gzip.compress("\ufeff[1]".encode()), True) == "[1]"


@pytest.mark.parametrize(
    ("uri", "accepted"),
    [
        ("file:/raw/a.json", True),
        ("file:/raw/a.jsonl", True),
        ("file:/raw/a.ndjson", True),
        ("file:/raw/A.JSON", True),
        ("file:/raw/a.json.gz", True),
        ("file:/raw/a.manifest.json", False),
        ("file:/raw/_SUCCESS", False),
        ("file:/raw/.a.json.crc", False),
        ("file:/raw/notes.txt", False),
        ("file:/raw/a.json.bz2", False),
    ],
)
def test_data_file_names(uri, accepted):
    assert bool(data_file_name(uri)) is accepted


def test_ingest_date_range():
    uri = "s3a://b/raw/spacex/launches/ingest_date=2026-11-20/t.json"
    assert in_ingest_dates(uri, None, None)
    assert in_ingest_dates(uri, date(2026, 11, 20), date(2026, 11, 20))
    assert in_ingest_dates(uri, date(2026, 11, 1), None)
    assert not in_ingest_dates(uri, date(2026, 11, 21), None)
    assert not in_ingest_dates("file:/data/t.json", date(2026, 11, 1), None)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "s3a://b/raw/ingest_date=2024-01-02/20240102T060000Z-0a1b2c3d4e5f6a7b.json",
            datetime(2024, 1, 2, 6, tzinfo=UTC),
        ),
        ("file:/sample/20240101T060000Z-api-v5.json", datetime(2024, 1, 1, 6, tzinfo=UTC)),
        ("file:/20240101T060000Z-x/launches.json", None),  # the time must be the file's own name
        ("file:/launches-v5-snapshot-2025-06-27.json", None),
        ("file:/20241399T060000Z-bad-month.json", None),
    ],
)
def test_fetch_time_from_name(uri, expected):
    assert fetch_time_from_name(uri) == expected


def read(spark, folder) -> dict[str, list]:
    """{file name: [(raw record or None, file problem)]} in reading order."""
    rows = read_raw_records(spark, find_input_files(LakeFS(spark), [str(folder)]).files).collect()
    by_file: dict[str, list] = {}
    for row in sorted(rows, key=lambda r: (r.source_file, r.source_block, r.source_row)):
        by_file.setdefault(row.source_file.rsplit("/", 1)[-1], []).append((row.raw_record, row.file_problem))
    return by_file


def test_lake_paths_layout():
    paths = LakePaths.at("s3a://bucket/prefix/")
    assert paths.raw_launches == "s3a://bucket/prefix/raw/spacex/launches"
    assert paths.validated == "s3a://bucket/prefix/validated"
    assert paths.staging("r1") == "s3a://bucket/prefix/_staging/r1"
    assert paths.report("r1") == "s3a://bucket/prefix/_reports/r1.json"


NOW = datetime(2025, 6, 27, 12, 0, tzinfo=UTC)
RAW = "s3a://lake/raw/spacex/launches/ingest_date=2025-06-27/"


@pytest.mark.parametrize(
    ("uri", "when", "source", "refused"),
    [
        (RAW + "x.json", NOW, "name", None),
        (RAW + "x.json", NOW + timedelta(minutes=4), "name", None),  # within the clock skew
        (RAW + "x.json", datetime(2099, 12, 31, tzinfo=UTC), "name", "later than now"),
        (RAW + "x.json", NOW + timedelta(hours=1), "manifest", "manifest's fetched_at"),
        ("/exports/x.json", NOW + timedelta(days=1), "option", "--snapshot-time"),
        (RAW + "x.json", datetime(2025, 6, 26, 23, 59, tzinfo=UTC), "name", "before its ingest_date"),
        (RAW.replace("06-27", "06-20") + "x.json", NOW, "name", None),  # fetched for an earlier run date
        ("/exports/x.json", datetime(2020, 1, 1, tzinfo=UTC), "option", None),  # outside the raw zone
    ],
)
def test_fetch_times_from_the_future_or_before_their_partition_are_refused(uri, when, source, refused):
    if refused is None:
        check_fetch_time(uri, when, source, now=NOW)
        return
    with pytest.raises(InputFileError, match=refused) as error:
        check_fetch_time(uri, when, source, now=NOW)
    assert uri in str(error.value)
