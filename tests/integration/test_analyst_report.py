"""The analysts' side: serials beside core ids in the answers, the report's SQL (checked against an
independent count, and the same on DuckDB and a real PostgreSQL), `make report` on the real snapshot,
and the HTML report opened in a real headless Chromium.

The warehouses come from real runs of the job's command line (one per input, shared); the `cores`
table is filled with plain SQL from the sample /cores file until the job loads it itself."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
from collections import defaultdict
from pathlib import Path

import lxml.html
import pytest

from spacex_launches.analytics import answers, report
from spacex_launches.analytics.dashboard import build_dashboard
from spacex_launches.common.settings import Settings
from spacex_launches.warehouse import read_sql, sql_statements
from spacex_launches.warehouse.duckdb import DuckDBLoader
from spacex_launches.warehouse.postgres import PostgresLoader
from support.paths import REPO

pytestmark = pytest.mark.integration

TABLES = ("launches", "launch_cores", "cores")
CHARTS = [panel for panel in report.PANELS if panel.kind == "chart"]


def insert_sql(table: str, columns: list[str], placeholder: str) -> str:
    return f"INSERT INTO spacex.{table} ({', '.join(columns)}) VALUES ({', '.join([placeholder] * len(columns))})"


def duckdb_rows(path: Path, sql: str) -> list[tuple]:
    return DuckDBLoader(str(path)).query(sql)[1]


@pytest.fixture(scope="session")
def sample_warehouse(sample_run) -> Path:
    """The sample run's DuckDB warehouse: the sample's launches and /cores, loaded by the job."""
    return sample_run / "launches.duckdb"


@pytest.fixture(scope="session")
def snapshot_warehouse(snapshot_run) -> Path:
    """The real 205-launch snapshot through the job into DuckDB. No cores file exists for it: the
    `cores` table is there (the DDL creates it) and empty."""
    return snapshot_run / "launches.duckdb"


@pytest.fixture(scope="session")
def empty_warehouse(tmp_path_factory) -> Path:
    """A warehouse whose contract tables exist and hold nothing (before the first load)."""
    path = tmp_path_factory.mktemp("report_empty") / "launches.duckdb"
    connection = DuckDBLoader(str(path)).connect()
    try:
        for statement in sql_statements(read_sql("create_tables.sql")):
            connection.execute(statement)
    finally:
        connection.close()
    return path


# --- serials beside ids ----------------------------------------------------------------------------


def test_answers_show_the_serial_where_known_and_keep_unknown_cores(sample_warehouse, capsys):
    assert duckdb_rows(sample_warehouse, read_sql("max_core_reuse.sql")) == [
        ("5a3b1e0000000000000c0a01", "B9001", 4, 5)
    ]
    quick = duckdb_rows(sample_warehouse, read_sql("cores_reused_within_50_days.sql"))
    # same 4 re-flights as without a cores table; c03 is missing from the cores file: serial null
    assert [(row[0][-4:], row[1]) for row in quick] == [
        ("0a01", "B9001"),
        ("0a01", "B9001"),
        ("0b02", "B9002"),
        ("0c03", None),
    ]

    assert answers.main(["--warehouse", str(sample_warehouse)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^5a3b1e0000000000000c0a01  B9001   4       5", printed, re.MULTILINE)
    assert "(4 rows)" in printed


def test_an_empty_cores_table_leaves_every_answer_row_with_a_null_serial(snapshot_warehouse):
    assert duckdb_rows(snapshot_warehouse, "SELECT COUNT(*) FROM spacex.cores") == [(0,)]
    assert duckdb_rows(snapshot_warehouse, read_sql("max_core_reuse.sql")) == [
        ("5e9e28a7f3591817f23b2663", None, 13, 14)
    ]
    quick = duckdb_rows(snapshot_warehouse, read_sql("cores_reused_within_50_days.sql"))
    assert len(quick) == 25 and all(row[1] is None for row in quick)


# --- the report's SQL --------------------------------------------------------------------------------


def independent_answers(warehouse: Path) -> dict:
    """The report's figures recomputed in Python from launch_cores and cores, by the contract's words."""
    slots = duckdb_rows(
        warehouse, "SELECT core_id, launch_id, date_unix, date_utc, upcoming FROM spacex.launch_cores"
    )
    serials = dict(duckdb_rows(warehouse, "SELECT core_id, serial FROM spacex.cores"))
    flights = defaultdict(set)
    for core_id, launch_id, date_unix, date_utc, upcoming in slots:
        if core_id is not None and upcoming is False:
            flights[core_id].add((date_unix, launch_id, date_utc.year))
    most_reused, gap_seconds, per_year = [], [], defaultdict(lambda: [0, 0])
    for core_id, core_flights in flights.items():
        ordered = sorted(core_flights)
        if len(ordered) > 1:
            most_reused.append((core_id, serials.get(core_id), len(ordered)))
        for number, (date_unix, _, year) in enumerate(ordered):
            per_year[year][number > 0] += 1  # [new, reused]
            if number:
                gap_seconds.append(date_unix - ordered[number - 1][0])
    most_reused.sort(key=lambda row: (-row[2], row[0]))
    return {
        "most_reused": most_reused,
        "gap_days": sorted(seconds / 86400 for seconds in gap_seconds),
        "under_50_days": sorted(seconds / 86400 for seconds in gap_seconds if seconds < 50 * 86400),
        "per_year": dict(per_year),
    }


@pytest.mark.parametrize("warehouse", ["sample_warehouse", "snapshot_warehouse"])
def test_report_sql_agrees_with_an_independent_count(warehouse, request):
    path = request.getfixturevalue(warehouse)
    expected = independent_answers(path)
    data = report.fetch(DuckDBLoader(str(path)))

    cores = data["most_reused_cores"].rows
    assert [(r["core_id"], r["serial"], r["flights"]) for r in cores] == expected["most_reused"]
    assert all(r["reuses"] == r["flights"] - 1 for r in cores)
    assert all(r["core_label"] == (r["serial"] or r["core_id"]) for r in cores)
    gaps = sorted(r["gap_days"] for r in data["core_turnarounds"].rows)
    assert gaps == pytest.approx(expected["gap_days"], abs=0.006)  # rounded to 2 decimals
    per_year = {
        r["launch_year"]: [r["new_booster_flights"], r["reused_booster_flights"]]
        for r in data["flights_per_year"].rows
    }
    assert per_year == expected["per_year"]
    assert all(
        r["flights"] == r["new_booster_flights"] + r["reused_booster_flights"]
        and r["reused_pct"] == pytest.approx(100 * r["reused_booster_flights"] / r["flights"], abs=0.05)
        for r in data["flights_per_year"].rows
    )
    quick = data["quick_reflights"].rows
    assert sorted(r["gap_days"] for r in quick) == pytest.approx(expected["under_50_days"], abs=0.006)


def copy_to_postgres(warehouse: Path, url: str) -> PostgresLoader:
    """The contract tables, DDL and rows, from a DuckDB warehouse into a PostgreSQL database."""
    source, target = DuckDBLoader(str(warehouse)), PostgresLoader.from_spec(url, Settings())
    with target.connect() as connection:
        for statement in sql_statements(read_sql("create_tables.sql")):
            connection.execute(statement)
        for table in TABLES:
            columns, rows = source.query(f"SELECT * FROM spacex.{table}")
            with connection.cursor() as cursor:
                cursor.executemany(insert_sql(table, columns, "%s"), rows)
    return target


def test_report_sql_gives_the_same_rows_on_postgresql(sample_warehouse, database):
    postgres, duckdb = copy_to_postgres(sample_warehouse, database), DuckDBLoader(str(sample_warehouse))
    for name, sql_file in {**report.QUERIES, "answer": "max_core_reuse.sql"}.items():
        on_duckdb, on_postgres = duckdb.query(read_sql(sql_file)), postgres.query(read_sql(sql_file))
        assert on_postgres == on_duckdb, name
        assert on_duckdb[1], f"{name}: no rows, nothing compared"

    # Every field a Grafana panel names is a column its query returns on the PostgreSQL protocol.
    for panel in build_dashboard()["panels"]:
        (target,) = panel["targets"]
        columns = set(postgres.query(target["rawSql"])[0])
        named = {panel["options"].get("xField")} - {None}
        for step in panel["transformations"]:
            named |= set(step["options"].get("include", {}).get("names", []))
            named |= {c["targetField"] for c in step["options"].get("conversions", [])}
        named |= {o["matcher"]["options"] for o in panel["fieldConfig"]["overrides"]}
        assert named <= columns, f"{panel['title']}: {sorted(named - columns)} not returned"


# --- make report ---------------------------------------------------------------------------------------


def test_make_report_on_the_real_snapshot(snapshot_warehouse, tmp_path):
    out = tmp_path / "out" / "report.html"
    command = [
        "make",
        "--no-print-directory",
        "-o",
        ".venv/.installed",
        "-o",
        ".venv/.installed-report",
        "report",
        f"WAREHOUSE={snapshot_warehouse}",
        f"OUT={out}",
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert f"report written: {out}" in result.stdout
    page = lxml.html.fromstring(out.read_bytes())
    assert page.xpath("//*[@src or @href]") == [], "scripts and data are embedded: nothing to fetch"
    assert len(page.xpath("//script")) == 3 and "vegaEmbed" in page.xpath("//script")[1].text

    loader = DuckDBLoader(str(snapshot_warehouse))
    (top_core, _, reuses, flights), *_ = loader.query(read_sql("max_core_reuse.sql"))[1]
    assert re.search(
        rf"^  top core +{top_core} \(serial unknown\): {flights} flights \({reuses} reuses\)$",
        result.stdout,
        re.MULTILINE,
    )
    gaps = [float(row[-1]) for row in loader.query(read_sql("report/core_turnarounds.sql"))[1]]
    median = f"{statistics.median(gaps):.1f} days over {len(gaps)} re-flights"
    assert re.search(rf"^  median turnaround +{re.escape(median)}$", result.stdout, re.MULTILINE)
    for panel in report.PANELS:
        assert re.search(rf"^  {panel.key} +\d+ rows  \({panel.kind}\)$", result.stdout, re.MULTILINE)
    assert re.search(r"^  reused share 2021 +\d+\.\d% \(\d+ of \d+ flights", result.stdout, re.MULTILINE)


def test_report_errors_name_the_warehouse_or_sql_file_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "report.html"
    assert report.main(["--warehouse", str(tmp_path / "absent.duckdb"), "--out", str(out)]) == 2
    assert "no such warehouse file" in capsys.readouterr().err

    # a warehouse from before the cores table existed
    old = tmp_path / "old.duckdb"
    connection = DuckDBLoader(str(old)).connect()
    for statement in sql_statements(read_sql("create_tables.sql")):
        if "spacex.cores" not in statement:
            connection.execute(statement)
    connection.close()
    assert report.main(["--warehouse", str(old), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "sql/report/most_reused_cores.sql failed" in error and "cores" in error
    assert not out.exists() and list(tmp_path.glob("*.tmp")) == []


# --- in a real browser -----------------------------------------------------------------------------------


def open_in_chromium(page: Path, work: Path) -> tuple[lxml.html.HtmlElement, list[str], Path]:
    """Open the page in headless Chromium with no network at all; return the DOM once rendered, the
    console messages and the screenshot."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)")
    screenshot = work / f"{page.stem}.png"
    command = [
        chromium,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={work / 'chromium-profile'}",
        # any request leaving the file would fail (and log): the report must need none
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=30000",
        "--window-size=1280,4400",
        f"--screenshot={screenshot}",
        "--dump-dom",
        page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return lxml.html.fromstring(result.stdout), console, screenshot


def data_marks(chart: lxml.html.HtmlElement) -> list:
    """The drawn data marks (bars, points, lines, rules) of one Vega view: not axes, titles, legends."""
    return chart.xpath(".//svg[contains(@class, 'marks')]//g[contains(@class, 'role-mark')]/path")


@pytest.mark.parametrize("warehouse", ["sample_warehouse", "snapshot_warehouse", "empty_warehouse"])
def test_report_renders_in_headless_chromium(warehouse, request, tmp_path):
    path = request.getfixturevalue(warehouse)
    result = report.write_report(DuckDBLoader(str(path)), tmp_path / f"report-{warehouse}.html")
    dom, console, screenshot = open_in_chromium(result.path, tmp_path)

    assert console == [], "the page logged to the console (errors, warnings or failed requests)"
    assert dom.xpath("/html/@data-script-errors") == [], dom.xpath("//ul[@id='report-errors']/li/text()")
    assert dom.xpath("//body/@data-rendered") == ["true"]
    for panel in CHARTS:
        if not result.rows[panel.key]:
            assert dom.xpath(f"//section[@id='{panel.key}']/p[@class='empty']"), panel.key
            assert dom.xpath(f"//div[@id='chart-{panel.key}']") == []
            continue
        (chart,) = dom.xpath(f"//div[@id='chart-{panel.key}']")
        assert chart.get("data-rendered") == "true", panel.key
        texts = " ".join(chart.xpath(".//svg//text//text()"))
        assert panel.title in texts and panel.definition in texts, f"{panel.key}: title and definition drawn"
        assert data_marks(chart), f"{panel.key}: nothing drawn"
    if result.rows["most_reused_cores"]:
        bars = dom.xpath("//div[@id='chart-most_reused_cores']//g[contains(@class, 'mark-rect')]/path")
        assert len(bars) == result.rows["most_reused_cores"], "one bar per reused core"
    table_rows = dom.xpath("//table[@id='table-quick_reflights']/tbody/tr[not(td[@class='empty'])]")
    assert len(table_rows) == result.rows["quick_reflights"]
    if warehouse == "sample_warehouse":  # serials where the cores table has them, blank where not
        axis = "//div[@id='chart-most_reused_cores']//g[contains(@class, 'role-axis-label')]"
        labels = dom.xpath(f"{axis}//text//text()")
        assert {"B9001", "B9002", "B9005", "5a3b1e0000000000000c0c03"} <= set(labels)

    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
