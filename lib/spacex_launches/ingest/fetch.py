"""Ingest: GET the SpaceX /launches endpoint and land the response in the raw zone, byte for byte.

The raw zone is the only copy of history, so it is write-once:
`<lake>/raw/spacex/launches/ingest_date=YYYY-MM-DD/<UTC timestamp>-<sha256 prefix>.json` plus a sidecar
`<same name>.manifest.json`. An object is never replaced: local files are created with a hard link
(which fails if the name exists), S3 objects with a conditional PUT (`If-None-Match: *`) after a check.
A response identical to one already landed the same day writes nothing. A response that is not a JSON
array of objects with an `id` (an HTML error page, a truncated body, an empty array where the previous
ingest had launches) is refused before anything is written.

Every attempt is bounded: connect and read timeouts, a wall-clock deadline, a cap on the body as received
and once decoded (gzip/deflate), and a number of redirects (conf `api.*`); the attempts together by a
total deadline (`api.total_deadline_s`, backoff included). The endpoint is printed,
logged and stored with its secrets masked (`spacex_launches.common.redact`).

The partition is the fetch's UTC date, or the run date an orchestrated run passes (`ingest_date`): that
run's Spark job reads exactly that partition. A run for a date whose partition already holds a response
fetches nothing: re-running an old date re-processes that date's data, not today's API.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from spacex_launches.common.paths import RAW_DATASETS, SIDECAR_SUFFIX, LakePaths
from spacex_launches.common.redact import redact_location, redact_text
from spacex_launches.common.s3 import S3Settings, is_s3_uri, split_s3_uri
from spacex_launches.common.settings import Settings
from spacex_launches.exceptions import ConfigError, IngestError, PayloadRefused

log = logging.getLogger(__name__)

API_VERSIONS = ("v4", "v5")
DATASETS = RAW_DATASETS
SHA_PREFIX_CHARS = 16
MIB = 1024 * 1024
CHUNK_BYTES = 64 * 1024
# Only the codings whose urllib3 decoders honour a size bound per read (urllib3 >= 2.7); also what we ask for.
CONTENT_ENCODINGS = ("identity", "gzip", "x-gzip", "deflate")
_RETRYABLE_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class _AttemptFailed(Exception):
    """One attempt failed in a way another attempt may not (connection, timeout, deadline, 429/5xx)."""

    def __init__(self, problem: str, retry_after: float | None = None):
        super().__init__(problem)
        self.retry_after = retry_after


def _api_number(value: Any, key: str, env: str | None, minimum: float = 0.0, above: bool = True):
    """`value` of `api.<key>` as a number above (or, with above=False, at least) `minimum`; ConfigError
    otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number > minimum if above else number >= minimum):
        bound = f"above {minimum:g}" if above else f"at least {minimum:g}"
        raise ConfigError(f"api.{key} (conf/{env}.yaml) must be a number {bound}, got {value!r}")
    return number


@dataclass(frozen=True)
class FetchSettings:
    url: str = field(repr=False)  # may carry a user:password or an api_key: print display_url
    api_version: str = "v5"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    attempt_deadline: float = 120.0
    total_deadline: float = 180.0  # every attempt and backoff together
    max_body_bytes: int = 32 * MIB
    max_decoded_bytes: int = 64 * MIB
    max_redirects: int = 5

    @property
    def display_url(self) -> str:
        return redact_location(self.url)

    @classmethod
    def from_config(
        cls, config: Settings, url: str | None = None, dataset: str = "launches"
    ) -> FetchSettings:
        """`url` (the full endpoint) overrides `<api.base_url>/<api.version>/launches`, or for
        `dataset` "cores" `<api.base_url>/v4/cores` (the API serves /cores under v4 only)."""
        api, env = config.api, config.env
        version = str(api.version)
        if version not in API_VERSIONS:
            raise ConfigError(f"api.version must be one of {', '.join(API_VERSIONS)}, got {version!r}")
        if dataset not in DATASETS:
            raise ConfigError(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
        if dataset == "cores":
            version = "v4"
        if not url:
            url = f"{str(api.required.base_url).rstrip('/')}/{version}/{dataset}"
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"the API URL must be http(s)://host/..., got {redact_location(url)!r}")

        return cls(
            url=url,
            api_version=version,
            connect_timeout=_api_number(api.connect_timeout_s, "connect_timeout_s", env),
            read_timeout=_api_number(api.read_timeout_s, "read_timeout_s", env),
            max_attempts=int(_api_number(api.max_attempts, "max_attempts", env, 1, above=False)),
            backoff_base=_api_number(api.backoff_base_s, "backoff_base_s", env, above=False),
            backoff_max=_api_number(api.backoff_max_s, "backoff_max_s", env, above=False),
            attempt_deadline=_api_number(api.attempt_deadline_s, "attempt_deadline_s", env),
            total_deadline=_api_number(api.total_deadline_s, "total_deadline_s", env),
            max_body_bytes=int(_api_number(api.max_body_mb, "max_body_mb", env) * MIB),
            max_decoded_bytes=int(_api_number(api.max_decompressed_mb, "max_decompressed_mb", env) * MIB),
            max_redirects=int(_api_number(api.max_redirects, "max_redirects", env, above=False)),
        )


@dataclass(frozen=True)
class Fetched:
    url: str  # the endpoint asked for, secrets masked (safe to print and store)
    status: int
    body: bytes
    fetched_at: datetime
    attempts: int = 1
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    final_url: str | None = None  # where the body came from after redirects, secrets masked


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
    """GET the endpoint; retry connection errors, timeouts, a passed deadline, 429 and 5xx, all within
    the total deadline; raise IngestError at the end (PayloadRefused for a body over a size limit: not
    retried)."""
    own_session = session is None
    session = session or requests.Session()
    stop_at = time.monotonic() + settings.total_deadline
    problem = "no attempt made"
    try:
        for attempt in range(1, settings.max_attempts + 1):
            try:
                return _attempt(settings, session, attempt, stop_at)
            except _AttemptFailed as exc:
                problem, retry_after = str(exc), exc.retry_after
            if attempt == settings.max_attempts:
                break
            delay = backoff_delay(settings, attempt, retry_after)
            if time.monotonic() + delay >= stop_at:
                raise IngestError(
                    f"GET {settings.display_url}: gave up after {attempt} attempt(s): the next one would start "
                    f"after the total deadline of {settings.total_deadline:g} s (api.total_deadline_s); "
                    f"last problem: {problem}"
                )
            log.warning(
                "GET %s: %s (attempt %d of %d); retrying in %.2f s%s",
                settings.display_url,
                problem,
                attempt,
                settings.max_attempts,
                delay,
                f" (Retry-After {retry_after:g} s)" if retry_after is not None else "",
            )
            time.sleep(delay)
    finally:
        if own_session:
            session.close()
    raise IngestError(
        f"GET {settings.display_url} failed after {settings.max_attempts} attempt(s): {problem}"
    )


def _attempt(settings: FetchSettings, session: requests.Session, attempt: int, stop_at: float) -> Fetched:
    """One GET, following at most max_redirects redirects, its body read within the attempt's deadline
    (or by `stop_at`, the total deadline, when that comes first)."""
    attempt_ends = time.monotonic() + settings.attempt_deadline
    if attempt_ends <= stop_at:
        deadline = _Deadline(
            attempt_ends,
            f"the attempt's deadline of {settings.attempt_deadline:g} s (api.attempt_deadline_s)",
        )
    else:
        deadline = _Deadline(
            stop_at, f"the total deadline of {settings.total_deadline:g} s (api.total_deadline_s)"
        )
    url, auth = settings.url, None
    for _ in range(settings.max_redirects + 1):
        response = _get(session, url, auth, settings, deadline)
        target = session.get_redirect_target(response)
        if target is None:
            break
        response.close()  # unread: requests' own redirect handling would read (and decode) the whole body
        target = urljoin(url, target)
        # The URL's user:password goes on to the same host only (as with requests), unless the target
        # names its own.
        carry = not _userinfo(target) and not session.should_strip_auth(url, target)
        auth = (auth or _userinfo(url)) if carry else None
        url = target
        if urlsplit(url).scheme not in ("http", "https"):
            raise IngestError(
                f"GET {settings.display_url}: redirected to {redact_location(url)}, not http(s)"
            )
    else:
        raise IngestError(
            f"GET {settings.display_url}: more than {settings.max_redirects} redirects (api.max_redirects), "
            f"the last to {redact_location(url)}: a redirect loop?"
        )
    with response:
        if response.status_code != 200:
            problem = f"HTTP {response.status_code} {response.reason}"
            if response.status_code != 429 and response.status_code < 500:
                raise IngestError(f"GET {settings.display_url}: {problem} (not retried)")
            raise _AttemptFailed(problem, retry_after_seconds(response.headers.get("Retry-After")))
        body = _read_body(response, settings, deadline)
    return Fetched(
        url=settings.display_url,
        status=response.status_code,
        body=body,
        fetched_at=datetime.now(UTC),
        attempts=attempt,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        content_type=response.headers.get("Content-Type"),
        final_url=redact_location(url),
    )


def _userinfo(url: str) -> tuple[str, str] | None:
    user, password = requests.utils.get_auth_from_url(url)
    return (user, password) if user or password else None


def _get(
    session: requests.Session,
    url: str,
    auth: tuple[str, str] | None,
    settings: FetchSettings,
    deadline: _Deadline,
) -> requests.Response:
    """The response's status and headers; its body is left unread (stream=True)."""
    remaining = deadline.at - time.monotonic()
    if remaining <= 0:
        raise _AttemptFailed(_deadline_passed(settings, 0, deadline))
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate",
        "User-Agent": "spacex-launches-ingest",
    }
    timeout = (min(settings.connect_timeout, remaining), min(settings.read_timeout, remaining))
    try:
        return session.get(
            url, auth=auth, headers=headers, timeout=timeout, stream=True, allow_redirects=False
        )
    except _RETRYABLE_ERRORS as exc:
        raise _AttemptFailed(f"{type(exc).__name__}: {redact_text(str(exc))}") from None
    except requests.RequestException as exc:
        raise IngestError(
            f"GET {redact_location(url)}: {type(exc).__name__}: {redact_text(str(exc))} (not retried)"
        ) from None


def _read_body(response: requests.Response, settings: FetchSettings, deadline: _Deadline) -> bytes:
    """The decoded body, read as it arrives (read1: a dripping server cannot hold one read open past the
    deadline for longer than the read timeout) and refused as soon as it is over a size limit, so neither
    a huge body nor a decompression bomb is ever held whole."""
    where = f"GET {settings.display_url}"
    encoding = response.headers.get("Content-Encoding", "identity").lower()
    codings = [coding.strip() for coding in encoding.split(",")]
    if any(coding not in CONTENT_ENCODINGS for coding in codings):
        raise PayloadRefused(
            f"{where}: Content-Encoding {encoding!r} is not one of {', '.join(CONTENT_ENCODINGS)}"
        )
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > settings.max_body_bytes:
        raise PayloadRefused(f"{where}: Content-Length {int(length):,} bytes is {_over_body_limit(settings)}")
    raw = response.raw
    body = bytearray()
    while True:
        if time.monotonic() > deadline.at:
            raise _AttemptFailed(_deadline_passed(settings, raw.tell(), deadline))
        try:
            chunk = raw.read1(CHUNK_BYTES, decode_content=True)
        except urllib3.exceptions.DecodeError as exc:
            raise PayloadRefused(
                f"{where}: the body is not valid {encoding} ({exc.__cause__ or exc})"
            ) from None
        except urllib3.exceptions.HTTPError as exc:
            raise _AttemptFailed(f"reading the body: {type(exc).__name__}: {redact_text(str(exc))}") from None
        if not chunk:
            return bytes(body)
        body += chunk
        if raw.tell() > settings.max_body_bytes:
            raise PayloadRefused(
                f"{where}: {raw.tell():,} bytes received so far, {_over_body_limit(settings)}"
            )
        if len(body) > settings.max_decoded_bytes:
            raise PayloadRefused(
                f"{where}: {raw.tell():,} bytes received ({encoding}) decode to more than "
                f"{settings.max_decoded_bytes:,} bytes, over api.max_decompressed_mb "
                f"({settings.max_decoded_bytes / MIB:g} MiB): refused (a decompression bomb?)"
            )


def _over_body_limit(settings: FetchSettings) -> str:
    return f"over api.max_body_mb ({settings.max_body_bytes / MIB:g} MiB, {settings.max_body_bytes:,} bytes)"


@dataclass(frozen=True)
class _Deadline:
    at: float  # time.monotonic()
    what: str  # which deadline and its setting


def _deadline_passed(settings: FetchSettings, received: int, deadline: _Deadline) -> str:
    return f"{deadline.what} passed with {received:,} body bytes received"


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


def raw_store(lake: str, settings: S3Settings, dataset: str = "launches") -> LocalRaw | S3Raw:
    root = LakePaths.at(lake).raw(dataset)
    return S3Raw(root, settings) if is_s3_uri(root) else LocalRaw(root)


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # "landed" | "unchanged" | "present" (the date's partition already held a response)
    url: str
    status: int
    attempts: int
    bytes: int
    records: int
    sha256: str
    location: str
    manifest: str | None = None


def partition_of(day: date) -> str:
    return f"ingest_date={day.isoformat()}"


def _names(fetched: Fetched, sha256: str, ingest_date: date | None) -> tuple[str, str, str]:
    """(partition, data file name, manifest name) for a response; the file is named by its fetch time."""
    partition = partition_of(ingest_date or fetched.fetched_at.date())
    stem = f"{partition}/{fetched.fetched_at:%Y%m%dT%H%M%SZ}-{sha256[:SHA_PREFIX_CHARS]}"
    return partition, f"{stem}.json", stem + SIDECAR_SUFFIX


def _previous_manifest(store: LocalRaw | S3Raw, names: list[str]) -> dict[str, Any] | None:
    """The newest manifest in the raw zone (names sort by date, then time)."""
    manifests = [name for name in names if name.endswith(SIDECAR_SUFFIX)]
    return json.loads(store.read(manifests[-1])) if manifests else None


def land(
    store: LocalRaw | S3Raw, fetched: Fetched, api_version: str, ingest_date: date | None = None
) -> IngestResult:
    """Check the response and write it (and its manifest) once, in the partition of `ingest_date`
    (default: the fetch's UTC date). Raises PayloadRefused.
    The URLs in the result and the manifest are masked (they stay in the lake for good)."""
    url = redact_location(fetched.url)
    final_url = redact_location(fetched.final_url) if fetched.final_url else None
    names = store.list_names()
    try:
        records = check_payload(fetched.body)
        previous = _previous_manifest(store, names)
        if records == 0 and previous and previous.get("records"):
            raise PayloadRefused(
                f"empty array, but the previous ingest ({previous.get('object')}) had "
                f"{previous['records']} records"
            )
    except PayloadRefused as exc:
        raise PayloadRefused(
            f"GET {url}: HTTP {fetched.status}, {len(fetched.body):,} bytes: {exc}"
        ) from exc.__cause__
    sha256 = hashlib.sha256(fetched.body).hexdigest()
    partition, name, manifest_name = _names(fetched, sha256, ingest_date)
    result: dict[str, Any] = {
        "url": url,
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
        "source_url": url,
        "final_url": final_url,
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


def already_landed(store: LocalRaw | S3Raw, ingest_date: date) -> IngestResult | None:
    """The newest response landed in `ingest_date`'s partition, from its manifest; None if there is none."""
    partition = f"{partition_of(ingest_date)}/"
    manifests = [n for n in store.list_names() if n.startswith(partition) and n.endswith(SIDECAR_SUFFIX)]
    if not manifests:
        return None
    manifest = json.loads(store.read(manifests[-1]))
    return IngestResult(
        "present",
        url=manifest["source_url"],
        status=manifest["http_status"],
        attempts=0,
        bytes=manifest["bytes"],
        records=manifest["records"],
        sha256=manifest["sha256"],
        location=manifest["object"],
        manifest=store.uri(manifests[-1]),
    )


def ingest(
    config: Settings,
    lake: str | None = None,
    url: str | None = None,
    dataset: str = "launches",
    ingest_date: date | None = None,
) -> IngestResult:
    """Fetch one of the API's datasets once (with retries) and land the response in `lake`'s raw zone
    for it (default: the config's lake), in the partition of `ingest_date` (default: today, UTC). With an
    `ingest_date` whose partition already holds a response, nothing is fetched ("present")."""
    settings = FetchSettings.from_config(config, url, dataset)
    store = raw_store(lake or config.required.lake, S3Settings.from_config(config), dataset)
    if ingest_date is not None and (present := already_landed(store, ingest_date)):
        return present
    return land(store, fetch(settings), settings.api_version, ingest_date)
