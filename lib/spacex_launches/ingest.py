"""Ingest: GET the SpaceX /launches endpoint and land the response in the raw zone, byte for byte.

The raw zone is the only copy of history, so it is write-once:
`<lake>/raw/spacex/launches/ingest_date=YYYY-MM-DD/<UTC timestamp>-<sha256 prefix>.json` plus a sidecar
`<same name>.manifest.json`. An object is never replaced: local files are created with a hard link
(which fails if the name exists), S3 objects with a conditional PUT (`If-None-Match: *`) after a check.
A response identical to one already landed the same day writes nothing. A response that is not a JSON
array of objects with an `id` (an HTML error page, a truncated body, an empty array where the previous
ingest had launches) is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests

from spacex_launches.config import ConfigError, get_dotted, require
from spacex_launches.lake import SIDECAR_SUFFIX, LakePaths
from spacex_launches.s3 import S3Settings, is_s3_uri, split_s3_uri

log = logging.getLogger(__name__)

API_VERSIONS = ("v4", "v5")
SHA_PREFIX_CHARS = 16
_RETRYABLE_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class IngestError(RuntimeError):
    """The endpoint could not be fetched (after every retry); nothing was written."""


class PayloadRefused(IngestError):
    """The response is not a usable launches array; nothing was written."""


@dataclass(frozen=True)
class FetchSettings:
    url: str
    api_version: str = "v5"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0

    @classmethod
    def from_config(cls, config: dict[str, Any], url: str | None = None) -> FetchSettings:
        """`url` (the full endpoint) overrides `<api.base_url>/<api.version>/launches`."""
        version = str(get_dotted(config, "api.version", "v5"))
        if version not in API_VERSIONS:
            raise ConfigError(f"api.version must be one of {', '.join(API_VERSIONS)}, got {version!r}")
        if not url:
            url = f"{str(require(config, 'api.base_url')).rstrip('/')}/{version}/launches"
        api = get_dotted(config, "api", {})
        return cls(
            url=url,
            api_version=version,
            connect_timeout=float(api.get("connect_timeout_s", cls.connect_timeout)),
            read_timeout=float(api.get("read_timeout_s", cls.read_timeout)),
            max_attempts=max(1, int(api.get("max_attempts", cls.max_attempts))),
            backoff_base=float(api.get("backoff_base_s", cls.backoff_base)),
            backoff_max=float(api.get("backoff_max_s", cls.backoff_max)),
        )


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    body: bytes
    fetched_at: datetime
    attempts: int = 1
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from now; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff_delay(settings: FetchSettings, attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (half fixed, half random), at least the server's Retry-After;
    never more than backoff_max."""
    ceiling = min(settings.backoff_max, settings.backoff_base * 2 ** (attempt - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, settings.backoff_max)


def fetch(settings: FetchSettings, session: requests.Session | None = None) -> Fetched:
    """GET the endpoint; retry connection errors, timeouts, 429 and 5xx; raise IngestError at the end."""
    session = session or requests.Session()
    headers = {"Accept": "application/json", "User-Agent": "spacex-launches-ingest"}
    problem = "no attempt made"
    for attempt in range(1, settings.max_attempts + 1):
        retry_after = None
        try:
            response = session.get(
                settings.url, headers=headers, timeout=(settings.connect_timeout, settings.read_timeout)
            )
        except _RETRYABLE_ERRORS as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 200:
                return Fetched(
                    url=settings.url,
                    status=response.status_code,
                    body=response.content,
                    fetched_at=datetime.now(UTC),
                    attempts=attempt,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                    content_type=response.headers.get("Content-Type"),
                )
            if response.status_code != 429 and response.status_code < 500:
                raise IngestError(
                    f"GET {settings.url}: HTTP {response.status_code} {response.reason} (not retried)"
                )
            problem = f"HTTP {response.status_code} {response.reason}"
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if attempt == settings.max_attempts:
            break
        delay = backoff_delay(settings, attempt, retry_after)
        log.warning(
            "GET %s: %s (attempt %d of %d); retrying in %.2f s%s",
            settings.url,
            problem,
            attempt,
            settings.max_attempts,
            delay,
            f" (Retry-After {retry_after:g} s)" if retry_after is not None else "",
        )
        time.sleep(delay)
    raise IngestError(f"GET {settings.url} failed after {settings.max_attempts} attempt(s): {problem}")


def check_payload(body: bytes) -> int:
    """The number of launches in `body`, or PayloadRefused if it is not a JSON array of objects with an id."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadRefused(f"response is not UTF-8 text: {exc}") from exc
    except json.JSONDecodeError as exc:
        head = body.lstrip()[:60]
        if head.startswith(b"<"):
            raise PayloadRefused(f"response looks like HTML, not JSON: {head!r}") from exc
        raise PayloadRefused(
            f"response is not valid JSON ({exc.msg} at byte {exc.pos} of {len(body)}): truncated or malformed"
        ) from exc
    if not isinstance(data, list):
        raise PayloadRefused(f"expected a JSON array of launches, got a JSON {type(data).__name__}")
    for position, element in enumerate(data):
        if not isinstance(element, dict):
            raise PayloadRefused(f"element {position} is a {type(element).__name__}, not a launch object")
        if not isinstance(element.get("id"), str) or not element["id"]:
            raise PayloadRefused(f"element {position} has no 'id'")
    return len(data)


class LocalRaw:
    """The raw zone in a local directory."""

    def __init__(self, root: str):
        self.root = Path(root)

    def uri(self, name: str) -> str:
        return str(self.root / name)

    def list_names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            path.relative_to(self.root).as_posix() for path in self.root.rglob("*") if path.is_file()
        )

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def put_new(self, name: str, body: bytes, content_type: str) -> bool:
        """Write `name` unless it exists (then False). Written to a hidden temporary file first and
        hard-linked into place, which is atomic and fails on an existing name; left read-only."""
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
        try:
            with open(temporary, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, target)
        except FileExistsError:
            return False
        finally:
            temporary.unlink(missing_ok=True)
        target.chmod(0o444)
        return True


class S3Raw:
    """The raw zone under an S3 prefix (endpoint, region and addressing from the config)."""

    def __init__(self, root: str, settings: S3Settings, client=None):
        self.bucket, self.prefix = split_s3_uri(root)
        self.client = client or settings.client()

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def uri(self, name: str) -> str:
        return f"s3://{self.bucket}/{self._key(name)}"

    def list_names(self) -> list[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        names = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            names += [item["Key"][len(start) :] for item in page.get("Contents", [])]
        return sorted(names)

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise
        return True

    def put_new(self, name: str, body: bytes, content_type: str) -> bool:
        """Write `name` unless it exists (then False): checked first, then a conditional PUT so a
        concurrent writer cannot be overwritten either; a server without conditional writes (HTTP 501)
        gets a plain PUT after the check."""
        from botocore.exceptions import ClientError

        key = self._key(name)
        if self._exists(key):
            return False
        put = {"Bucket": self.bucket, "Key": key, "Body": body, "ContentType": content_type}
        try:
            self.client.put_object(**put, IfNoneMatch="*")
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = exc.response.get("Error", {}).get("Code")
            if status == 412 or code in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            if status != 501 and code != "NotImplemented":
                raise
            log.warning("s3://%s: no conditional writes on this server; relying on the check", self.bucket)
            self.client.put_object(**put)
        return True


def raw_store(lake: str, settings: S3Settings) -> LocalRaw | S3Raw:
    root = LakePaths.at(lake).raw_launches
    return S3Raw(root, settings) if is_s3_uri(root) else LocalRaw(root)


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # "landed" | "unchanged"
    url: str
    status: int
    attempts: int
    bytes: int
    records: int
    sha256: str
    location: str
    manifest: str | None = None


def _names(fetched: Fetched, sha256: str) -> tuple[str, str, str]:
    """(partition, data file name, manifest name) for a response."""
    partition = f"ingest_date={fetched.fetched_at:%Y-%m-%d}"
    stem = f"{partition}/{fetched.fetched_at:%Y%m%dT%H%M%SZ}-{sha256[:SHA_PREFIX_CHARS]}"
    return partition, f"{stem}.json", stem + SIDECAR_SUFFIX


def _previous_manifest(store: LocalRaw | S3Raw, names: list[str]) -> dict[str, Any] | None:
    """The newest manifest in the raw zone (names sort by date, then time)."""
    manifests = [name for name in names if name.endswith(SIDECAR_SUFFIX)]
    return json.loads(store.read(manifests[-1])) if manifests else None


def land(store: LocalRaw | S3Raw, fetched: Fetched, api_version: str) -> IngestResult:
    """Check the response and write it (and its manifest) once. Raises PayloadRefused."""
    names = store.list_names()
    try:
        records = check_payload(fetched.body)
        previous = _previous_manifest(store, names)
        if records == 0 and previous and previous.get("records"):
            raise PayloadRefused(
                f"empty launches array, but the previous ingest ({previous.get('object')}) had "
                f"{previous['records']} launches"
            )
    except PayloadRefused as exc:
        raise PayloadRefused(
            f"GET {fetched.url}: HTTP {fetched.status}, {len(fetched.body):,} bytes: {exc}"
        ) from exc.__cause__
    sha256 = hashlib.sha256(fetched.body).hexdigest()
    partition, name, manifest_name = _names(fetched, sha256)
    result = {
        "url": fetched.url,
        "status": fetched.status,
        "attempts": fetched.attempts,
        "bytes": len(fetched.body),
        "records": records,
        "sha256": sha256,
    }
    same_day = [
        n for n in names if n.startswith(f"{partition}/") and n.endswith(f"-{sha256[:SHA_PREFIX_CHARS]}.json")
    ]
    if same_day:
        return IngestResult("unchanged", location=store.uri(same_day[0]), **result)
    if not store.put_new(name, fetched.body, "application/json"):
        return IngestResult("unchanged", location=store.uri(name), **result)
    manifest = {
        "object": store.uri(name),
        "source_url": fetched.url,
        "api_version": api_version,
        "http_status": fetched.status,
        "etag": fetched.etag,
        "last_modified": fetched.last_modified,
        "content_type": fetched.content_type,
        "sha256": sha256,
        "bytes": len(fetched.body),
        "records": records,
        "fetched_at": fetched.fetched_at.isoformat(),
        "attempts": fetched.attempts,
    }
    store.put_new(manifest_name, json.dumps(manifest, indent=2).encode("utf-8"), "application/json")
    return IngestResult("landed", location=store.uri(name), manifest=store.uri(manifest_name), **result)


def ingest(config: dict[str, Any], lake: str | None = None, url: str | None = None) -> IngestResult:
    """Fetch once (with retries) and land the response in `lake` (default: the config's lake)."""
    settings = FetchSettings.from_config(config, url)
    store = raw_store(lake or require(config, "lake"), S3Settings.from_config(config))
    return land(store, fetch(settings), settings.api_version)
