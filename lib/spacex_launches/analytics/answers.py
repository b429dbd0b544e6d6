"""Print the analytics answers (sql/*.sql) from a warehouse as plain-text tables.

python -m spacex_launches.analytics.answers [--env local] [--warehouse TARGET]
"""

from __future__ import annotations

import argparse
import sys

from spacex_launches.common.redact import redact_text
from spacex_launches.common.settings import load_settings
from spacex_launches.exceptions import ConfigError, WarehouseError
from spacex_launches.warehouse import loader_for, read_sql

ANSWERS = {
    "max_core_reuse.sql": "Most-reused core (reuses = flights - 1)",
    "cores_reused_within_50_days.sql": "Re-flights less than 50 days after the same core's previous flight",
}


def format_table(columns: list[str], rows: list[tuple]) -> str:
    cells = [[("" if value is None else str(value)) for value in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]
    lines = ["  ".join(name.ljust(width) for name, width in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)) for row in cells
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="local")
    parser.add_argument("--warehouse", help="same values as the job's --warehouse")
    args = parser.parse_args(argv)
    try:
        loader = loader_for(args.warehouse, load_settings(args.env))
    except ConfigError as exc:
        print(redact_text(f"error: {exc}"), file=sys.stderr)
        return 2
    if loader is None:
        print("no warehouse configured (--warehouse none)", file=sys.stderr)
        return 2
    for name, title in ANSWERS.items():
        try:
            columns, rows = loader.query(read_sql(name))
        except WarehouseError as exc:
            print(redact_text(f"error: {exc}"), file=sys.stderr)
            return 3
        print(f"\n{title}  [{name}, {loader.describe()}]")
        print(format_table(columns, rows))
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
