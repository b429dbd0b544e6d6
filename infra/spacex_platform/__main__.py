"""Platform commands the Makefile runs (`PYTHONPATH=infra python -m spacex_platform <command> --env dev`):

  outputs        write conf/<env>.outputs.yaml from the deployed stacks and the EKS cluster, or from a
                 `cdk deploy --outputs-file` JSON (--from); --check only compares (exit 1 if stale)
  eksctl-config  print k8s/eksctl/cluster-<env>.yaml with the data stack's network filled in
  stacks         the stacks `make infra-deploy` may deploy now: the cluster stack waits for the cluster
  target         aws://<account>/<region> of the env (`make infra-bootstrap`)

Exit codes: 0 done, 1 the overlay is stale (--check), 2 cannot (missing outputs, no network yet, ...).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spacex_launches.common.settings import outputs_path
from spacex_launches.exceptions import ConfigError
from spacex_platform import outputs
from spacex_platform.settings import ENVS, Settings, is_placeholder, stack_names


def write_outputs(env: str, source: Path | None, issuer: str | None, check: bool) -> int:
    settings = Settings.load(env)
    stacks = stack_names(env)
    if source:
        found = outputs.from_file(source, stacks)
    else:
        found, live_issuer = outputs.from_aws(stacks, settings.cluster_name, settings.region)
        issuer = issuer or live_issuer
    before = outputs.current(env)
    after = outputs.overlay(before, found, issuer)
    changed = outputs.changes(before, after)
    path = outputs_path(env)
    if check:
        if changed:
            print(f"{path} is stale; run `make platform-outputs ENV={env}` and commit it:", file=sys.stderr)
            for line in changed:
                print(f"  {line}", file=sys.stderr)
            return 1
        print(f"{path} matches the deployed platform")
        return 0
    path.write_text(outputs.render(env, after, stacks, settings.cluster_name))
    print(f"{path}: {len(changed)} value(s) changed")
    for line in changed:
        print(f"  {line}")
    return 0


def deployable(env: str) -> list[str]:
    settings = Settings.load(env)
    data, cluster = stack_names(env)
    return [data, cluster] if not is_placeholder(settings.conf.platform.eks_oidc_issuer) else [data]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="spacex_platform", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    out = commands.add_parser("outputs", help="write conf/<env>.outputs.yaml")
    out.add_argument(
        "--from", dest="source", type=Path, help="a `cdk deploy --outputs-file` JSON instead of AWS"
    )
    out.add_argument("--issuer", help="the EKS cluster's OIDC issuer URL (default: from describe-cluster)")
    out.add_argument("--check", action="store_true", help="only compare; exit 1 if the file is stale")
    commands.add_parser("eksctl-config", help="print the eksctl ClusterConfig with the VPC filled in")
    commands.add_parser("stacks", help="print the stacks that can be deployed now")
    commands.add_parser("target", help="print aws://<account>/<region> of the env")
    for command in commands.choices.values():
        command.add_argument("--env", required=True, choices=ENVS)
    args = parser.parse_args(argv)
    try:
        if args.command == "outputs":
            return write_outputs(args.env, args.source, args.issuer, args.check)
        if args.command == "eksctl-config":
            from spacex_platform.eksctl import render

            print(render(Settings.load(args.env)), end="")
            return 0
        if args.command == "target":
            settings = Settings.load(args.env)
            print(f"aws://{settings.account}/{settings.region}")
            return 0
        ready = deployable(args.env)
        if len(ready) < 2:
            print(
                f"spacex-{args.env}-cluster waits for the EKS cluster (platform.eks_oidc_issuer is a placeholder):"
                f" create it, then run `make platform-outputs ENV={args.env}`",
                file=sys.stderr,
            )
        print(" ".join(ready))
        return 0
    except (outputs.OutputsError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
