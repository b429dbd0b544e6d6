"""The ingest against a real HTTP server on 127.0.0.1 (pytest-httpserver), landing in a local lake and
in S3 (moto's server over HTTP): retries, refusals and write-once behaviour, checked by reading back
what is in the lake with plain file / boto3 calls."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import subprocess
import sys
import time
import tracemalloc
import uuid
import zlib
from datetime import date
from pathlib import Path

import boto3
import pytest
from werkzeug import Response

from spacex_launches.common.s3 import S3Settings
from spacex_launches.common.settings import Settings, load_settings
from spacex_launches.exceptions import IngestError, PayloadRefused
from spacex_launches.ingest.fetch import CHUNK_BYTES, MIB, ingest, raw_store
from support.paths import REPO, SAMPLE_DIR, SNAPSHOT_FILE

pytestmark = pytest.mark.integration

PATH = "/v5/launches"
RAW = "raw/spacex/launches"


@pytest.fixture(scope="session")
def payload() -> bytes:
    """The real snapshot when it is there, else the repo's own sample (both API v5 arrays)."""
    source = SNAPSHOT_FILE if SNAPSHOT_FILE.is_file() else SAMPLE_DIR / "20240101T060000Z-api-v5.json"
    return source.read_bytes()


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "lake")
    request.getfixturevalue("aws_env")
    bucket = f"ingest-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/lake"


@pytest.fixture
def config(lake) -> Settings:
    """The local config (with AWS_ENDPOINT_URL pointing S3 at moto), with short timeouts and backoff."""
    config = load_settings("local")
    config = with_api(
        config, max_attempts=3, backoff_base_s=0.01, backoff_max_s=2, connect_timeout_s=2, read_timeout_s=2
    )
    return config


def with_api(config: Settings, **values) -> Settings:
    """`config` with other api.* values (the settings are frozen: a changed copy)."""
    return dataclasses.replace(config, api=dataclasses.replace(config.api, **values))


def lake_objects(lake: str) -> dict[str, bytes]:
    """Every object under the lake's raw zone, name relative to the raw root -> content."""
    if lake.startswith("s3://"):
        bucket, prefix = lake[5:].split("/", 1)
        client = boto3.client("s3")
        listing = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/{RAW}/").get("Contents", [])
        return {
            item["Key"][len(f"{prefix}/{RAW}/") :]: client.get_object(Bucket=bucket, Key=item["Key"])[
                "Body"
            ].read()
            for item in listing
        }
    root = Path(lake) / RAW
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def data_objects(objects: dict[str, bytes]) -> dict[str, bytes]:
    return {name: body for name, body in objects.items() if not name.endswith(".manifest.json")}


def test_lands_the_body_byte_for_byte_with_a_manifest(httpserver, config, lake, payload):
    httpserver.expect_request(PATH).respond_with_data(
        payload, content_type="application/json", headers={"ETag": '"v1"'}
    )

    result = ingest(config, lake=lake, url=httpserver.url_for(PATH))

    objects = lake_objects(lake)
    (name, body), *others = data_objects(objects).items()
    assert not others and body == payload
    sha256 = hashlib.sha256(payload).hexdigest()
    partition, filename = name.split("/")
    assert partition == f"ingest_date={time.strftime('%Y-%m-%d', time.gmtime())}"
    assert filename.endswith(f"Z-{sha256[:16]}.json")
    manifest = json.loads(objects[name.removesuffix(".json") + ".manifest.json"])
    assert manifest["sha256"] == sha256
    assert manifest["bytes"] == len(payload)
    assert manifest["records"] == len(json.loads(payload)) == result.records
    assert (manifest["http_status"], manifest["etag"]) == (200, '"v1"')
    assert manifest["source_url"] == httpserver.url_for(PATH)
    assert result.outcome == "landed" and result.location.endswith(name)


def test_retries_503_then_lands(httpserver, config, lake, payload, caplog):
    httpserver.expect_ordered_request(PATH).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(PATH).respond_with_data(
        "busy", status=503, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request(PATH).respond_with_data(payload, content_type="application/json")

    with caplog.at_level(logging.WARNING, logger="spacex_launches.ingest.fetch"):
        result = ingest(config, lake=lake, url=httpserver.url_for(PATH))

    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert all("HTTP 503" in message for message in retries)
    assert "attempt 1 of 3" in retries[0] and "attempt 2 of 3" in retries[1]
    assert "Retry-After 1 s" in retries[1] and "retrying in 1.00 s" in retries[1]
    assert result.attempts == 3
    assert list(data_objects(lake_objects(lake)).values()) == [payload]


def test_always_500_is_a_clear_error_and_writes_nothing(httpserver, config, lake):
    httpserver.expect_request(PATH).respond_with_data("boom", status=500)

    with pytest.raises(IngestError, match=r"failed after 3 attempt\(s\): HTTP 500"):
        ingest(config, lake=lake, url=httpserver.url_for(PATH))

    assert len(httpserver.log) == 3
    assert lake_objects(lake) == {}


def test_a_read_timeout_is_a_clear_error(httpserver, config, lake, payload):
    def slow(request):
        time.sleep(1.5)
        return Response(payload, content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(slow)
    config = with_api(config, read_timeout_s=0.3, max_attempts=2)

    with pytest.raises(IngestError, match=r"failed after 2 attempt\(s\): .*[Tt]imed? ?out"):
        ingest(config, lake=lake, url=httpserver.url_for(PATH))
    assert lake_objects(lake) == {}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "looks like HTML"),
        (None, "not valid JSON .* truncated or malformed"),
        (b'{"id": "x"}', "expected a JSON array of launches, got a JSON dict"),
        (b'[{"id": "a"}, {"name": "no id"}]', "element 1 has no 'id'"),
    ],
    ids=["html", "truncated", "object", "no-id"],
)
def test_a_bad_payload_is_refused_and_nothing_written(httpserver, config, lake, payload, body, reason):
    body = payload[: len(payload) // 2] if body is None else body
    httpserver.expect_request(PATH).respond_with_data(body, content_type="application/json")

    with pytest.raises(PayloadRefused, match=reason):
        ingest(config, lake=lake, url=httpserver.url_for(PATH))
    assert lake_objects(lake) == {}


def test_an_identical_second_fetch_writes_nothing(httpserver, config, lake, payload):
    httpserver.expect_request(PATH).respond_with_data(payload, content_type="application/json")
    first = ingest(config, lake=lake, url=httpserver.url_for(PATH))
    before = lake_objects(lake)
    time.sleep(1.1)  # a later timestamp: the object name alone would differ

    second = ingest(config, lake=lake, url=httpserver.url_for(PATH))

    assert (first.outcome, second.outcome) == ("landed", "unchanged")
    assert second.location == first.location
    assert lake_objects(lake) == before


def test_a_changed_second_fetch_lands_a_new_object_and_keeps_the_old(httpserver, config, lake, payload):
    launches = json.loads(payload)
    launches[0]["details"] = "corrected by the API"
    changed = json.dumps(launches).encode()
    httpserver.expect_ordered_request(PATH).respond_with_data(payload, content_type="application/json")
    httpserver.expect_ordered_request(PATH).respond_with_data(changed, content_type="application/json")
    first = ingest(config, lake=lake, url=httpserver.url_for(PATH))

    second = ingest(config, lake=lake, url=httpserver.url_for(PATH))

    assert second.outcome == "landed" and second.location != first.location
    data = data_objects(lake_objects(lake))
    assert sorted(data.values()) == sorted([payload, changed])
    assert data[first.location.split(f"{RAW}/")[1]] == payload


def test_a_run_date_lands_in_its_own_partition_once(httpserver, config, lake, payload):
    """An orchestrated run passes its date: the response lands in that partition (named by its real fetch
    time); running that date again fetches nothing, whatever the API serves by then."""
    httpserver.expect_ordered_request(PATH).respond_with_data(payload, content_type="application/json")
    run_date = date(2024, 2, 29)
    first = ingest(config, lake=lake, url=httpserver.url_for(PATH), ingest_date=run_date)
    before = lake_objects(lake)
    [name] = data_objects(before)
    assert name.startswith("ingest_date=2024-02-29/") and name.split("/")[1].startswith(
        time.strftime("%Y%m%d")
    )

    again = ingest(config, lake=lake, url=httpserver.url_for(PATH), ingest_date=run_date)

    assert (first.outcome, again.outcome) == ("landed", "present")
    assert (again.location, again.sha256, again.records) == (first.location, first.sha256, first.records)
    assert len(httpserver.log) == 1 and lake_objects(lake) == before


def test_an_empty_array_after_launches_is_refused(httpserver, config, lake, payload):
    httpserver.expect_ordered_request(PATH).respond_with_data(payload, content_type="application/json")
    httpserver.expect_ordered_request(PATH).respond_with_data(b"[]", content_type="application/json")
    ingest(config, lake=lake, url=httpserver.url_for(PATH))
    before = lake_objects(lake)

    with pytest.raises(PayloadRefused, match=r"empty array, but the previous ingest .* had \d+ records"):
        ingest(config, lake=lake, url=httpserver.url_for(PATH))
    assert lake_objects(lake) == before


def test_a_landed_object_is_never_overwritten(config, lake):
    store = raw_store(lake, S3Settings.from_config(config))
    name = "ingest_date=2026-01-01/20260101T000000Z-0123456789abcdef.json"

    first = store.put_new(name, b'[{"id": "a"}]', "application/json")
    second = store.put_new(name, b'[{"id": "b"}]', "application/json")

    assert (first, second) == (True, False)
    assert lake_objects(lake) == {name: b'[{"id": "a"}]'}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "jobs" / "ingest_launches.py"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


def test_cli_prints_what_it_did_and_exits_non_zero_on_refusal(httpserver, tmp_path, payload):
    lake = tmp_path / "lake"
    httpserver.expect_ordered_request(PATH).respond_with_data(payload, content_type="application/json")
    httpserver.expect_ordered_request(PATH).respond_with_data(payload, content_type="application/json")
    httpserver.expect_ordered_request(PATH).respond_with_data(b"<html>oops</html>", content_type="text/html")
    url = httpserver.url_for(PATH)

    landed = run_cli("--url", url, "--lake", str(lake))
    unchanged = run_cli("--url", url, "--lake", str(lake))
    refused = run_cli("--url", url, "--lake", str(lake))

    assert landed.returncode == 0, landed.stderr
    for text in (url, "HTTP 200", f"{len(payload):,}", f"records    {len(json.loads(payload)):,}"):
        assert text in landed.stdout
    landed_at = next(line.split()[-1] for line in landed.stdout.splitlines() if "landed " in line)
    assert Path(landed_at).read_bytes() == payload
    assert unchanged.returncode == 0 and "nothing new written" in unchanged.stdout
    assert refused.returncode == 2
    assert "REFUSED" in refused.stderr and "looks like HTML" in refused.stderr and url in refused.stderr
    assert len(data_objects(lake_objects(str(lake)))) == 1


# Hostile servers (issue 12): every attempt is bounded in time, size and redirects, and a URL's secrets
# never reach the terminal, the logs or the lake.

SECRETS = ("S3cr3tPw", "K3yV4lue", "Oth3rPw", "T0kV4lue", "L00pPw")


@pytest.fixture
def local_lake(tmp_path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture
def local_config() -> Settings:
    config = load_settings("local", environ={})
    config = with_api(
        config, max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.1, connect_timeout_s=2, read_timeout_s=2
    )
    return config


def with_userinfo(url: str, userinfo: str) -> str:
    return url.replace("http://", f"http://{userinfo}@", 1)


def test_a_dripping_server_is_cut_off_at_the_attempt_deadline(httpserver, local_config, local_lake):
    def drip(request):
        def body():
            yield b"["
            for _ in range(240):  # a byte every 0.25 s, well inside the read timeout, for up to a minute
                time.sleep(0.25)
                yield b" "

        return Response(body(), headers={"Content-Length": "100000"}, content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(drip)
    local_config = with_api(local_config, attempt_deadline_s=1.5)
    url = httpserver.url_for(PATH) + "?api_key=K3yV4lue"

    with pytest.raises(IngestError) as error:
        ingest(local_config, lake=local_lake, url=url)

    message = str(error.value)
    assert message.startswith(f"GET {httpserver.url_for(PATH)}?api_key=*** failed after 2 attempt(s): ")
    assert "the attempt's deadline of 1.5 s (api.attempt_deadline_s) passed with " in message
    assert "K3yV4lue" not in message
    assert lake_objects(local_lake) == {}


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_over_max_body_mb_is_refused_and_nothing_landed(
    httpserver, local_config, local_lake, declared
):
    """300 MB offered (a 1 MiB block repeated, never held by the test), 64 KiB allowed: refused on the
    declared length, or as soon as the streamed body passes the cap; not retried."""
    block = b" " * MIB

    def huge(request):
        headers = {"Content-Length": str(300 * MIB)} if declared else {}
        return Response((block for _ in range(300)), headers=headers, content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(huge)
    local_config = with_api(local_config, max_body_mb=1 / 16)

    with pytest.raises(PayloadRefused, match=r"over api.max_body_mb \(0.0625 MiB, 65,536 bytes\)") as error:
        ingest(local_config, lake=local_lake, url=httpserver.url_for(PATH))

    if declared:
        assert f"Content-Length {300 * MIB:,} bytes is over" in str(error.value)
    else:
        received = int(str(error.value).split(": ")[1].split()[0].replace(",", ""))
        assert 64 * 1024 < received <= 64 * 1024 + CHUNK_BYTES
    assert len(httpserver.log) == 1
    assert lake_objects(local_lake) == {}


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 1 MB of gzip that expands to 1 GiB of zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MIB)
    return b"".join(compressor.compress(zeros) for _ in range(1024)) + compressor.flush()


def test_a_gzip_bomb_is_refused_without_being_expanded_whole(httpserver, local_config, local_lake, gzip_bomb):
    httpserver.expect_request(PATH).respond_with_data(
        gzip_bomb, content_type="application/json", headers={"Content-Encoding": "gzip"}
    )
    local_config = with_api(local_config, max_decompressed_mb=1)

    tracemalloc.start()
    try:
        with pytest.raises(PayloadRefused) as error:
            ingest(local_config, lake=local_lake, url=httpserver.url_for(PATH))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(gzip_bomb) < 1.1 * MIB
    assert f"decode to more than {MIB:,} bytes, over api.max_decompressed_mb (1 MiB)" in str(error.value)
    assert "(gzip)" in str(error.value) and "decompression bomb" in str(error.value)
    assert peak < 16 * MIB  # the 1 GiB was never held: at most the cap and a few 64 KiB pieces
    assert len(httpserver.log) == 1
    assert lake_objects(local_lake) == {}


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_a_compressed_response_under_the_caps_lands_decoded(
    httpserver, local_config, local_lake, payload, coding
):
    wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    compressed = compressor.compress(payload) + compressor.flush()
    httpserver.expect_request(PATH).respond_with_data(
        compressed, content_type="application/json", headers={"Content-Encoding": coding}
    )
    local_config = with_api(
        local_config, max_body_mb=len(compressed) / MIB * 1.01, max_decompressed_mb=len(payload) / MIB
    )

    result = ingest(local_config, lake=local_lake, url=httpserver.url_for(PATH))

    assert httpserver.log[0][0].headers["Accept-Encoding"] == "gzip, deflate"
    assert result.outcome == "landed" and result.bytes == len(payload)
    assert list(data_objects(lake_objects(local_lake)).values()) == [payload]


def test_an_unknown_content_encoding_is_refused(httpserver, local_config, local_lake, payload):
    httpserver.expect_request(PATH).respond_with_data(payload, headers={"Content-Encoding": "br"})

    with pytest.raises(PayloadRefused, match=r"Content-Encoding 'br' is not one of identity, gzip"):
        ingest(local_config, lake=local_lake, url=httpserver.url_for(PATH))
    assert lake_objects(local_lake) == {}


def test_a_redirect_loop_ends_with_an_error_naming_the_url_masked(httpserver, local_config, local_lake):
    loop = with_userinfo(httpserver.url_for(PATH), "evil:L00pPw") + "?token=T0kV4lue"
    httpserver.expect_request(PATH).respond_with_data("", status=302, headers={"Location": loop})
    url = with_userinfo(httpserver.url_for(PATH), "user:S3cr3tPw") + "?api_key=K3yV4lue"

    with pytest.raises(IngestError) as error:
        ingest(local_config, lake=local_lake, url=url)

    masked = with_userinfo(httpserver.url_for(PATH), "user:***") + "?api_key=***"
    masked_loop = with_userinfo(httpserver.url_for(PATH), "evil:***") + "?token=***"
    assert str(error.value) == (
        f"GET {masked}: more than 5 redirects (api.max_redirects), the last to {masked_loop}: a redirect loop?"
    )
    assert len(httpserver.log) == 6  # the first GET and 5 redirects followed; not retried
    assert lake_objects(local_lake) == {}


def test_a_redirect_away_from_http_is_refused(httpserver, local_config, local_lake):
    httpserver.expect_request(PATH).respond_with_data(
        "", status=301, headers={"Location": "file://root:Pl4nted@localhost/etc/passwd"}
    )

    with pytest.raises(IngestError) as error:
        ingest(local_config, lake=local_lake, url=httpserver.url_for(PATH))

    assert str(error.value) == (
        f"GET {httpserver.url_for(PATH)}: redirected to file://root:***@localhost/etc/passwd, not http(s)"
    )
    assert lake_objects(local_lake) == {}


def test_secrets_in_the_url_never_reach_the_terminal_logs_or_lake(httpserver, tmp_path, payload):
    """Four CLI runs with a URL carrying user:password@ and api_key=, redirected to one carrying its
    own: landed, unchanged after a 503 (a logged retry), refused (HTML), a redirect loop."""
    lake = tmp_path / "lake"
    final = with_userinfo(httpserver.url_for("/final"), "other:Oth3rPw") + "?token=T0kV4lue"
    loop = with_userinfo(httpserver.url_for(PATH), "evil:L00pPw")
    redirect = {"response_data": "", "status": 302, "headers": {"Location": final}}
    for path, response in [
        (PATH, redirect),
        ("/final", {"response_data": payload}),
        (PATH, {"response_data": "busy", "status": 503}),
        (PATH, redirect),
        ("/final", {"response_data": payload}),
        (PATH, redirect),
        ("/final", {"response_data": b"<html>maintenance</html>"}),
    ]:
        httpserver.expect_ordered_request(path).respond_with_data(**response)
    for _ in range(6):
        httpserver.expect_ordered_request(PATH).respond_with_data("", status=307, headers={"Location": loop})
    url = with_userinfo(httpserver.url_for(PATH), "user:S3cr3tPw") + "?api_key=K3yV4lue"

    runs = [run_cli("--url", url, "--lake", str(lake)) for _ in range(4)]

    assert [run.returncode for run in runs] == [0, 0, 2, 2], runs[-1].stderr
    assert "LANDED" in runs[0].stdout and "UNCHANGED" in runs[1].stdout
    assert "HTTP 503" in runs[1].stderr and "retrying" in runs[1].stderr
    assert "REFUSED" in runs[2].stderr and "a redirect loop?" in runs[3].stderr
    masked = with_userinfo(httpserver.url_for(PATH), "user:***") + "?api_key=***"
    assert f"ingest {masked}: LANDED" in runs[0].stdout
    first = httpserver.log[0][0]
    assert (first.authorization.username, first.authorization.password) == ("user", "S3cr3tPw")
    assert httpserver.log[1][0].authorization.username == "other"  # the target's own userinfo
    manifests = [json.loads(body) for name, body in lake_objects(str(lake)).items() if "manifest" in name]
    assert [(m["source_url"], m["final_url"]) for m in manifests] == [
        (masked, with_userinfo(httpserver.url_for("/final"), "other:***") + "?token=***")
    ]
    outputs = [run.stdout + run.stderr for run in runs]
    files = [path.read_bytes().decode("utf-8", "replace") for path in lake.rglob("*") if path.is_file()]
    for secret in SECRETS:
        assert not [text for text in outputs + files if secret in text], secret
