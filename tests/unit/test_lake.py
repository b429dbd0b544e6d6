"""Input discovery, whole-file checks and snapshot times, on real local files."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime

import pytest

from spacex_launches.lake import (
    InputFileError,
    LakeFS,
    LakePaths,
    classify,
    escape_glob,
    fetch_time_from_name,
    find_input_files,
    in_ingest_dates,
    is_data_file,
    read_raw_records,
)


@pytest.mark.parametrize(
    ("head", "expected"),
    [(b"[\n  {", "json_array"), (b'\xef\xbb\xbf  {"id"', "json_lines"), (b'\n\n{"id": 1}', "json_lines")],
)
def test_classify_by_first_character(head, expected):
    assert classify("f.json", head, len(head)).format == expected


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"", "file is empty"),
        (b"   \n", "file is empty"),
        (b"<!DOCTYPE html><html>", "looks like HTML"),
        (b"502 Bad Gateway", "not JSON"),
    ],
)
def test_classify_refuses_whole_file_failures_naming_the_file(head, message):
    with pytest.raises(InputFileError, match=message) as error:
        classify("s3a://lake/raw/x.json", head, len(head))
    assert "s3a://lake/raw/x.json" in str(error.value)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:/raw/a.json", True),
        ("file:/raw/a.jsonl", True),
        ("file:/raw/a.ndjson", True),
        ("file:/raw/a.manifest.json", False),
        ("file:/raw/_SUCCESS", False),
        ("file:/raw/.a.json.crc", False),
        ("file:/raw/notes.txt", False),
    ],
)
def test_is_data_file(uri, expected):
    assert is_data_file(uri) is expected


def test_ingest_date_range():
    uri = "s3a://b/raw/spacex/launches/ingest_date=2026-11-20/t.json"
    assert in_ingest_dates(uri, None, None)
    assert in_ingest_dates(uri, date(2026, 11, 20), date(2026, 11, 20))
    assert in_ingest_dates(uri, date(2026, 11, 1), None)
    assert not in_ingest_dates(uri, date(2026, 11, 21), None)
    assert not in_ingest_dates("file:/data/t.json", date(2026, 11, 1), None)


def test_find_input_files_lists_classifies_and_orders(spark, tmp_path):
    (tmp_path / "b.jsonl").write_text('{"id": "x"}\n')
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / "a.manifest.json").write_text("{}")
    found = find_input_files(LakeFS(spark), [str(tmp_path)])
    assert [(f.path.rsplit("/", 1)[-1], f.format) for f in found] == [
        ("a.json", "json_array"),
        ("b.jsonl", "json_lines"),
    ]


def test_find_input_files_errors_are_clear(spark, tmp_path):
    with pytest.raises(InputFileError, match="input not found"):
        find_input_files(LakeFS(spark), [str(tmp_path / "missing")])
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(InputFileError, match=r"no \.json/\.jsonl/\.ndjson input files"):
        find_input_files(LakeFS(spark), [str(tmp_path)])


def test_read_raw_records_flags_a_truncated_array_and_skips_blank_lines(spark, tmp_path):
    (tmp_path / "ok.json").write_text('[{"id": "a"}, {"id": "b"}]')
    (tmp_path / "cut.json").write_text('[{"id": "a"}, {"id": ')
    (tmp_path / "lines.jsonl").write_text('{"id": "c"}\n\n{"id": "d"}\n')
    files = find_input_files(LakeFS(spark), [str(tmp_path)])
    rows = read_raw_records(spark, files).collect()
    by_file = {}
    for row in rows:
        by_file.setdefault(row.source_file.rsplit("/", 1)[-1], []).append(row)
    assert [r.unreadable_file for r in by_file["cut.json"]] == [True]
    assert sorted((r.source_row, r.raw_record) for r in by_file["ok.json"]) == [
        (0, '{"id":"a"}'),
        (1, '{"id":"b"}'),
    ]
    assert [r.raw_record for r in sorted(by_file["lines.jsonl"], key=lambda r: r.source_row)] == [
        '{"id": "c"}',
        '{"id": "d"}',
    ]
    # none of these files carries a fetch time: unknown, never the modification time
    assert {r.snapshot_time for r in rows} == {None}


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


def test_snapshot_time_comes_from_the_name_then_the_manifest_then_the_option(spark, tmp_path):
    named = tmp_path / "20240102T060000Z-0a1b2c3d4e5f6a7b.json"
    named.write_text("[]")
    with_manifest = tmp_path / "export.json"
    with_manifest.write_text("[]")
    (tmp_path / "export.manifest.json").write_text(
        json.dumps({"fetched_at": "2023-05-06T07:08:09.123+00:00"})
    )
    bare = tmp_path / "bare.jsonl"
    bare.write_text('{"id": "x"}\n')
    os.utime(bare, (0, 0))  # a modification time must not matter
    option = datetime(2022, 1, 1, 12, tzinfo=UTC)

    found = {
        f.path.rsplit("/", 1)[-1]: f
        for f in find_input_files(LakeFS(spark), [str(tmp_path)], snapshot_time=option)
    }
    assert (found[named.name].snapshot_time, found[named.name].snapshot_time_from) == (
        datetime(2024, 1, 2, 6, tzinfo=UTC),
        "name",
    )
    assert (found["export.json"].snapshot_time, found["export.json"].snapshot_time_from) == (
        datetime(2023, 5, 6, 7, 8, 9, 123000, tzinfo=UTC),
        "manifest",
    )
    assert (found["bare.jsonl"].snapshot_time, found["bare.jsonl"].snapshot_time_from) == (option, "option")

    rows = read_raw_records(spark, found.values()).collect()
    times = {row.source_file.rsplit("/", 1)[-1]: row.snapshot_time for row in rows}
    assert times == {"bare.jsonl": datetime(2022, 1, 1, 12)}  # session time zone is UTC; arrays are empty


def test_unreadable_manifest_is_refused_by_name(spark, tmp_path):
    (tmp_path / "export.json").write_text("[]")
    (tmp_path / "export.manifest.json").write_text('{"fetched_at": "yesterday"}')
    with pytest.raises(
        InputFileError, match=r"export\.manifest\.json: manifest without a readable fetched_at"
    ):
        find_input_files(LakeFS(spark), [str(tmp_path)])


def test_file_names_with_glob_characters_and_spaces_are_read_as_they_are(spark, tmp_path):
    folder = tmp_path / "my dir"
    folder.mkdir()
    odd = folder / "20240101T060000Z-x [1] {a,b} *?.json"
    odd.write_text('[{"id": "a"}]')
    files = find_input_files(LakeFS(spark), [str(folder)])
    rows = read_raw_records(spark, files).collect()
    assert [(row.raw_record, row.snapshot_time) for row in rows] == [('{"id":"a"}', datetime(2024, 1, 1, 6))]
    assert escape_glob("a[1]{b}*?.json") == r"a\[1\]\{b\}\*\?.json"


def test_write_text_is_atomic_and_overwrites(spark, tmp_path):
    lakefs = LakeFS(spark)
    path = str(tmp_path / "_reports" / "r.json")
    lakefs.write_text(path, '{"a": 1}')
    lakefs.write_text(path, '{"a": 2}')
    assert lakefs.read_text(path) == '{"a": 2}'
    assert sorted(p.name for p in (tmp_path / "_reports").iterdir() if not p.name.startswith(".")) == [
        "r.json"
    ]


def test_lake_paths_layout():
    paths = LakePaths.at("s3a://bucket/prefix/")
    assert paths.raw_launches == "s3a://bucket/prefix/raw/spacex/launches"
    assert paths.validated == "s3a://bucket/prefix/validated"
    assert paths.staging("r1") == "s3a://bucket/prefix/_staging/r1"
    assert paths.report("r1") == "s3a://bucket/prefix/_reports/r1.json"
