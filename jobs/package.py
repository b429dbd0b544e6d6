"""Build the EMR on EKS artifacts in dist/ (`make package`) and upload them (`make deploy ENV=dev`).

    python jobs/package.py [--version SHA]                    # build dist/
    python jobs/package.py --deploy --env dev [--version SHA] # build, then upload to emr.artifacts_uri/<version>/

dist/ holds what the job request (spacex_launches.emr) points at:
  launches_etl.py          the spark-submit entry point
  spacex_launches.zip      the lib package (+ pure-Python PyYAML) for --py-files
  resources.zip            conf/ and sql/, unpacked as ./resources in the driver (spark.archives)
  pod-templates/           driver.yaml and executor.yaml from k8s/
  MANIFEST.json            version and sha256 of each file

Why a --py-files zip and not a venv-pack archive: the code is pure Python and the EMR image already has
Spark, Python and the connectors; a zip is small, builds anywhere without network or a matching Linux
image, and is byte-reproducible (fixed timestamps). PyYAML is the one dependency vendored (it falls back
to pure Python when its C extension is absent).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError

from spacex_launches.config import PROJECT_DIR, ConfigError, get_dotted, load_config, require
from spacex_launches.emr import ENTRY_POINT, LIB_ZIP, POD_TEMPLATE_DIR, RESOURCES_ZIP, artifacts_version
from spacex_launches.redact import redact_location

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def add_tree(archive: zipfile.ZipFile, root: Path, arcroot: str, suffixes: tuple[str, ...]) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in suffixes and "__pycache__" not in path.parts:
            info = zipfile.ZipInfo(f"{arcroot}/{path.relative_to(root).as_posix()}", ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def build(dist: Path, version: str, pod_templates: dict[str, str]) -> dict[str, str]:
    """Write dist/ from scratch; returns {relative path: sha256}."""
    shutil.rmtree(dist, ignore_errors=True)
    (dist / POD_TEMPLATE_DIR).mkdir(parents=True)
    shutil.copyfile(PROJECT_DIR / "jobs" / ENTRY_POINT, dist / ENTRY_POINT)
    with zipfile.ZipFile(dist / LIB_ZIP, "w") as archive:
        add_tree(archive, PROJECT_DIR / "lib" / "spacex_launches", "spacex_launches", (".py", ".typed"))
        add_tree(archive, Path(yaml.__file__).parent, "yaml", (".py",))
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
    (dist / "MANIFEST.json").write_text(json.dumps({"version": version, "files": files}, indent=2) + "\n")
    return files


def deploy(dist: Path, artifacts_uri: str, version: str, region: str | None) -> list[str]:
    """Upload every file of dist/ under <artifacts_uri>/<version>/; returns the URIs written."""
    if not artifacts_uri.startswith("s3://"):
        raise ConfigError(
            f"emr.artifacts_uri must be s3://bucket/prefix, got {redact_location(artifacts_uri)!r}"
        )
    bucket, _, prefix = artifacts_uri[len("s3://") :].partition("/")
    prefix = "/".join(part for part in (prefix.strip("/"), version) if part)
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
        config = load_config(args.env)
        version = artifacts_version(config, args.version)
        files = build(args.dist, version, require(config, "emr.pod_templates"))
        print(f"packaged {len(files)} files for version {version} in {args.dist}")
        if args.deploy:
            target = require(config, "emr.artifacts_uri")
            uris = deploy(args.dist, target, version, get_dotted(config, "region"))
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
