"""Which input files a run reads, in which container each holds its launches, and when its snapshot
was fetched. Every file under the inputs is either read, refused (the run fails naming it), or skipped
and listed in the run report: never silently.

Accepted, by name: `*.json`, `*.jsonl`, `*.ndjson` (any case), each optionally gzip-compressed as
`*.gz`; UTF-8 text with or without a byte-order mark. By content:

* a JSON document: one array of launch records, the API's query envelope `{"docs": [...], ...}`
  (`POST /v5/launches/query`), or one launch object, pretty-printed or not;
* JSON Lines: one value per line, each an object, an array of objects or an envelope.

Refused: an empty or blank file, HTML, anything that is not JSON, UTF-16/32 text, a gzip stream not
named `.gz` (or a `.gz` that is not one), a file that cannot be read (a broken link, no permission), a
local file whose name holds a colon (Hadoop's local file system cannot open it).
Skipped: any other file name (the raw zone's `.manifest.json` sidecars are read for the fetch time).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from spacex_launches.common.paths import (
    SIDECAR_SUFFIX,
    fetch_time_from_name,
    in_ingest_dates,
    ingest_date_of,
    normalise_root,
    sidecar_of,
)
from spacex_launches.exceptions import InputFileError, NoInputFiles
from spacex_launches.lake.hadoopfs import GLOB_CHARACTERS, LakeFS

DOCUMENT, LINES = "json_document", "json_lines"
_DATA_NAME = re.compile(r"\.(?:json|jsonl|ndjson)(\.gz)?$", re.IGNORECASE)
HEAD_BYTES = 64 * 1024  # enough for a JSON Lines file's first line; a document's start
MAX_LEADING_BLANK = 1024 * 1024  # leading whitespace looked through before a file is called blank
_WHITESPACE = " \t\r\n"
# A fetch time may be this far ahead of the clock (clocks of the fetching and the running machine
# differ a little); one further ahead would win every later precedence decision, so it is refused.
CLOCK_SKEW = timedelta(minutes=5)
# A run over at most this many ingest dates lists only their partitions (listings).
PARTITION_LOOKUPS = 31


@dataclass(frozen=True)
class InputFile:
    path: str
    format: str  # DOCUMENT | LINES
    size: int
    compressed: bool = False
    # When the snapshot in this file was fetched from the API: its records' precedence and
    # `ingested_at`. None: unknown (older than every known time). `snapshot_time_from` says where
    # it came from: "name" (raw-zone file name), "manifest" (its sidecar), "option" or "unknown".
    snapshot_time: datetime | None = None
    snapshot_time_from: str = "unknown"


@dataclass(frozen=True)
class Discovery:
    files: list[InputFile]
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"}


def data_file_name(uri: str) -> re.Match | None:
    name = uri.rsplit("/", 1)[-1]
    if name.endswith(SIDECAR_SUFFIX) or name.startswith(("_", ".")):
        return None
    return _DATA_NAME.search(name)


def decoded_head(uri: str, head: bytes, compressed: bool) -> str:
    """The start of the file as text: gunzipped if it is `.gz`, without a UTF-8 byte-order mark.
    Raises InputFileError for what cannot be read as UTF-8 JSON text."""
    is_gzip = head[:2] == b"\x1f\x8b"
    if compressed and not is_gzip:
        raise InputFileError(f"{uri}: named .gz but not gzip-compressed")
    if is_gzip and not compressed:
        raise InputFileError(f"{uri}: gzip-compressed but not named .gz: rename it to end in .gz")
    if compressed:
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, HEAD_BYTES)
        except zlib.error as exc:
            raise InputFileError(f"{uri}: a broken gzip stream ({exc})") from None
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4096]:
        raise InputFileError(f"{uri}: UTF-16 or UTF-32 text (or binary data): re-save it as UTF-8")
    text = head.decode("utf-8", errors="replace")
    if "\ufffd" in text[:-3]:  # a character cut at the end of the head is not an error
        raise InputFileError(f"{uri}: not UTF-8 text")
    return text.removeprefix("\ufeff")


def container(uri: str, text: str, complete: bool) -> str:
    """DOCUMENT or LINES from the start of the file (`complete`: the text is the whole file).

    JSON Lines: several lines, one of the first of which is a whole object or array on its own and
    unindented (a bad first record is fine), or an object on a first line longer than the head (a
    big record). A document: a file of one line otherwise (the API's compact array), or a
    pretty-printed value (the API's query envelope, an indented array)."""
    stripped = text.lstrip(_WHITESPACE)
    first = stripped[:1]
    if first in ("[", "{"):
        lines = [line for line in stripped.split("\n") if line.strip()]
        if len(lines) == 1:
            return LINES if first == "{" and not complete else DOCUMENT
        return LINES if any(_is_json_line(line) for line in lines[:5]) else DOCUMENT
    if first == "<":
        raise InputFileError(f"{uri}: looks like HTML or XML ({stripped[:40]!r}), not launches JSON")
    raise InputFileError(f"{uri}: not JSON: starts with {stripped[:40]!r}")


def classify(lakefs: LakeFS, uri: str, size: int) -> InputFile:
    """Read the start of the file and tell how it holds its launches; refuse what cannot be read."""
    if uri.startswith("file:") and ":" in uri.rsplit("/", 1)[-1]:
        # Hadoop's local file system names a checksum file after each file it opens, and cannot when
        # the name holds a colon: Spark would fail on it half-way through the run.
        raise InputFileError(f"{uri}: a local file name with a colon cannot be read by Spark: rename it")
    name = data_file_name(uri)
    assert name is not None, uri  # discover classifies the data files it selected, and only those
    compressed = bool(name.group(1))
    if compressed and not uri.endswith(".gz"):
        raise InputFileError(f"{uri}: Spark decompresses names ending in .gz (lower case): rename it")
    if size == 0:
        raise InputFileError(f"{uri}: file is empty, expected a JSON array or JSON Lines of launches")
    try:
        head = lakefs.read_head(uri, HEAD_BYTES)
        text = decoded_head(uri, head, compressed)
        if not text.strip(_WHITESPACE) and size > len(head):
            text = decoded_head(uri, lakefs.read_head(uri, MAX_LEADING_BLANK), compressed)
    except InputFileError:
        raise
    except Exception as exc:  # a broken link, no permission, a vanished object
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"{uri}: cannot be read: {reason}") from None
    if not text.strip(_WHITESPACE):
        where = "holds only whitespace" if size <= MAX_LEADING_BLANK else "has no JSON in its first 1 MiB"
        raise InputFileError(f"{uri}: {where}, expected a JSON array or JSON Lines of launches")
    complete = not compressed and size <= HEAD_BYTES
    return InputFile(uri, container(uri, text, complete), size, compressed)


def fetch_time_from_manifest(lakefs: LakeFS, uri: str) -> datetime | None:
    """`fetched_at` of the file's sidecar manifest, if it has one that says so."""
    sidecar = sidecar_of(uri.removesuffix(".gz"))
    if not lakefs.exists(sidecar):
        return None
    try:
        fetched_at = json.loads(lakefs.read_text(sidecar)).get("fetched_at")
        when = None if fetched_at is None else datetime.fromisoformat(fetched_at)
    except (ValueError, TypeError, AttributeError):
        raise InputFileError(f"{sidecar}: manifest without a readable fetched_at") from None
    return when if when is None or when.tzinfo else when.replace(tzinfo=UTC)


def check_fetch_time(uri: str, when: datetime, source: str, now: datetime | None = None) -> None:
    """Refuse a fetch time later than the clock allows, or (for a raw-zone file) one before its
    `ingest_date=` partition's date: either is a clock's or a hand's mistake that would win (or lose)
    precedence decisions it has no right to. A fetch after its partition's date is how ingest files an
    orchestrated run (under its run date, fetched at or after it)."""
    now = now or datetime.now(UTC)
    where = {"name": "its name", "manifest": "its manifest's fetched_at", "option": "--snapshot-time"}[source]
    if when > now + CLOCK_SKEW:
        raise InputFileError(
            f"{uri}: fetch time {when.isoformat()} (from {where}) is later than now ({now.isoformat()}, "
            f"allowing {CLOCK_SKEW.total_seconds() / 60:.0f} min of clock skew): a wrong clock or a hand-made "
            "name would win over every later snapshot; fix the name or manifest (or move the file out of the "
            "input) and re-run"
        )
    partition = ingest_date_of(uri)
    if partition is not None and source != "option" and when.astimezone(UTC).date() < partition:
        raise InputFileError(
            f"{uri}: fetch time {when.isoformat()} (from {where}) is before its ingest_date={partition} "
            "partition: ingest files a response under the UTC date it was fetched or the earlier run date it "
            "was fetched for, never a later one; fix the name or manifest (or move the file) and re-run"
        )


def with_snapshot_time(lakefs: LakeFS, found: InputFile, explicit: datetime | None) -> InputFile:
    """The file's snapshot time: from its raw-zone name, else its manifest, else `explicit`
    (--snapshot-time), else unknown, checked by check_fetch_time. Never the file's modification
    time: copying the raw zone must not change which snapshot is newer."""
    sources = (
        ("name", lambda: fetch_time_from_name(found.path)),
        ("manifest", lambda: fetch_time_from_manifest(lakefs, found.path)),
        ("option", lambda: explicit),
    )
    for source, lookup in sources:
        when = lookup()
        if when is not None:
            check_fetch_time(found.path, when.astimezone(UTC), source)
            return InputFile(
                found.path, found.format, found.size, found.compressed, when.astimezone(UTC), source
            )
    return found


def listings(
    lakefs: LakeFS, root: str, start: date | None, end: date | None
) -> dict[str, list[tuple[str, int]] | None]:
    """Where `root` was listed for the ingest dates [start, end], and what each listing found (None:
    nothing there): its own `ingest_date=<day>` partitions of those days when it holds any (a raw zone:
    a daily run lists its one day, however long the history), else `root` whole. A window longer than
    PARTITION_LOOKUPS days, or none, lists it whole: one listing is then cheaper than a lookup per day
    (on S3, each is a request)."""
    if (
        start is None
        or end is None
        or not 0 <= (end - start).days < PARTITION_LOOKUPS
        or any(character in root for character in GLOB_CHARACTERS)
    ):
        return {root: lakefs.list_files(root)}
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    partitions = [f"{root.rstrip('/')}/ingest_date={day.isoformat()}" for day in days]
    found = {partition: lakefs.list_files(partition) for partition in partitions}
    held: dict[str, list[tuple[str, int]] | None] = {
        p: files for p, files in found.items() if files is not None
    }
    return held or {root: lakefs.list_files(root)}


def find_input_files(
    lakefs: LakeFS,
    paths: Sequence[str],
    start: date | None = None,
    end: date | None = None,
    snapshot_time: datetime | None = None,
) -> Discovery:
    """Every data file under `paths` (files, directories or globs), classified and timed, in path
    order, and the files skipped (of the dates [start, end] when given: `listings` says where it
    looks). Raises InputFileError naming the first file that is refused."""
    listed = []
    for path in paths:
        for root, found in listings(lakefs, normalise_root(path), start, end).items():
            for link in lakefs.broken_links(root):
                if data_file_name(link):
                    raise InputFileError(
                        f"{link}: cannot be read: a symbolic link to a file that does not exist"
                    )
            if found is None:
                raise NoInputFiles(f"input not found: {path}")
            listed += found
    selected, skipped = [], []
    for uri, size in sorted(set(listed)):
        if not in_ingest_dates(uri, start, end) or uri.endswith(SIDECAR_SUFFIX):
            continue
        if data_file_name(uri):
            selected.append((uri, size))
        else:
            skipped.append({"path": uri, "reason": "not a .json, .jsonl or .ndjson file (optionally .gz)"})
    if not selected:
        window = f" for ingest dates {start or '...'} to {end or '...'}" if (start or end) else ""
        raise NoInputFiles(f"no .json/.jsonl/.ndjson input files under {', '.join(paths)}{window}")
    files = [with_snapshot_time(lakefs, classify(lakefs, uri, size), snapshot_time) for uri, size in selected]
    return Discovery(files, skipped)


def _is_json_line(line: str) -> bool:
    if line[:1] not in "{[":
        return False
    try:
        json.loads(line)
    except ValueError:
        return False
    return True
