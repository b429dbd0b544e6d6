"""The secret scrubber: every form a location or warehouse spec can take, with the edge cases."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from spacex_launches.analytics import answers
from spacex_launches.common.redact import (
    RedactingFilter,
    carries_secret,
    command_line,
    redact_location,
    redact_text,
)
from spacex_launches.common.settings import load_settings
from spacex_launches.exceptions import ConfigError
from spacex_launches.job.run_report import RunReport, summary, to_json
from spacex_launches.warehouse import loader_for
from spacex_launches.warehouse.jdbc import split_url

MASKED = [
    # URL userinfo: the user stays, the password goes, whatever it holds
    ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u:@h:5432/db", "postgresql://u:***@h:5432/db"),  # empty: masked too
    ("postgresql://:pw@h/db", "postgresql://:***@h/db"),
    ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u:pa:ss@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u:pa/ss@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u%3Apw@h/db", "postgresql://u:***@h/db"),  # %3A-encoded ':'
    ("postgresql://u%3apw@h/db", "postgresql://u:***@h/db"),
    ("https://user:S3cr3t@api.example.com/v5/launches", "https://user:***@api.example.com/v5/launches"),
    ("s3a://AKIAEXAMPLE:wJalr/XUtnFEMI@bucket/lake", "s3a://AKIAEXAMPLE:***@bucket/lake"),
    ("jdbc:postgresql://u:pw@h:5432/db", "jdbc:postgresql://u:***@h:5432/db"),
    # mistyped or missing schemes
    ("postgressql://u:pw@h/db", "postgressql://u:***@h/db"),
    ("postgresql:/u:pw@h/db", "postgresql:***@h/db"),
    ("u:pw@h/db", "u:***@h/db"),
    # query, JDBC and DSN parameters
    ("jdbc:postgresql://h:5432/db?user=u&password=pw", "jdbc:postgresql://h:5432/db?user=u&password=***"),
    ("jdbc:postgresql://h/db?PASSWORD=pw&ssl=true", "jdbc:postgresql://h/db?PASSWORD=***&ssl=true"),
    ("jdbc:postgresql://h/db?password=&ssl=true", "jdbc:postgresql://h/db?password=***&ssl=true"),
    ("jdbc:redshift://h:5439/db;user=u;password=p@ss:w/rd;ssl=true", "jdbc:redshift://h:5439/db;user=u;password=***;ssl=true"),
    ("jdbc:redshift://h:5439/db;UID=u;PWD=pw", "jdbc:redshift://h:5439/db;UID=u;PWD=***"),
    ("host=h user=u password=pw dbname=d", "host=h user=u password=*** dbname=d"),
    ("host=h password = 'p w\\'x' dbname=d", "host=h password = *** dbname=d"),
    ("host=h user=u password=", "host=h user=u password=***"),
    ("https://api.example.com/v5/launches?api_key=K1&limit=5", "https://api.example.com/v5/launches?api_key=***&limit=5"),
    ("https://h/x?apikey=K1", "https://h/x?apikey=***"),
    ("https://h/x?access_token=a.b.c", "https://h/x?access_token=***"),
    ("https://h/x?client_secret=s&token=t&key=k&sig=g&secret=x", "https://h/x?client_secret=***&token=***&key=***&sig=***&secret=***"),
    ("https://h/x?token=a=b==&x=1", "https://h/x?token=***&x=1"),  # '=' inside the value
    ("https://h/x?password=a&b", "https://h/x?password=***"),  # '&' not starting a parameter: the value's
    (
        "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20260101"
        "&X-Amz-Signature=abc123&X-Amz-Security-Token=FwoGZX",
        "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***"
        "&X-Amz-Signature=***&X-Amz-Security-Token=***",
    ),
    ("https://h/cb?next=https%3A%2F%2Fy%2F%3Ftoken%3Dabc%26a%3D1", "https://h/cb?next=https%3A%2F%2Fy%2F%3Ftoken%3D***%26a%3D1"),
    # both at once
    ("postgresql://u:pw@h/db?password=x", "postgresql://u:***@h/db?password=***"),
]  # fmt: skip

UNCHANGED = [
    "duckdb",
    "postgres",
    "redshift",
    "none",
    "warehouse/launches.duckdb",
    "my dir/launches.json",
    "postgresql://spacex@127.0.0.1:5432/spacex",
    "jdbc:redshift://spacex-dev.abc123xyz789.us-east-1.redshift.amazonaws.com:5439/spacex",
    "s3a://spacex-lake-dev/raw/spacex/launches/ingest_date=2026-11-23/x.json",
    "https://api.spacexdata.com/v5/launches?limit=5&offset=10",
    "https://h/users/@me",
    "git@github.com:org/repo.git",
    "-Dlog4j2.configurationFile=file:/x/conf/log4j2.properties -XX:SharedArchiveFile=/x/a.jsa",
]


@pytest.mark.parametrize(("location", "expected"), MASKED)
def test_masks_the_secret_and_keeps_the_rest(location, expected):
    assert redact_location(location) == expected
    assert redact_location(expected) == expected  # masking twice changes nothing
    assert redact_text(f"GET {location}: HTTP 500") == f"GET {expected}: HTTP 500"
    assert carries_secret(location)


@pytest.mark.parametrize("location", UNCHANGED)
def test_leaves_locations_without_secrets_alone(location):
    assert redact_location(location) == location
    assert not carries_secret(location)


def test_when_in_doubt_it_masks():
    """A port and an '@' later in the path cannot be told from user:password@host: masked."""
    assert redact_location("https://h:8080/users/@me") == "https://h:***@me"


def test_free_text_masks_each_location_in_it():
    text = (
        "HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: "
        "/v5/launches?api_key=K3Y (Caused by NewConnectionError)\n"
        "Invalid URL 'u:pw@h': No scheme supplied. Perhaps you meant https://u:pw@h?"
    )
    masked = redact_text(text)
    assert "K3Y" not in masked and ":pw@" not in masked
    assert "url: /v5/launches?api_key=*** (Caused by NewConnectionError)\n" in masked
    assert "Invalid URL 'u:***@h': No scheme supplied. Perhaps you meant https://u:***@h?" in masked


def test_a_command_line_is_masked_argument_by_argument():
    argv = [
        "spark-submit",
        "--master",
        "local[2]",
        "--input",
        "my dir/x.json",
        "--warehouse",
        "postgresql://u:pw@h/db",
    ]
    assert command_line(argv) == (
        "spark-submit --master 'local[2]' --input 'my dir/x.json' --warehouse 'postgresql://u:***@h/db'"
    )


def test_the_module_prints_the_command_masked_then_runs_it():
    shown = subprocess.run(
        [sys.executable, "-m", "spacex_launches.common.redact", "--", "echo", "token=T0K", "https://u:pw@h/"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.splitlines() == ["echo 'token=***' 'https://u:***@h/'", "token=T0K https://u:pw@h/"]


def test_the_module_filters_standard_input():
    filtered = subprocess.run(
        [sys.executable, "-m", "spacex_launches.common.redact"],
        input="a postgresql://u:pw@h/db\nb password=x y\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert filtered.stdout == "a postgresql://u:***@h/db\nb password=*** y\n"


def test_the_log_filter_masks_messages_arguments_and_tracebacks():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test_redact")
    logger.addHandler(handler)
    try:
        logger.warning("GET %s failed", "https://u:pw@h/x?api_key=K3Y")
        try:
            raise ValueError("bad url https://u:pw@h/")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert records[0] == "GET https://u:***@h/x?api_key=*** failed"
    assert "ValueError: bad url https://u:***@h/" in records[1]
    assert not any(":pw@" in record or "K3Y" in record for record in records)


@pytest.mark.parametrize(
    "spec",
    [
        "jdbc:postgresql://h/db?user=u&password=S3cr-t",
        "jdbc:redshift://h:5439/db;user=u;password=S3cr-t",
        "host=h user=u password=S3cr-t dbname=d",
        "postgressql://u:S3cr-t@h/db",
        "postgresql:/u:S3cr-t@h/db",
        "u%3AS3cr-t@h/db",
    ],
)
def test_an_unknown_warehouse_spec_is_not_echoed_with_its_password(spec):
    with pytest.raises(ConfigError, match="unknown warehouse") as error:
        loader_for(spec, load_settings("local", environ={}))
    assert "S3cr-t" not in str(error.value) and "***" in str(error.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:S3cr-t@h/db",
        "postgresql://u:S3/cr@t@h/db",
        "postgresql://u%3AS3cr-t@h/db",
        "postgresql://u@h/db?PASSWORD=S3cr-t",
        "postgresql://u@h:5432/db?sslmode=require&password=S3cr-t",
    ],
)
def test_a_postgres_url_with_a_password_is_refused_without_showing_it(url):
    with pytest.raises(ConfigError, match="must not contain a password") as error:
        split_url(url, "postgresql")
    assert "S3cr" not in str(error.value) and "***" in str(error.value)


def test_a_bad_port_error_shows_the_url_masked():
    with pytest.raises(ConfigError, match="bad port") as error:
        split_url("postgresql://u@h:54x/db", "postgresql")
    assert "postgresql://u@h:54x/db" in str(error.value)


def test_the_run_report_and_its_summary_show_locations_masked():
    report = RunReport.start(
        "r1", "local", ["s3a://AKIAX:Pl4nted@bucket/raw"], "s3a://AKIAX:Pl4nted@bucket/lake"
    )
    report.rule_failures = {"id_present": 1}
    report.error = "WarehouseError: cannot connect to host=h password=Pl4nted"

    document = json.loads(to_json(report))
    text = summary(report)

    assert document["inputs"]["paths"] == ["s3a://AKIAX:***@bucket/raw"]
    assert document["outputs"]["lake"] == "s3a://AKIAX:***@bucket/lake"
    assert document["error"] == "WarehouseError: cannot connect to host=h password=***"
    assert document["rule_failures"] == {"id_present": 1}
    assert "error      WarehouseError: cannot connect to host=h password=***" in text
    assert "Pl4nted" not in json.dumps(document) + text


def test_answers_report_a_warehouse_error_with_its_exit_code(tmp_path, capsys):
    assert answers.main(["--warehouse", str(tmp_path / "missing.duckdb")]) == 3
    assert "no such warehouse file" in capsys.readouterr().err
