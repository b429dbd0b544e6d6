"""The analysts' report on booster reuse: one self-contained HTML page of charts and a table, read from
the warehouse through plain SQL files that run unchanged on DuckDB, PostgreSQL and Redshift.

    python -m spacex_launches.analytics.report [--env local] [--warehouse TARGET] [--out FILE]

The page embeds the data and the Vega, Vega-Lite and vega-embed scripts (vl-convert's bundle), so it
opens offline; the charts are Vega-Lite specifications built with Altair. The same SQL feeds the Grafana
dashboard (spacex_launches.analytics.dashboard), so both show the same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import altair as alt
import duckdb
import jinja2
import psycopg
import vl_convert

from spacex_launches.common.settings import load_settings
from spacex_launches.exceptions import ConfigError, WarehouseError
from spacex_launches.warehouse import WarehouseLoader, loader_for, read_sql

DEFAULT_OUT = "reports/booster-reuse.html"

# Every query the report runs: name -> SQL file under sql/. The re-flights table is the warehouse's own
# answer file, so the report and `make answers` cannot drift apart.
QUERIES = {
    "most_reused_cores": "report/most_reused_cores.sql",
    "core_turnarounds": "report/core_turnarounds.sql",
    "flights_per_year": "report/flights_per_year.sql",
    "quick_reflights": "cores_reused_within_50_days.sql",
}

FLIGHTS = "flights = rows on launches with upcoming = false and a known core_id"


@dataclass(frozen=True)
class Panel:
    """One chart or table of the report (and one panel of the Grafana dashboard). `definition` states
    what is counted, as the SQL file's comments do; `reading` says how the report's chart shows it."""

    key: str
    query: str
    title: str
    definition: str
    reading: str = ""
    kind: str = "chart"  # or "table"


PANELS = (
    Panel(
        "most_reused_cores",
        "most_reused_cores",
        "Most-reused cores: flights per core",
        f"{FLIGHTS}; reuses = flights - 1; cores flown more than once.",
        "Labelled with the serial where the cores table knows it, else the core id.",
    ),
    Panel(
        "turnaround_distribution",
        "core_turnarounds",
        "Turnaround: days between consecutive flights of the same core",
        f"{FLIGHTS}; gap = a flight's exact timestamp minus the same core's previous flight's, in days.",
        "One count per re-flight; the red rule is the median.",
    ),
    Panel(
        "turnaround_trend",
        "core_turnarounds",
        "Turnaround over time",
        f"{FLIGHTS}; gap = a flight's exact timestamp minus the same core's previous flight's, in days.",
        "One point per re-flight at its launch date (log scale); the line is each UTC year's median.",
    ),
    Panel(
        "flights_per_year",
        "flights_per_year",
        "Flights per year: new vs reused booster",
        f"{FLIGHTS}; reused = not the core's first flight (so a year's reuses); a Falcon Heavy is 3 flights.",
        "The label is the year's reused share.",
    ),
    Panel(
        "quick_reflights",
        "quick_reflights",
        "Re-flights less than 50 days after the same core's previous flight",
        f"{FLIGHTS}; gap on exact timestamps: date_unix - previous_date_unix < 50 * 86400.",
        kind="table",
    ),
)


def json_value(value: Any) -> Any:
    """A warehouse value as JSON: timestamps as ISO 8601 UTC (the contract's timestamps are UTC wall
    time), decimals as floats."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    raw: list[tuple]  # as the warehouse returned them
    rows: list[dict[str, Any]]  # the same, JSON-ready and keyed by column (the charts' data)


def fetch(loader: WarehouseLoader) -> dict[str, QueryResult]:
    """Run every report query; a failing one names its SQL file and the warehouse."""
    data = {}
    for name, sql_file in QUERIES.items():
        try:
            columns, rows = loader.query(read_sql(sql_file))
        except (WarehouseError, duckdb.Error, psycopg.Error) as exc:
            cause = exc if isinstance(exc, WarehouseError) else f"{loader.describe()}: {exc}"
            raise WarehouseError(f"sql/{sql_file} failed: {cause}") from exc
        data[name] = QueryResult(
            columns, rows, [{c: json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        )
    return data


# --- charts -----------------------------------------------------------------------------------------


COUNT_AXIS = alt.Axis(tickMinStep=1, format="d")  # counts: whole-number ticks only


def titled(panel: Panel, *extra: str) -> alt.TitleParams:
    return alt.TitleParams(panel.title, subtitle=[panel.definition, panel.reading, *extra], anchor="start")


def most_reused_cores_chart(panel: Panel, rows: list[dict]) -> alt.Chart:
    ordered = [{**row, "rank": index} for index, row in enumerate(rows)]  # the SQL's order, ties included
    return (
        alt.Chart(alt.Data(values=ordered), title=titled(panel))
        .mark_bar()
        .encode(
            y=alt.Y("core_label:N", sort=alt.EncodingSortField("rank"), title="core (serial, else id)"),
            x=alt.X("flights:Q", title="flights", axis=COUNT_AXIS),
            tooltip=[
                "core_id:N",
                "serial:N",
                "flights:Q",
                "reuses:Q",
                alt.Tooltip("first_flight_utc:T", title="first flight (UTC)", format="%Y-%m-%d"),
                alt.Tooltip("last_flight_utc:T", title="last flight (UTC)", format="%Y-%m-%d"),
            ],
        )
        .properties(width=640, height=alt.Step(16))
    )


def turnaround_distribution_chart(panel: Panel, rows: list[dict]) -> alt.LayerChart | alt.FacetChart:
    gaps = [row["gap_days"] for row in rows]
    extra = (f"Median {statistics.median(gaps):.1f} days over {len(gaps)} re-flights.",) if gaps else ()
    base = alt.Chart(alt.Data(values=rows))
    bars = base.mark_bar().encode(
        x=alt.X("gap_days:Q", bin=alt.Bin(maxbins=40), title="days since the core's previous flight"),
        y=alt.Y("count():Q", title="re-flights", axis=COUNT_AXIS),
        tooltip=[alt.Tooltip("gap_days:Q", bin=alt.Bin(maxbins=40), title="days"), "count():Q"],
    )
    median = base.mark_rule(color="#d62728", strokeWidth=2).encode(x="median(gap_days):Q")
    return alt.layer(bars, median, title=titled(panel, *extra)).properties(width=640, height=260)


def turnaround_trend_chart(panel: Panel, rows: list[dict]) -> alt.LayerChart | alt.FacetChart:
    base = alt.Chart(alt.Data(values=rows))
    x_scale = alt.Scale(type="utc")
    y = alt.Y("gap_days:Q", title="days since the core's previous flight", scale=alt.Scale(type="log"))
    points = base.mark_circle(size=28, opacity=0.55).encode(
        x=alt.X("date_utc:T", title="launch (UTC)", scale=x_scale),
        y=y,
        tooltip=[
            alt.Tooltip("date_utc:T", title="launch (UTC)", format="%Y-%m-%d %H:%M"),
            "core_id:N",
            "serial:N",
            "launch_id:N",
            "core_flight_number:Q",
            "gap_days:Q",
        ],
    )
    yearly_median = base.mark_line(color="#d62728", point=True).encode(
        x=alt.X("utcyear(date_utc):T", scale=x_scale, bandPosition=0.5),
        y=alt.Y("median(gap_days):Q", scale=alt.Scale(type="log")),
        tooltip=[
            alt.Tooltip("utcyear(date_utc):T", title="year", format="%Y"),
            alt.Tooltip("median(gap_days):Q", title="median days", format=".1f"),
        ],
    )
    return alt.layer(points, yearly_median, title=titled(panel)).properties(width=640, height=300)


def flights_per_year_chart(panel: Panel, rows: list[dict]) -> alt.LayerChart | alt.FacetChart:
    base = alt.Chart(alt.Data(values=rows)).encode(x=alt.X("launch_year:O", title="year (UTC)"))
    bars = (
        base.transform_fold(["new_booster_flights", "reused_booster_flights"], as_=["kind", "count"])
        .transform_calculate(
            booster="datum.kind === 'reused_booster_flights' ? 'reused booster' : 'new booster'"
        )
        .mark_bar()
        .encode(
            y=alt.Y("count:Q", stack="zero", title="flights", axis=COUNT_AXIS),
            color=alt.Color(
                "booster:N",
                scale=alt.Scale(domain=["new booster", "reused booster"], range=["#9ecae1", "#3182bd"]),
                title=None,
            ),
            order=alt.Order("booster:N", sort="ascending"),
            tooltip=["launch_year:O", "booster:N", "count:Q"],
        )
    )
    share = (
        base.transform_filter("datum.reused_booster_flights > 0")
        .transform_calculate(label="format(datum.reused_pct, '.0f') + '%'")
        .mark_text(dy=-7, fontSize=11)
        .encode(y="flights:Q", text="label:N")
    )
    return alt.layer(bars, share, title=titled(panel)).properties(width=640, height=280)


CHARTS: dict[str, Callable[[Panel, list[dict]], alt.TopLevelMixin]] = {
    "most_reused_cores": most_reused_cores_chart,
    "turnaround_distribution": turnaround_distribution_chart,
    "turnaround_trend": turnaround_trend_chart,
    "flights_per_year": flights_per_year_chart,
}


# --- the page ---------------------------------------------------------------------------------------


def headline(data: dict[str, QueryResult]) -> dict[str, str]:
    """The figures an analyst asks first, computed from the same query results as the charts."""
    facts = {}
    cores = data["most_reused_cores"].rows
    if cores:
        top = [row for row in cores if row["flights"] == cores[0]["flights"]]
        names = ", ".join(
            f"{row['serial']} ({row['core_id']})" if row["serial"] else f"{row['core_id']} (serial unknown)"
            for row in top
        )
        facts["top core"] = f"{names}: {top[0]['flights']} flights ({top[0]['reuses']} reuses)"
    gaps = [row["gap_days"] for row in data["core_turnarounds"].rows]
    if gaps:
        facts["median turnaround"] = f"{statistics.median(gaps):.1f} days over {len(gaps)} re-flights"
    years = {row["launch_year"]: row for row in data["flights_per_year"].rows}
    if years:
        # The latest year with a flight may be cut short by the snapshot: the one before it is full.
        last_full = years.get(max(years) - 1)
        if last_full:
            facts[f"reused share {last_full['launch_year']}"] = (
                f"{last_full['reused_pct']:.1f}% ({last_full['reused_booster_flights']} of "
                f"{last_full['flights']} flights, the last full year)"
            )
    if not facts:
        facts["no flights"] = "the warehouse holds no launch that happened with a known core"
    return facts


def cell(value: Any) -> str:
    """A table cell: timestamps as `YYYY-MM-DD HH:MM:SS` (UTC), null as empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return json_value(value).replace("T", " ").removesuffix("Z")
    return str(value)


ENVIRONMENT = jinja2.Environment(autoescape=True)
ENVIRONMENT.filters["cell"] = cell
PAGE = ENVIRONMENT.from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1100px; }
  .panel { margin: 2.5rem 0; }
  .facts dt { font-weight: 600; float: left; clear: left; width: 11rem; }
  .facts dd { margin: 0 0 .3rem 11rem; }
  table { border-collapse: collapse; font-size: .85rem; }
  th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }
  td.number { text-align: right; font-variant-numeric: tabular-nums; }
  .definition { color: #555; font-size: .9rem; margin: .2rem 0 .8rem; }
  .empty { color: #a00; }
  #report-errors { color: #a00; }
</style>
<script>
  // Collects script errors into the page itself, so a broken chart never fails silently.
  window.reportErrors = [];
  function noteReportError(message) {
    window.reportErrors.push(String(message));
    document.documentElement.setAttribute("data-script-errors", String(window.reportErrors.length));
    showReportErrors();
  }
  function showReportErrors() {  // before the body exists, the errors wait for its last script
    var list = document.getElementById("report-errors");
    if (!list || !window.reportErrors.length) { return; }
    while (list.children.length < window.reportErrors.length) {
      var item = document.createElement("li");
      item.textContent = window.reportErrors[list.children.length];
      list.appendChild(item);
    }
    list.hidden = false;
  }
  window.addEventListener("error", function (event) { noteReportError(event.message); });
  window.addEventListener("unhandledrejection", function (event) { noteReportError(event.reason); });
</script>
<script>
{{ vega_bundle | safe }}
</script>
</head>
<body>
<h1>{{ title }}</h1>
<p>From the warehouse <code>{{ warehouse }}</code>, {{ generated_at }}. Charts are interactive: hover for
details; each chart's menu saves it as SVG or PNG.</p>
<ul id="report-errors" hidden></ul>
<dl class="facts">
{%- for name, value in facts.items() %}
  <dt>{{ name }}</dt><dd>{{ value }}</dd>
{%- endfor %}
</dl>
{%- for panel in panels %}
<section class="panel" id="{{ panel.key }}" data-rows="{{ data[panel.key].rows | length }}">
{%- if panel.kind == "chart" and data[panel.key].rows %}
  <div class="chart" id="chart-{{ panel.key }}"></div>
{%- elif panel.kind == "chart" %}
  <h2>{{ panel.title }}</h2>
  <p class="definition">{{ panel.definition }}</p>
  <p class="empty">No data for this chart in the warehouse.</p>
{%- else %}
  <h2>{{ panel.title }}</h2>
  <p class="definition">{{ panel.definition }}</p>
  <table id="table-{{ panel.key }}">
    <thead><tr>{% for column in data[panel.key].columns %}<th>{{ column }}</th>{% endfor %}</tr></thead>
    <tbody>
    {%- for row in data[panel.key].raw %}
      <tr>{% for value in row %}<td{% if value is number %} class="number"{% endif %}>{{ value | cell }}</td>{% endfor %}</tr>
    {%- else %}
      <tr><td colspan="{{ data[panel.key].columns | length }}" class="empty">No rows.</td></tr>
    {%- endfor %}
    </tbody>
  </table>
{%- endif %}
</section>
{%- endfor %}
<script>
  (function () {
    showReportErrors();
    var specs = {{ specs_json | safe }};
    var options = {renderer: "svg", actions: {export: true, source: false, compiled: false, editor: false}};
    Promise.all(Object.keys(specs).map(function (key) {
      var target = document.getElementById("chart-" + key);
      return vegaEmbed(target, specs[key], options)
        .then(function () { target.setAttribute("data-rendered", "true"); })
        .catch(function (error) { noteReportError(key + ": " + error); });
    })).then(function () { document.body.setAttribute("data-rendered", "true"); });
  })();
</script>
</body>
</html>
"""
)


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element (no `</script>` can close it early)."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def vega_bundle() -> str:
    """vega-embed + Vega-Lite + Vega as one script, for the Vega-Lite version this Altair writes."""
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    # vl-convert's stub gives `snippet` no default; the function has one (the globals vegaEmbed etc.).
    return vl_convert.javascript_bundle(vl_version=f"v{major}.{minor}")  # type: ignore[call-arg]


@dataclass(frozen=True)
class ReportResult:
    path: Path
    rows: dict[str, int]
    facts: dict[str, str]
    bytes: int


def render(data: dict[str, QueryResult], warehouse: str, generated_at: datetime) -> str:
    """The page's HTML."""
    specs = {  # a chart without data is a note on the page, not empty axes
        panel.key: CHARTS[panel.key](panel, data[panel.query].rows).to_dict()
        for panel in PANELS
        if panel.kind == "chart" and data[panel.query].rows
    }
    return PAGE.render(
        title="SpaceX booster reuse",
        warehouse=warehouse,
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        facts=headline(data),
        panels=PANELS,
        data={panel.key: data[panel.query] for panel in PANELS},
        specs_json=script_json(specs),
        vega_bundle=vega_bundle(),
    )


def write_report(loader: WarehouseLoader, out: Path, now: datetime | None = None) -> ReportResult:
    """Query the warehouse and write the page to `out` atomically (a temporary file in the same
    directory, renamed into place): a failure leaves no half-written report."""
    data = fetch(loader)
    html = render(data, loader.describe(), now or datetime.now(UTC))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=out.parent, suffix=".tmp", delete=False, encoding="utf-8"
    ) as tmp:
        try:
            tmp.write(html)
            tmp.close()
            os.replace(tmp.name, out)
        except BaseException:
            os.unlink(tmp.name)
            raise
    rows = {panel.key: len(data[panel.query].rows) for panel in PANELS}
    return ReportResult(out.resolve(), rows, headline(data), out.stat().st_size)


def summary(result: ReportResult) -> str:
    lines = [f"report written: {result.path} ({result.bytes / 1024:,.0f} KB)"]
    width = max(len(panel.key) for panel in PANELS)
    for panel in PANELS:
        lines.append(f"  {panel.key:<{width}}  {result.rows[panel.key]:>5} rows  ({panel.kind})")
    width = max(len(name) for name in result.facts)
    lines.extend(f"  {name:<{width}}  {value}" for name, value in result.facts.items())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="local")
    parser.add_argument("--warehouse", help="same values as the job's --warehouse")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"the HTML file to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    try:
        loader = loader_for(args.warehouse, load_settings(args.env))
        if loader is None:
            print("report: no warehouse configured (--warehouse none)", file=sys.stderr)
            return 2
        result = write_report(loader, Path(args.out))
    except (ConfigError, WarehouseError) as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
