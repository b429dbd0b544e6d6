"""Build the EMR on EKS artifacts in dist/ (`make package`) and upload them (`make deploy ENV=dev`).

    python jobs/package.py [--version SHA]                    # build dist/
    python jobs/package.py --deploy --env dev [--version SHA] # build, then upload to emr.artifacts_uri/<version>/

dist/ holds what the job request (spacex_launches.orchestration.emr_request) points at:
  launches_etl.py          the spark-submit entry point of the ETL
  maintain_lake.py         the lake upkeep's entry point (the weekly maintenance DAG)
  spacex_launches.zip      the modules of our package the entry points import, for --py-files (not the
                           orchestration or analytics code: job_modules)
  pydeps.zip               every third-party package the job imports (JOB_REQUIREMENTS and theirs),
                           unpacked as ./pydeps and put on PYTHONPATH (spark.archives)
  resources.zip            conf/ and sql/, unpacked as ./resources in the driver (spark.archives)
  spacex-launches-jvm.jar  the job's own JVM functions (lib/spacex_launches/job/jvm), for spark.jars
  pod-templates/           driver.yaml and executor.yaml from k8s/
  MANIFEST.json            version, target Python and sha256 of each file

The EMR image provides Spark (pyspark, py4j), the interpreter (emr.python.path) and the connector jars;
nothing else from it is assumed. pydeps.zip is installed by pip for the image's Python version and CPU
(emr.python.version / .platform: binary wheels only, so it builds on any machine), at the versions
constraints.txt pins; unpacked rather than zip-imported, so packages with C extensions (psycopg) load.
The zips and the jar are byte-reproducible (sorted entries, fixed timestamps); the jar is compiled
against the pyspark wheel's Spark 3.5 and Scala 2.12, the line EMR 7.x runs. Building needs PyPI or
pip's cache.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from spacex_launches.common.archives import add_file, add_tree
from spacex_launches.common.redact import redact_location
from spacex_launches.common.s3 import split_s3_uri
from spacex_launches.common.settings import PROJECT_DIR, EmrPython, load_settings
from spacex_launches.exceptions import ConfigError
from spacex_launches.job import jvm_functions
from spacex_launches.orchestration.emr_request import (
    ENTRY_POINT,
    JVM_FUNCTIONS_JAR,
    LIB_ZIP,
    POD_TEMPLATE_DIR,
    PYDEPS_ZIP,
    RESOURCES_ZIP,
    artifacts_version,
)
from spacex_launches.orchestration.emr_runs import MAINTENANCE_ENTRY_POINT

# What the job imports beyond the standard library, pyspark/py4j (the image's) and our own package.
# The packaged-artifacts test runs the job with nothing else installed: a missing one fails it.
JOB_REQUIREMENTS = ("PyYAML", "boto3", "psycopg[binary]")


def job_modules(entry_points: list[Path], package_root: Path) -> list[Path]:
    """The modules of our package that `entry_points` import, directly or through each other, with
    the `__init__.py` of each package on the way: what the job needs on EMR and nothing else."""
    package = package_root.name
    wanted: set[Path] = set()
    pending = list(entry_points)
    while pending:
        tree = ast.parse(pending.pop().read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] != package:
                    continue
                for depth in range(1, len(parts) + 1):
                    base = package_root.parent.joinpath(*parts[:depth])
                    for candidate in (base / "__init__.py", base.with_suffix(".py")):
                        if candidate.is_file() and candidate not in wanted:
                            wanted.add(candidate)
                            pending.append(candidate)
    return sorted(wanted)


def build_pydeps(target: Path, python: EmrPython) -> None:
    """pip-install JOB_REQUIREMENTS for the target Python and platform into a zip at `target`."""
    with tempfile.TemporaryDirectory(prefix="pydeps-") as scratch:
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            scratch,
            "--no-compile",
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            str(python.version),
            "--platform",
            str(python.platform),
            "-c",
            str(PROJECT_DIR / "constraints.txt"),
            *JOB_REQUIREMENTS,
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise ConfigError(
                f"pip could not build {PYDEPS_ZIP} for Python {python.version} on {python.platform} "
                f"(emr.python): {result.stderr.strip()[-2000:]}"
            )
        shutil.rmtree(Path(scratch) / "bin", ignore_errors=True)  # console scripts: not imported
        with zipfile.ZipFile(target, "w") as archive:
            add_tree(archive, Path(scratch))


def build(dist: Path, version: str, pod_templates: dict[str, str], python: EmrPython) -> dict[str, str]:
    """Write dist/ from scratch; returns {relative path: sha256}."""
    shutil.rmtree(dist, ignore_errors=True)
    (dist / POD_TEMPLATE_DIR).mkdir(parents=True)
    for entry_point in (ENTRY_POINT, MAINTENANCE_ENTRY_POINT):
        shutil.copyfile(PROJECT_DIR / "jobs" / entry_point, dist / entry_point)
    with zipfile.ZipFile(dist / LIB_ZIP, "w") as archive:
        package_root = PROJECT_DIR / "lib" / "spacex_launches"
        entry_points = [PROJECT_DIR / "jobs" / e for e in (ENTRY_POINT, MAINTENANCE_ENTRY_POINT)]
        for path in [*job_modules(entry_points, package_root), package_root / "py.typed"]:
            if path.is_file():
                add_file(archive, path.relative_to(package_root.parent).as_posix(), path.read_bytes())
    build_pydeps(dist / PYDEPS_ZIP, python)
    shutil.copyfile(jvm_functions.local_jar(), dist / JVM_FUNCTIONS_JAR)
    with zipfile.ZipFile(dist / RESOURCES_ZIP, "w") as archive:
        add_tree(archive, PROJECT_DIR / "conf", "conf", (".yaml", ".properties"))
        add_tree(archive, PROJECT_DIR / "sql", "sql", (".sql",))
    for role in ("driver", "executor"):
        source = PROJECT_DIR / pod_templates[role]
        if not source.is_file():
            raise ConfigError(f"pod template for the {role} not found: {source} (emr.pod_templates.{role})")
        shutil.copyfile(source, dist / POD_TEMPLATE_DIR / f"{role}.yaml")
    files = {
        path.relative_to(dist).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(dist.rglob("*"))
        if path.is_file()
    }
    manifest = {"version": version, "python": python.as_dict(), "files": files}
    (dist / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return files


def deploy(dist: Path, artifacts_uri: str, version: str, region: str | None) -> list[str]:
    """Upload every file of dist/ under <artifacts_uri>/<version>/; returns the URIs written."""
    if not artifacts_uri.startswith("s3://"):
        raise ConfigError(
            f"emr.artifacts_uri must be s3://bucket/prefix, got {redact_location(artifacts_uri)!r}"
        )
    bucket, prefix = split_s3_uri(artifacts_uri)
    prefix = "/".join(part for part in (prefix, version) if part)
    s3 = boto3.client("s3", region_name=region)
    uploaded = []
    for path in sorted(dist.rglob("*")):
        if path.is_file():
            key = f"{prefix}/{path.relative_to(dist).as_posix()}"
            s3.upload_file(str(path), bucket, key)
            uploaded.append(f"s3://{bucket}/{key}")
    return uploaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="dev", choices=("dev", "prod"))
    parser.add_argument("--version", help="default: EMR_ARTIFACTS_VERSION or the git short sha")
    parser.add_argument("--deploy", action="store_true", help="upload dist/ to emr.artifacts_uri/<version>/")
    parser.add_argument("--dist", type=Path, default=PROJECT_DIR / "dist")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.deploy and args.env == "prod" and os.environ.get("CI", "").lower() != "true":
        print("refusing to deploy to prod outside automation (CI=true)", file=sys.stderr)
        return 2
    try:
        config = load_settings(args.env)
        version = artifacts_version(config, args.version)
        files = build(args.dist, version, config.emr.required.pod_templates, config.emr.required.python)
        print(f"packaged {len(files)} files for version {version} in {args.dist}")
        if args.deploy:
            target = config.emr.required.artifacts_uri
            uris = deploy(args.dist, target, version, config.aws_region)
            print(f"deployed {len(uris)} files to {target.rstrip('/')}/{version}/")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"error: upload failed: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
