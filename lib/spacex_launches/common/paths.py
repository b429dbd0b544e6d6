"""Where things are in the lake, as plain strings: no Spark, no file system (ingest, the Airflow tasks
and the metrics import this without pyspark).

```
<lake>/raw/spacex/{launches,cores}/ingest_date=YYYY-MM-DD/<UTC fetch time>-<sha256 prefix>.json (+ manifest)
<lake>/validated/<database>/<table>/{data,metadata}     Iceberg tables (lakehouse.py)
<lake>/_staging/<run_id>/                               a run's parsed records while it runs
<lake>/_reports/<run_id>.json                           the run report
```
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

SIDECAR_SUFFIX = ".manifest.json"
RAW_DATASETS = ("launches", "cores")  # the API's endpoints landed in the raw zone, each under its name
# Raw-zone data files are named `<fetch time, UTC, to the second>-<sha256 prefix>.json` (ingest.py).
FETCH_TIME_NAME = r"(\d{8}T\d{6})Z-[^/]*$"
FETCH_TIME_FORMAT = "%Y%m%dT%H%M%S"
_INGEST_DATE = re.compile(r"(?:^|/)ingest_date=(\d{4}-\d{2}-\d{2})(?:/|$)")


def normalise_root(path: str) -> str:
    """Absolute local path, or a URI (s3a://, s3://, file:) as given, without a trailing slash."""
    if "://" in path or path.startswith("file:"):
        return path.rstrip("/")
    return os.path.abspath(path)


def local_path(location: str) -> Path | None:
    """The local path of a location (a path, or a file:/ or file:/// URI); None when it is remote."""
    if "://" in location and not location.startswith("file://"):
        return None
    return Path(re.sub(r"^file:(//)?", "", location))


@dataclass(frozen=True)
class LakePaths:
    root: str

    @classmethod
    def at(cls, root: str) -> LakePaths:
        return cls(normalise_root(root))

    @property
    def raw_launches(self) -> str:
        return self.raw("launches")

    def raw(self, dataset: str) -> str:
        """The raw zone of one of the API's datasets (`launches`, `cores`)."""
        return f"{self.root}/raw/spacex/{dataset}"

    @property
    def validated(self) -> str:
        """The Iceberg warehouse: `<validated>/<database>/<table>/{data,metadata}`."""
        return f"{self.root}/validated"

    def staging(self, run_id: str) -> str:
        return f"{self.root}/_staging/{run_id}"

    def report(self, run_id: str) -> str:
        return f"{self.root}/_reports/{run_id}.json"


def fetch_time_from_name(uri: str) -> datetime | None:
    """The fetch time a raw-zone file name carries (`20240101T060000Z-<sha>.json`), else None."""
    match = re.search(FETCH_TIME_NAME, uri)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), FETCH_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def sidecar_of(uri: str) -> str:
    """The manifest written beside a raw-zone data file (`<stem>.manifest.json`)."""
    return uri.rsplit(".", 1)[0] + SIDECAR_SUFFIX


def ingest_date_of(uri: str) -> date | None:
    match = _INGEST_DATE.search(uri)
    return date.fromisoformat(match.group(1)) if match else None


def in_ingest_dates(uri: str, start: date | None, end: date | None) -> bool:
    """True when no date range is asked for, or the file's ingest_date partition is in [start, end]."""
    if start is None and end is None:
        return True
    day = ingest_date_of(uri)
    return day is not None and (start is None or day >= start) and (end is None or day <= end)
