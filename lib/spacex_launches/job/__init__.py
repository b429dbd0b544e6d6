"""The Spark job: find raw files, read and parse them, apply the record rules, stage, run report."""

import sys
from pathlib import Path


def installed_pyspark_first() -> None:
    """spark-submit puts Spark's pyspark.zip and py4j zip first on the driver's sys.path, and Python
    compiles each module it imports from a zip from source on every run (it keeps no .pyc there): 0.6 to
    0.8 s and 5 MB of every driver here (docs/performance.md). When the zips sit inside the installed
    pyspark package (SPARK_HOME is the pip wheel: make run, the bench, the tests) they hold its very
    files, so they go last and the installed, compiled modules are imported. Where pyspark is not
    installed (EMR) nothing moves."""
    if "pyspark" in sys.modules:
        return
    on_path = {Path(entry) for entry in sys.path}

    def from_installed_wheel(entry: str) -> bool:
        package = Path(entry).parent.parent.parent  # <site-packages>/pyspark/python/lib/<zip>
        return (
            entry.endswith(".zip")
            and package.name == "pyspark"
            and (package / "__init__.py").is_file()
            and package.parent in on_path
        )

    zips = [entry for entry in sys.path if from_installed_wheel(entry)]
    sys.path[:] = [entry for entry in sys.path if entry not in zips] + zips


installed_pyspark_first()
