"""A spark-submit driver imports the installed, compiled pyspark, not the zip spark-submit puts first
(spacex_launches.job moves the zips of the installed wheel last before pyspark is imported)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pyspark
import pytest

from spacex_launches.job import submit
from support.paths import REPO

pytestmark = pytest.mark.integration

DRIVER = """
import json, sys
given = [entry for entry in sys.path if entry.endswith("pyspark.zip")]
import spacex_launches.job
import pyspark, py4j
print(json.dumps({"given": given, "pyspark": pyspark.__file__, "py4j": py4j.__file__}))
"""


def test_the_driver_imports_the_installed_pyspark_not_spark_submits_zip(tmp_path: Path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    command = submit.spark_submit_command(script, [], packages="")
    environment = submit.submit_environment(os.environ)
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=120, env=environment)
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    assert imported["given"], "spark-submit no longer puts its pyspark.zip on the driver's path"
    assert imported["pyspark"] == pyspark.__file__
    assert ".zip" not in imported["py4j"]
