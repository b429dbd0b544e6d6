"""k8s/eksctl/cluster-<env>.yaml with the data stack's network filled in, for `eksctl create cluster -f -`.

The committed file says what the cluster is; where it lives (VPC, private subnets per AZ, the node
security group Redshift trusts) comes from conf/<env>.outputs.yaml, so nobody copies ids by hand.
"""

from __future__ import annotations

from typing import Any

import yaml

from spacex_launches.common.settings import PROJECT_DIR
from spacex_platform.outputs import OutputsError
from spacex_platform.settings import Settings, is_placeholder


def committed(env: str) -> dict[str, Any]:
    return yaml.safe_load((PROJECT_DIR / "k8s" / "eksctl" / f"cluster-{env}.yaml").read_text())


def cluster_config(settings: Settings) -> dict[str, Any]:
    config = committed(settings.env)
    network = settings.conf.platform.network or {}
    unknown = [
        key
        for key in ("vpc_id", "private_subnets", "node_security_group_id")
        if is_placeholder(network.get(key))
    ]
    if unknown or any(is_placeholder(subnet) for subnet in network["private_subnets"].values()):
        raise OutputsError(
            f"conf/{settings.env}.outputs.yaml has no network yet ({', '.join(unknown) or 'private_subnets'}):"
            f" deploy spacex-{settings.env}-data, then run `make platform-outputs ENV={settings.env}`"
        )
    subnets = network["private_subnets"]
    if set(subnets) != set(config["availabilityZones"]):
        raise OutputsError(
            f"the data stack's private subnets are in {sorted(subnets)}, the cluster wants"
            f" {config['availabilityZones']}: conf platform.availability_zones and the eksctl file disagree"
        )
    config["vpc"]["id"] = network["vpc_id"]
    config["vpc"]["subnets"] = {
        "private": {zone: {"id": subnets[zone]} for zone in config["availabilityZones"]}
    }
    for group in config["managedNodeGroups"]:
        group.setdefault("securityGroups", {})["attachIDs"] = [network["node_security_group_id"]]
    return config


def render(settings: Settings) -> str:
    return yaml.safe_dump(cluster_config(settings), sort_keys=False)
