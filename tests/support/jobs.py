"""The job run as `make run` runs it (spacex_launches.job.submit builds the command for both): pyspark's own
spark-submit with the Iceberg runtime from --packages and make's JVM options, sharing one Java class-data
archive across the session's runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from spacex_launches.job import jvm_functions, submit
from spacex_launches.lake.catalog import ICEBERG_PACKAGES
from support.paths import REPO

# Spark's JVM as `make run` starts it: C1 JIT only, and Java class-data sharing: the session's first
# spark-submit run to completion saves the classes Spark loads, the later ones map them instead of reading
# them from the jars (docs/performance.md: a few seconds less per start).
CDS_DIR = Path(tempfile.mkdtemp(prefix="spacex-tests-cds-"))
CDS_ARCHIVE = CDS_DIR / "spark-classes.jsa"


def jvm_can_save_class_archives() -> bool:
    return submit.jvm_can_save_class_archives(jvm_functions.java_home(os.environ))


def remove_class_archives() -> None:
    """At the end of the test session (tests/integration/conftest.py's pytest_sessionfinish)."""
    shutil.rmtree(CDS_DIR, ignore_errors=True)


def spark_submit_command(
    *args: str,
    env: dict[str, str] | None = None,
    packages: str | None = None,
    script: str = "launches_etl.py",
    save_classes_to: Path | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run jobs/<script> through pyspark's own spark-submit, as
    `make run` does (the Iceberg runtime from --packages, make's JVM options)."""
    command = submit.spark_submit_command(
        REPO / "jobs" / script,
        args,
        packages=submit.joined(ICEBERG_PACKAGES, packages),
        jars=[jvm_functions.local_jar()],
        class_sharing=submit.class_sharing_options(CDS_ARCHIVE, save_classes_to),
        conf={"spark.sql.shuffle.partitions": "2"},
    )
    return command, submit.submit_environment({**os.environ, **(env or {})})


def spark_submit(*args: str, env: dict[str, str] | None = None, packages: str | None = None):
    """Run the job to completion (see spark_submit_command); the first run saves the class archive."""
    saving = None
    if not CDS_ARCHIVE.exists() and jvm_can_save_class_archives():
        saving = CDS_DIR / f"{uuid.uuid4().hex}.jsa.tmp"
    command, environment = spark_submit_command(*args, env=env, packages=packages, save_classes_to=saving)
    result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO, timeout=600)
    if saving is not None and saving.exists():
        saving.replace(CDS_ARCHIVE)
    return result
