"""Entry point of the CDK app (infra/cdk.json runs it for the CDK CLI; `make infra-synth` runs it too)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from spacex_platform.app import main

if __name__ == "__main__":
    sys.exit(main())
