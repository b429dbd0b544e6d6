"""The offline checks of the platform: cdk-nag's AwsSolutions rules pass with every acknowledgement
reasoned and of a known kind, cfn-lint finds nothing in any template, and both checkers do bite."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from spacex_platform.settings import ENVS, stack_names

# The kinds of finding the platform acknowledges (infra/README.md lists them with their reasons); a new
# kind must be added here knowingly.
ACKNOWLEDGED_RULES = {
    "AwsSolutions-IAM5",
    "AwsSolutions-IAM4",
    "AwsSolutions-S1",
    "AwsSolutions-SQS3",
    "AwsSolutions-SMG4",
}
CFN_LINT_EXCEPTIONS = {("AWS::EC2::Subnet", "W3010")}


def plugin(assembly, name: str) -> dict:
    (report,) = [p for p in assembly.report["pluginReports"] if p["pluginName"] == name]
    return report


def test_cdk_nag_finds_nothing_unacknowledged(assembly):
    nag = plugin(assembly, "AwsSolutions")
    assert (nag["conclusion"], nag["violations"]) == ("success", [])
    builtin = plugin(assembly, "CloudFormation Validate")  # CDK's own template validation
    assert (builtin["conclusion"], builtin["violations"]) == ("success", [])


def test_every_acknowledgement_has_a_reason_and_a_known_kind(assembly):
    suppressed = plugin(assembly, "AwsSolutions")["suppressedViolations"]
    assert suppressed
    kinds = Counter(re.sub(r"\[.*", "", item["ruleName"]) for item in suppressed)
    assert set(kinds) <= ACKNOWLEDGED_RULES, kinds
    for item in suppressed:
        assert len(item["reason"]) > 40, item
        assert item["acknowledgedId"] == f"AwsSolutions::{item['ruleName']}"
    # Both envs have the same acknowledgements but for dev's CI smoke run (job runs it may follow):
    # nothing is waved through in prod only.
    per_env = {
        env: sorted(
            (re.sub(r"\d{12}|dev|prod", "", i["ruleName"]), c["constructPath"].split("/", 1)[1])
            for i in suppressed
            for c in i["violatingConstructs"]
            if c["constructPath"].startswith(f"spacex-{env}-")
        )
        for env in ENVS
    }
    assert set(per_env["prod"]) <= set(per_env["dev"])
    assert set(per_env["dev"]) - set(per_env["prod"]) == {
        ("AwsSolutions-IAM5[Resource::<VirtualCluster.Arn>/jobruns/*]", "CiDeployRole/Resource")
    }


def test_cdk_nag_bites(tmp_path):
    """An unacknowledged finding (a bucket without access logs, a wildcard grant) fails synth."""
    from aws_cdk import App, Stack, Validations
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_s3 as s3
    from cdk_nag import AwsSolutionsChecks

    app = App(outdir=str(tmp_path))
    stack = Stack(app, "bad")
    s3.Bucket(stack, "Bucket", enforce_ssl=True)
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::b/*"]))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    names = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-S1", "AwsSolutions-IAM5[Resource::arn:aws:s3:::b/*]"} <= names


def test_resource_star_is_acknowledged_only_when_every_statement_granting_it_is_explained(assembly, tmp_path):
    suppressed = plugin(assembly, "AwsSolutions")["suppressedViolations"]
    (star,) = {item["reason"] for item in suppressed if item["ruleName"] == "AwsSolutions-IAM5[Resource::*]"}
    assert all(word in star for word in ("EC2 Describe", "Price List", "list actions"))

    from aws_cdk import App, Stack, Validations
    from aws_cdk import aws_iam as iam
    from cdk_nag import AwsSolutionsChecks

    from spacex_platform.nag import acknowledge_wildcards

    app = App(outdir=str(tmp_path))
    role = iam.Role(Stack(app, "mixed"), "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    statements = [
        {"Effect": "Allow", "Action": ["pricing:GetProducts"], "Resource": "*"},  # explained
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},  # not explained
    ]
    for statement in statements:
        role.add_to_policy(iam.PolicyStatement.from_json(statement))
    acknowledge_wildcards(role, statements)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match=re.escape("AwsSolutions-IAM5[Resource::*]")):
        app.synth()


def test_cfn_lint_finds_nothing(assembly):
    from cfnlint.api import ManualArgs, lint_file

    for env in ENVS:
        for name in stack_names(env):
            matches = lint_file(assembly.outdir / f"{name}.template.json", ManualArgs(regions=["us-east-1"]))
            assert [str(m) for m in matches] == [], name


def test_cfn_lint_exceptions_are_only_the_known_ones(assembly):
    found = set()
    for template in assembly.templates.values():
        for resource in template["Resources"].values():
            for rule in (
                resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
            ):
                found.add((resource["Type"], rule))
    assert found == CFN_LINT_EXCEPTIONS


def test_cfn_lint_bites(tmp_path):
    from cfnlint.api import ManualArgs, lint_file

    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "x"}}}})
    )
    assert [m.rule.id for m in lint_file(bad, ManualArgs(regions=["us-east-1"]))] == ["E3002"]
