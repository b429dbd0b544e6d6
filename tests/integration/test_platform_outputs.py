"""`make platform-outputs` from the live stacks and cluster: describe-stacks and describe-cluster through
boto3 against a real CloudFormation/EKS protocol server (moto), on a copy of conf/. From a `cdk deploy
--outputs-file` JSON: tests/infra/test_outputs.py."""

from __future__ import annotations

import json

import boto3
import pytest

from infra.test_outputs import CLUSTER, DATA
from spacex_launches.common.settings import load_settings
from spacex_platform.__main__ import main


@pytest.mark.filterwarnings(
    "ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle"
)  # moto: no-op resource
def test_outputs_of_the_live_stacks_and_cluster(conf_copy, aws_env, capsys):
    """describe-stacks and describe-cluster through boto3, against a CloudFormation/EKS protocol server."""
    cloudformation = boto3.client("cloudformation")
    for stack, outputs in (("spacex-dev-data", DATA), ("spacex-dev-cluster", CLUSTER)):
        template = {
            "Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    eks = boto3.client("eks")
    eks.create_cluster(
        name="spacex-dev",
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": ["subnet-0aa"]},
    )
    issuer = eks.describe_cluster(name="spacex-dev")["cluster"]["identity"]["oidc"]["issuer"]
    try:
        assert main(["outputs", "--env", "dev"]) == 0
        config = load_settings("dev", environ={})
        assert config.emr.virtual_cluster_id == CLUSTER["EmrVirtualClusterId"]
        assert config.platform.eks_oidc_issuer == issuer.removeprefix("https://")
        assert main(["outputs", "--env", "dev", "--check"]) == 0
    finally:
        for stack in ("spacex-dev-data", "spacex-dev-cluster"):
            cloudformation.delete_stack(StackName=stack)
        eks.delete_cluster(name="spacex-dev")
