"""Input discovery, whole-file checks and the staged publish, on real local files."""

from __future__ import annotations

from datetime import date

import pytest

from spacex_launches.lake import (
    InputFileError,
    LakeFS,
    LakePaths,
    classify,
    find_input_files,
    in_ingest_dates,
    is_data_file,
    publish,
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
    assert all(r.source_modified_at is not None for r in rows)


def test_publish_replaces_the_old_output_only_when_the_new_one_is_complete(spark, tmp_path):
    lakefs = LakeFS(spark)
    final, staged, trash = tmp_path / "final", tmp_path / "staged", tmp_path / "trash"
    final.mkdir()
    (final / "old.parquet").write_text("old")
    staged.mkdir()
    (staged / "new.parquet").write_text("new")
    publish(lakefs, str(staged), str(final), str(trash))
    assert [p.name for p in final.iterdir()] == ["new.parquet"]
    assert not staged.exists() and not trash.exists()


def test_publish_failure_restores_the_previous_output(spark, tmp_path):
    lakefs = LakeFS(spark)
    final = tmp_path / "final"
    final.mkdir()
    (final / "old.parquet").write_text("old")
    with pytest.raises(Exception, match="missing"):
        publish(lakefs, str(tmp_path / "missing"), str(final), str(tmp_path / "trash"))
    assert [p.name for p in final.iterdir()] == ["old.parquet"]


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
    assert paths.validated("launch_cores") == "s3a://bucket/prefix/validated/spacex/launch_cores"
    assert paths.quarantine("r1") == "s3a://bucket/prefix/quarantine/spacex/launches/run_id=r1"
    assert paths.report("r1") == "s3a://bucket/prefix/_reports/r1.json"
