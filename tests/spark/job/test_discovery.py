"""Which files a run reads (discovery.find_input_files through Hadoop's file system), when each snapshot
was fetched, and what Spark reads from them (reader.py): on real local files, hostile ones among them."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, date, datetime

import pytest

from spacex_launches.exceptions import InputFileError
from spacex_launches.job.discovery import DOCUMENT, LINES, find_input_files
from spacex_launches.job.reader import escape_glob, read_raw_records
from spacex_launches.lake.hadoopfs import LakeFS

ENVELOPE = {"docs": [{"id": "a"}, {"id": "b"}], "totalDocs": 2, "limit": 10, "page": 1}


def test_find_input_files_reads_refuses_or_lists_every_file(spark, tmp_path):
    (tmp_path / "b.jsonl").write_text('{"id": "x"}\n{"id": "y"}\n')
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / "a.manifest.json").write_text("{}")
    (tmp_path / "C.JSON").write_text('[{"id": "c"}]')
    (tmp_path / "d.json.gz").write_bytes(gzip.compress(b'[{"id": "d"}]'))
    (tmp_path / "notes.txt").write_text("hi")
    discovery = find_input_files(LakeFS(spark), [str(tmp_path)])
    assert [(f.path.rsplit("/", 1)[-1], f.format, f.compressed) for f in discovery.files] == [
        ("C.JSON", DOCUMENT, False),
        ("a.json", DOCUMENT, False),
        ("b.jsonl", LINES, False),
        ("d.json.gz", DOCUMENT, True),
    ]
    assert [(s["path"].rsplit("/", 1)[-1], s["reason"][:10]) for s in discovery.skipped] == [
        ("notes.txt", "not a .jso")
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.json", b"", "file is empty"),
        ("blank.json", b"   \n\n ", "holds only whitespace"),
        ("page.json", b"<!DOCTYPE html><html>", "looks like HTML"),
        ("gateway.json", b"502 Bad Gateway", "not JSON"),
        ("utf16.json", '[{"id": "a"}]'.encode("utf-16"), "UTF-16"),
    ],
)
def test_a_refused_file_fails_discovery_naming_it(spark, tmp_path, name, content, message):
    (tmp_path / "ok.json").write_text('[{"id": "a"}]')
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputFileError, match=message) as error:
        find_input_files(LakeFS(spark), [str(tmp_path)])
    assert name in str(error.value)


def test_a_broken_link_beside_good_files_is_refused_by_name(spark, tmp_path):
    (tmp_path / "ok.json").write_text('[{"id": "a"}]')
    (tmp_path / "gone.json").symlink_to(tmp_path / "nowhere.json")
    with pytest.raises(InputFileError, match=r"gone\.json: cannot be read"):
        find_input_files(LakeFS(spark), [str(tmp_path)])


class ListingCounted(LakeFS):
    """The real file system, remembering the paths it listed (one with nothing there lists nothing)."""

    def __init__(self, spark):
        super().__init__(spark)
        self.listed: list[str] = []

    def list_files(self, path):
        found = super().list_files(path)
        if found is not None:
            self.listed.append(path)
        return found


def raw_zone(root, days: list[str]) -> None:
    for day in days:
        folder = root / f"ingest_date={day}"
        folder.mkdir(parents=True)
        (folder / f"{day.replace('-', '')}T060000Z-0a1b2c3d4e5f6a7b.json").write_text('[{"id": "a"}]')


def test_a_run_over_a_few_ingest_dates_lists_only_their_partitions(spark, tmp_path):
    """A daily run's listing does not grow with the raw zone's history; what lies in other days'
    partitions (here a broken link) is no concern of it."""
    raw = tmp_path / "raw"
    raw_zone(raw, ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-05"])
    (raw / "ingest_date=2026-01-01" / "gone.json").symlink_to(tmp_path / "nowhere.json")
    lakefs = ListingCounted(spark)
    daily = find_input_files(lakefs, [str(raw)], date(2026, 1, 2), date(2026, 1, 2))
    assert [f.path.rsplit("/", 2)[-2] for f in daily.files] == ["ingest_date=2026-01-02"]
    assert [path.rsplit("/", 1)[-1] for path in lakefs.listed] == ["ingest_date=2026-01-02"]
    week = find_input_files(lakefs, [str(raw)], date(2026, 1, 2), date(2026, 1, 8))
    assert [f.path.rsplit("/", 2)[-2] for f in week.files] == [
        "ingest_date=2026-01-02",
        "ingest_date=2026-01-03",
        "ingest_date=2026-01-05",
    ]
    with pytest.raises(InputFileError, match=r"gone\.json: cannot be read"):  # listed whole: no window
        find_input_files(lakefs, [str(raw)])


def test_partitions_not_directly_under_the_input_are_found_by_listing_it_whole(spark, tmp_path):
    raw_zone(tmp_path / "raw" / "launches", ["2026-01-01", "2026-01-02"])
    lakefs = ListingCounted(spark)
    found = find_input_files(lakefs, [str(tmp_path / "raw")], date(2026, 1, 2), date(2026, 1, 2))
    assert [f.path.rsplit("/", 2)[-2] for f in found.files] == ["ingest_date=2026-01-02"]
    assert [path.rsplit("/", 1)[-1] for path in lakefs.listed] == ["raw"]
    with pytest.raises(InputFileError, match="for ingest dates 2026-01-04 to 2026-01-04"):
        find_input_files(lakefs, [str(tmp_path / "raw" / "launches")], date(2026, 1, 4), date(2026, 1, 4))


def test_find_input_files_errors_are_clear(spark, tmp_path):
    with pytest.raises(InputFileError, match="input not found"):
        find_input_files(LakeFS(spark), [str(tmp_path / "missing")])
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(InputFileError, match=r"no \.json/\.jsonl/\.ndjson input files"):
        find_input_files(LakeFS(spark), [str(tmp_path)])


def test_snapshot_time_comes_from_the_name_then_the_manifest_then_the_option(spark, tmp_path):
    named = tmp_path / "20240102T060000Z-0a1b2c3d4e5f6a7b.json"
    named.write_text("[]")
    with_manifest = tmp_path / "export.json"
    with_manifest.write_text("[]")
    (tmp_path / "export.manifest.json").write_text(
        json.dumps({"fetched_at": "2023-05-06T07:08:09.123+00:00"})
    )
    bare = tmp_path / "bare.jsonl"
    bare.write_text('{"id": "x"}\n{"id": "y"}\n')
    os.utime(bare, (0, 0))  # a modification time must not matter
    option = datetime(2022, 1, 1, 12, tzinfo=UTC)

    discovery = find_input_files(LakeFS(spark), [str(tmp_path)], snapshot_time=option)
    found = {f.path.rsplit("/", 1)[-1]: f for f in discovery.files}
    assert (found[named.name].snapshot_time, found[named.name].snapshot_time_from) == (
        datetime(2024, 1, 2, 6, tzinfo=UTC),
        "name",
    )
    assert (found["export.json"].snapshot_time, found["export.json"].snapshot_time_from) == (
        datetime(2023, 5, 6, 7, 8, 9, 123000, tzinfo=UTC),
        "manifest",
    )
    assert (found["bare.jsonl"].snapshot_time, found["bare.jsonl"].snapshot_time_from) == (option, "option")

    rows = read_raw_records(spark, discovery.files).collect()
    times = {row.source_file.rsplit("/", 1)[-1]: row.snapshot_time for row in rows}
    assert times == {"bare.jsonl": datetime(2022, 1, 1, 12)}  # session time zone is UTC; arrays are empty


def test_unreadable_manifest_is_refused_by_name(spark, tmp_path):
    (tmp_path / "export.json").write_text("[]")
    (tmp_path / "export.manifest.json").write_text('{"fetched_at": "yesterday"}')
    with pytest.raises(
        InputFileError, match=r"export\.manifest\.json: manifest without a readable fetched_at"
    ):
        find_input_files(LakeFS(spark), [str(tmp_path)])


def read(spark, folder) -> dict[str, list]:
    """{file name: [(raw record or None, file problem)]} in reading order."""
    rows = read_raw_records(spark, find_input_files(LakeFS(spark), [str(folder)]).files).collect()
    by_file: dict[str, list] = {}
    for row in sorted(rows, key=lambda r: (r.source_file, r.source_block, r.source_row)):
        by_file.setdefault(row.source_file.rsplit("/", 1)[-1], []).append((row.raw_record, row.file_problem))
    return by_file


def test_every_value_of_every_container_is_read(spark, tmp_path):
    (tmp_path / "array.json").write_text('\ufeff[{"id": "a"}, {"id": "b"}]')  # with a byte-order mark
    (tmp_path / "envelope.json").write_text(json.dumps(ENVELOPE, indent=2))
    (tmp_path / "one.json").write_text('{\n  "id": "e"\n}')
    (tmp_path / "lines.jsonl").write_text('{"id": "f"}\n\n[{"id": "g"}, {"id": "h"}]\n{"id": "i", "cut\n')
    (tmp_path / "blank-start.json").write_text(" " * 2000 + '[{"id": "j"}]')
    (tmp_path / "two-arrays.json").write_text('[{"id": "m"}]\n[{"id": "n"}]\n')  # one per line: JSON Lines
    (tmp_path / "packed.json.gz").write_bytes(gzip.compress(b'{"id": "k"}\n{"id": "l"}\n'))
    assert read(spark, tmp_path) == {
        "array.json": [('{"id":"a"}', None), ('{"id":"b"}', None)],
        "blank-start.json": [('{"id":"j"}', None)],
        "envelope.json": [('{"id":"a"}', None), ('{"id":"b"}', None)],
        "lines.jsonl": [
            ('{"id":"f"}', None),
            ('{"id":"g"}', None),  # a line that is an array gives its elements
            ('{"id":"h"}', None),
            ('{"id": "i", "cut', None),  # a broken line is one (bad) record, for the quarantine
        ],
        "one.json": [('{"id":"e"}', None)],
        "packed.json.gz": [('{"id":"k"}', None), ('{"id":"l"}', None)],
        "two-arrays.json": [('{"id":"m"}', None), ('{"id":"n"}', None)],
    }


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('[{"id": "a"}] [{"id": "b"}]', "holds more after its first JSON value"),  # two arrays back to back
        ('[{"id": "a"}] trailing text', "holds more after its first JSON value"),
        ('[{"id": "a"}], [{"id": "b"}]', "holds 2 JSON values"),
        ('[{"id": "a"}, {"id": ', "not valid JSON (truncated or malformed)"),
        ('"just a string"', None),  # refused earlier: not JSON by its first character
    ],
)
def test_a_document_that_is_not_one_value_is_flagged_with_the_reason(spark, tmp_path, content, problem):
    (tmp_path / "doc.json").write_text(content)
    if problem is None:
        with pytest.raises(InputFileError, match="not JSON"):
            read(spark, tmp_path)
        return
    [(record, found)] = read(spark, tmp_path)["doc.json"]
    assert record is None and problem in found


def test_file_names_with_glob_characters_and_spaces_are_read_as_they_are(spark, tmp_path):
    folder = tmp_path / "my dir"
    folder.mkdir()
    (folder / "20240101T060000Z-x [1] {a,b} *?.json").write_text('[{"id": "a"}]')
    (folder / "export (2024-01-02) #2.json").write_text('[{"id": "b"}]')
    records = sorted(
        row.raw_record
        for row in read_raw_records(spark, find_input_files(LakeFS(spark), [str(folder)]).files).collect()
    )
    assert records == ['{"id":"a"}', '{"id":"b"}']
    assert escape_glob("a[1]{b}*?.json") == r"a\[1\]\{b\}\*\?.json"


def test_a_local_file_name_with_a_colon_is_refused_by_name(spark, tmp_path):
    (tmp_path / "export 2024-01-02T06:00:00.json").write_text('[{"id": "b"}]')
    with pytest.raises(
        InputFileError, match=r"06:00:00\.json: a local file name with a colon cannot be read"
    ):
        find_input_files(LakeFS(spark), [str(tmp_path)])


def test_write_text_is_atomic_and_overwrites(spark, tmp_path):
    lakefs = LakeFS(spark)
    path = str(tmp_path / "_reports" / "r.json")
    lakefs.write_text(path, '{"a": 1}')
    lakefs.write_text(path, '{"a": 2}')
    assert lakefs.read_text(path) == '{"a": 2}'
    assert sorted(p.name for p in (tmp_path / "_reports").iterdir() if not p.name.startswith(".")) == [
        "r.json"
    ]
