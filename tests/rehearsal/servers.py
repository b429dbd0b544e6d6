"""Local servers: moto (S3, Secrets Manager, CloudWatch Logs, emr-containers), a throw-away PostgreSQL
cluster, and an HTTP server that serves a fixed body (the SpaceX API) and records what is posted to it
(the alert webhook). Used by the test fixtures and by `make rehearsal`."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

AWS_REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on a free 127.0.0.1 port in this process (its backends can be driven directly)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def aws_test_environment(endpoint_url: str) -> dict[str, str]:
    """The standard AWS variables that point boto3 and S3A at a local server, with dummy credentials."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": AWS_REGION,
        "AWS_REGION": AWS_REGION,
        "AWS_ENDPOINT_URL": endpoint_url,
    }


def postgres_bindir() -> str | None:
    try:
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        bindir = ""
    if bindir and Path(bindir, "initdb").exists():
        return bindir
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return str(Path(found[-1]).parent) if found else None


@contextmanager
def postgres_server(bindir: str) -> Iterator[int]:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl, trust auth) on 127.0.0.1; yields its port and
    stops it afterwards. initdb and pg_ctl refuse to run as root, so as root they run as `postgres`."""
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="spacex-pg-"))
    if as_owner:
        shutil.chown(base, user="postgres")
    data, port = base / "data", free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_owner, *command], check=True, capture_output=True, timeout=60)

    run(f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
    options = f"-p {port} -k {base} -h 127.0.0.1 -c fsync=off"
    run(f"{bindir}/pg_ctl", "-D", str(data), "-o", options, "-l", str(base / "server.log"), "-w", "start")
    try:
        yield port
    finally:
        run(f"{bindir}/pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def create_database(port: int, name: str) -> str:
    """A new database on the server; returns its password-less URL (trust auth)."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"


@contextmanager
def http_server() -> Iterator:
    """pytest-httpserver's server on a free 127.0.0.1 port: serve bodies, record requests (server.log)."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()
