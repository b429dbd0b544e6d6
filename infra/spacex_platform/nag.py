"""cdk-nag (AwsSolutions pack) and the reasons behind every finding this platform acknowledges.

Wildcards in IAM resources are acknowledged only when they match one of the explained patterns below,
so a new wildcard fails synth until someone adds it here with a reason. `Resource: "*"` is acknowledged
only for the listed actions, which AWS does not authorize against a resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

from spacex_platform.policies import EC2_DESCRIBE_ACTIONS

PACK = "AwsSolutions"

# (pattern of a resource ARN with a wildcard, why the wildcard is needed)
WILDCARD_RESOURCES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^arn:aws:s3:::[a-z0-9.-]+/[^*]+\*(\.json)?$"),
        "objects under a prefix this role owns (run ids, table files and upload names are made at run time)",
    ),
    (
        re.compile(r"^arn:aws:logs:[a-z0-9-]+:\d{12}:log-group:[^*]+:log-stream:\*$"),
        "streams of the one log group (EMR and Fluent Bit name streams per job run and pod)",
    ),
    (
        re.compile(r"^arn:aws:glue:[a-z0-9-]+:\d{12}:table/[a-z0-9_]+/\*$"),
        "tables of the one Glue database of this env (Iceberg's GlueCatalog creates and commits them)",
    ),
    (
        re.compile(r"/jobruns/\*$"),
        "job runs of the one virtual cluster (their ids are made when a run starts)",
    ),
    (
        re.compile(r"^arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:spacex/[a-z]+/airflow/\*$"),
        "Airflow's connections and variables, under its own prefix in Secrets Manager",
    ),
    (
        re.compile(r"^arn:aws:cloudformation:[a-z0-9-]+:\d{12}:stack/spacex-[a-z]+-[a-z]+/\*$"),
        "the stack's own ARN ends in an id CloudFormation makes at creation",
    ),
    (
        re.compile(r"^arn:aws:ec2:[a-z0-9-]+:(\d{12})?:[a-z-]+/\*$"),
        "Karpenter launches nodes from AMIs, subnets and security groups it selects and creates instances,"
        " volumes, interfaces and launch templates; creation and deletion are bound to this cluster's tags",
    ),
    (
        re.compile(r"^arn:aws:ssm:[a-z0-9-]+::parameter/aws/service/\*$"),
        "Karpenter resolves the EKS-optimized AMI ids from AWS's public SSM parameters",
    ),
)

# Actions that AWS authorizes against no resource, so the only possible resource is "*".
RESOURCE_STAR_ACTIONS: dict[frozenset[str], str] = {
    frozenset(
        EC2_DESCRIBE_ACTIONS
    ): "EC2 Describe* have no resource-level permissions; limited to this region (aws:RequestedRegion)",
    frozenset(
        {"pricing:GetProducts"}
    ): "the Price List API has no resources; Karpenter prices instance types",
    frozenset(
        {"iam:ListInstanceProfiles"}
    ): "IAM list actions are not scoped to a profile; Karpenter's garbage"
    " collector lists the profiles under its own path",
}

# Findings acknowledged on specific constructs: rule id -> reason. Applied by the stacks.
REASONS = {
    "IAM4-karpenter-node": "the standard EKS worker-node policies (kubelet, VPC CNI, image pulls from ECR, SSM"
    " Session Manager instead of SSH) that every EKS node needs; AWS keeps them current with EKS",
    "SQS3-interruption-queue": "Karpenter's interruption queue holds EC2 events for 5 minutes; an event nobody"
    " read in time is stale, a dead-letter queue would only keep stale events",
    "SMG4-redshift-admin": "the namespace's admin password is set from this secret at deploy time; Secrets"
    " Manager rotation would change it behind CloudFormation (Redshift-managed rotation needs the secret ARN"
    " that CloudFormation does not expose yet: aws-cdk issue 29930)",
}


def wildcard_reason(resource: str) -> str | None:
    for pattern, reason in WILDCARD_RESOURCES:
        if pattern.search(resource):
            return reason
    return None


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def render(stack: Stack, value: str) -> str:
    """A resource as cdk-nag writes it in a finding: literal text, tokens as <LogicalId.Attribute>."""
    resolved = stack.resolve(value)
    return _render(resolved)


def _render(node: Any) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return separator.join(_render(part) for part in parts)
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        logical_id, attribute = node["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if isinstance(node, dict) and "Ref" in node:
        return f"<{node['Ref']}>"
    raise ValueError(f"cannot render {node!r}")


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{PACK}::{PACK}-{rule}", reason=reason))


def acknowledge_wildcards(construct: IConstruct, statements: Iterable[dict[str, Any]]) -> None:
    """Acknowledge IAM5 for each wildcard resource of `statements` that the allow-lists explain; anything
    else stays a finding and fails synth. cdk-nag reports a resource once per policy, so the reasons of
    every statement granting it are joined, and one unexplained statement leaves the finding open."""
    stack = Stack.of(construct)
    reasons: dict[str, list[str | None]] = {}
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        actions = frozenset(as_list(statement["Action"]))
        for resource in as_list(statement["Resource"]):
            text = render(stack, resource)
            if "*" in text:
                reason = RESOURCE_STAR_ACTIONS.get(actions) if text == "*" else wildcard_reason(text)
                reasons.setdefault(text, []).append(reason)
    for text, found in reasons.items():
        if all(found):
            acknowledge(construct, f"IAM5[Resource::{text}]", "; ".join(dict.fromkeys(filter(None, found))))
