"""The CDK app: both environments' stacks, checked by cdk-nag's AwsSolutions pack at synth.

Synthesized with plain Python (`make infra-synth`): no AWS account, credentials or CDK CLI needed. The
CLI (`cdk deploy`, infra/cdk.json) runs this same app.
"""

from __future__ import annotations

import os
from pathlib import Path

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from spacex_launches.common.settings import PROJECT_DIR
from spacex_platform.cluster_stack import ClusterStack
from spacex_platform.data_stack import DataStack
from spacex_platform.settings import ENVS, Settings

DEFAULT_OUTDIR = PROJECT_DIR / "infra" / "cdk.out"
# Feature flags this app depends on (the CDK CLI would take them from cdk.json; plain-Python synth cannot).
CONTEXT = {
    "@aws-cdk/core:enablePartitionLiterals": True,  # ARNs say arn:aws: rather than a Ref to AWS::Partition
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,  # log delivery by bucket policy, no ACLs
    "@aws-cdk/core:checkSecretUsage": True,  # a secret's value can only be used as a dynamic reference
}


def build_app(outdir: Path | str = DEFAULT_OUTDIR, envs: tuple[str, ...] = ENVS) -> App:
    app = App(outdir=str(outdir), context=CONTEXT, analytics_reporting=False)
    for env in envs:
        settings = Settings.load(env)
        where = Environment(account=settings.account, region=settings.region)
        for stack_class in (DataStack, ClusterStack):
            protect = bool(settings.conf.platform.termination_protection)
            stack = stack_class(app, settings, env=where, termination_protection=protect)
            Tags.of(stack).add("project", "spacex-launches")
            Tags.of(stack).add("env", env)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def main() -> int:
    # Under the CDK CLI, CDK_OUTDIR says where the CLI reads the assembly from.
    outdir = os.environ.get("CDK_OUTDIR") or DEFAULT_OUTDIR
    try:
        assembly = build_app(outdir).synth()
    except RuntimeError as exc:
        print(f"synth failed: {exc}")
        return 1
    for stack in assembly.stacks:
        print(f"{stack.stack_name:22} {stack.template_full_path}")
    return 0
