"""Fetch the SpaceX /launches endpoint once and land it, write-once, in the lake's raw zone.

    python jobs/ingest_launches.py [--env local] [--url URL] [--lake DIR|s3://bucket/prefix]

The endpoint may carry a token or a password: give it in SPACEX_API_URL rather than --url, as process
arguments are readable by every user of the machine (`ps`); `make ingest API_URL=...` does so.

Prints the URL, HTTP status, bytes, records and where the response landed (or that it was already
there); all it prints or logs has its secrets masked (a URL's password, an api_key=...). Exit codes:
0 landed or unchanged, 2 refused or not fetched (nothing written), 1 anything else (for example the
lake could not be written).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from spacex_launches.common.redact import RedactingFilter, redact_text
from spacex_launches.common.settings import load_settings
from spacex_launches.exceptions import ConfigError, IngestError, PayloadRefused
from spacex_launches.ingest.fetch import DATASETS, ingest


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="local", help="conf/<env>.yaml to use (local, dev, prod)")
    parser.add_argument(
        "--url",
        default=os.environ.get("SPACEX_API_URL") or None,
        help="the endpoint (default: $SPACEX_API_URL, else <api.base_url>/<api.version>/<dataset> from config)",
    )
    parser.add_argument("--lake", help="lake root: a directory or s3://bucket/prefix (default: config)")
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default="launches",
        help="which of the API's endpoints: launches (default) or cores (the boosters' serials, from /v4/cores)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    try:
        config = load_settings(args.env)
        result = ingest(config, lake=args.lake, url=args.url, dataset=args.dataset)
    except ConfigError as exc:
        print(redact_text(f"error: {exc}"), file=sys.stderr)
        return 2
    except PayloadRefused as exc:
        print(redact_text(f"ingest REFUSED: {exc}\n  nothing was written"), file=sys.stderr)
        return 2
    except IngestError as exc:
        print(redact_text(f"ingest FAILED: {exc}\n  nothing was written"), file=sys.stderr)
        return 2
    except Exception as exc:
        print(redact_text(f"ingest FAILED: {type(exc).__name__}: {exc}"), file=sys.stderr)
        return 1
    print(f"ingest {result.url}: {result.outcome.upper()}")
    print(f"  status     HTTP {result.status} after {result.attempts} attempt(s)")
    print(f"  bytes      {result.bytes:,} (sha256 {result.sha256})")
    print(f"  records    {result.records:,}")
    if result.outcome == "landed":
        print(f"  landed     {result.location}")
        print(f"  manifest   {result.manifest}")
    else:
        print(f"  unchanged  identical to {result.location}, landed earlier today: nothing new written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
