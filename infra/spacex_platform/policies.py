"""The IAM policies of the platform, as the JSON documents IAM stores: one function per role, built from
Settings (conf/<env>.yaml). The stacks attach them; tests read them back from the synthesized templates.

Least privilege: no `*` action; a wildcard in a resource only where the allow-list in nag.py explains it
(object prefixes a role owns, log streams, job runs, and the few AWS APIs without resource-level
permissions); every s3:ListBucket on the lake is limited to the prefixes the role reads.
"""

from __future__ import annotations

from typing import Any

from spacex_launches.common.paths import RAW_DATASETS
from spacex_launches.common.s3 import split_s3_uri
from spacex_platform.settings import Settings

# What Karpenter describes in the region: AWS authorizes these against no resource, so their only
# possible resource is "*" (nag.RESOURCE_STAR_ACTIONS explains exactly this set).
EC2_DESCRIBE_ACTIONS = (
    "ec2:DescribeCapacityReservations",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribePlacementGroups",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeSubnets",
)


Statement = dict[str, Any]
CDK_QUALIFIER = "hnb659fds"  # the CDK bootstrap's default qualifier (`cdk bootstrap` without --qualifier)


def document(statements: list[Statement]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def allow(
    sid: str, actions: list[str], resources: list[str] | str, condition: dict | None = None
) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def list_prefixes(sid: str, bucket_arn: str, prefixes: list[str]) -> Statement:
    """s3:ListBucket on one bucket, only under the given prefixes."""
    return allow(sid, ["s3:ListBucket"], bucket_arn, {"StringLike": {"s3:prefix": prefixes}})


def key(uri: str) -> str:
    """The key part of s3://bucket/key."""
    return split_s3_uri(uri)[1]


def job_execution(s: Settings) -> list[Statement]:
    """The Spark job on EMR on EKS (IRSA): the raw zone (read), the Iceberg warehouse of the validated zone
    and its quarantine (read, write, delete: commits and expired files) with their tables in Glue, its
    staging and reports, artifacts, the Redshift connector's tempdir, logs and the Redshift secret."""
    lake, lake_arn = s.lake_bucket, s.s3_arn(s.lake_bucket)
    paths = s.lake
    raws = [f"{key(paths.raw(dataset))}/*" for dataset in RAW_DATASETS]
    validated = f"{s.validated_prefix}/*"
    outputs = [validated, key(paths.staging("*"))]
    tempdir_bucket, tempdir_prefix = s.tempdir
    artifacts_bucket, artifacts_prefix = s.artifacts
    logs_bucket, logs_prefix = s.job_logs
    database = s.catalog.database
    return [
        list_prefixes(
            "ListLakeZones",
            lake_arn,
            [*raws, validated, "_reports/*", "_staging/*"],
        ),
        allow("ReadRaw", ["s3:GetObject"], [s.s3_arn(lake, raw) for raw in raws]),
        allow(
            "WriteOutputs",
            [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            [s.s3_arn(lake, prefix) for prefix in outputs],
        ),
        allow("WriteRunReports", ["s3:GetObject", "s3:PutObject"], [s.s3_arn(lake, key(paths.report("*")))]),
        # Iceberg's GlueCatalog: load (GetTable), create and commit (CreateTable, UpdateTable with the
        # table's version id); GetDatabase for the namespace and its location, GetTables to list.
        allow(
            "IcebergTablesInGlue",
            ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable"],
            [
                s.arn("glue", "catalog"),
                s.arn("glue", f"database/{database}"),
                s.arn("glue", f"table/{database}/*"),
            ],
        ),
        list_prefixes("ListArtifacts", s.s3_arn(artifacts_bucket), [f"{artifacts_prefix}/*"]),
        allow("ReadArtifacts", ["s3:GetObject"], [s.s3_arn(artifacts_bucket, f"{artifacts_prefix}/*")]),
        # The Redshift connector checks the tempdir bucket before writing: its region (HeadBucket needs
        # ListBucket without a prefix; GetBucketLocation) and that a lifecycle rule expires its files. The
        # bucket holds nothing but the connector's scratch files.
        allow(
            "InspectRedshiftTempdirBucket",
            ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetLifecycleConfiguration"],
            s.s3_arn(tempdir_bucket),
        ),
        allow(
            "ReadWriteRedshiftTempdir",
            [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            [s.s3_arn(tempdir_bucket, f"{tempdir_prefix}/*")],
        ),
        allow(
            "WriteS3Logs",
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            [s.s3_arn(logs_bucket, f"{logs_prefix}/*")],
        ),
        allow(
            "WriteCloudWatchLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            s.log_group_arns,
        ),
        allow(
            "ReadRedshiftSecret",
            ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            [s.redshift_secret_arn],
        ),
    ]


def airflow(s: Settings, virtual_cluster_arn: str) -> list[Statement]:
    """Airflow (IRSA): start and follow the job on the virtual cluster as the execution role only, ingest
    into the raw zone, read reports and logs, write its task logs, read its secrets."""
    lake = s.lake_bucket
    raws = [f"{key(s.lake.raw(dataset))}/*" for dataset in RAW_DATASETS]
    logs_bucket, logs_prefix = s.job_logs
    execution_role = s.role_arn("emr-job-execution")
    return [
        allow(
            "StartJobRunsAsExecutionRole",
            ["emr-containers:StartJobRun"],
            [virtual_cluster_arn],
            {"ArnEquals": {"emr-containers:ExecutionRoleArn": execution_role}},
        ),
        allow(
            "DescribeVirtualCluster",
            ["emr-containers:DescribeVirtualCluster", "emr-containers:ListJobRuns"],
            [virtual_cluster_arn],
        ),
        allow(
            "FollowJobRuns",
            ["emr-containers:DescribeJobRun", "emr-containers:CancelJobRun"],
            [f"{virtual_cluster_arn}/jobruns/*"],
        ),
        allow(
            "PassOnlyTheExecutionRole",
            ["iam:PassRole"],
            [execution_role],
            {"StringEquals": {"iam:PassedToService": "emr-containers.amazonaws.com"}},
        ),
        list_prefixes("ListRawAndReports", s.s3_arn(lake), [*raws, "_reports/*"]),
        allow("IngestWritesRaw", ["s3:GetObject", "s3:PutObject"], [s.s3_arn(lake, raw) for raw in raws]),
        allow("ReadRunReports", ["s3:GetObject"], [s.s3_arn(lake, "_reports/*.json")]),
        list_prefixes("ListTaskLogs", s.s3_arn(logs_bucket), ["airflow/*", f"{logs_prefix}/*"]),
        allow("WriteTaskLogs", ["s3:GetObject", "s3:PutObject"], [s.s3_arn(logs_bucket, "airflow/*")]),
        allow("ReadJobLogs", ["s3:GetObject"], [s.s3_arn(logs_bucket, f"{logs_prefix}/*")]),
        # a failed run's driver log tail, when it is not (yet) in S3: spacex_launches.orchestration.emr_runs
        allow("ReadJobLogStreams", ["logs:DescribeLogStreams", "logs:GetLogEvents"], s.log_group_arns),
        allow(
            "ReadSecrets",
            ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            [s.redshift_secret_arn, s.arn("secretsmanager", f"secret:{s.airflow_secrets_prefix}*")],
        ),
    ]


def redshift_copy(s: Settings) -> list[Statement]:
    """Redshift's COPY (associated with the namespace): read the validated zone and the tempdir."""
    lake = s.lake_bucket
    tempdir_bucket, tempdir_prefix = s.tempdir
    validated = f"{s.validated_prefix}/*"
    return [
        list_prefixes("ListValidated", s.s3_arn(lake), [validated]),
        allow("ReadValidated", ["s3:GetObject"], [s.s3_arn(lake, validated)]),
        list_prefixes("ListTempdir", s.s3_arn(tempdir_bucket), [f"{tempdir_prefix}/*"]),
        allow("ReadTempdir", ["s3:GetObject"], [s.s3_arn(tempdir_bucket, f"{tempdir_prefix}/*")]),
    ]


def analyst(s: Settings, virtual_cluster_arn: str) -> list[Statement]:
    """People (with MFA): read the validated zone's tables (quarantine included) and the run reports, job
    runs and their logs."""
    lake = s.lake_bucket
    validated = f"{s.validated_prefix}/*"
    database = s.catalog.database
    return [
        list_prefixes("ListValidatedAndReports", s.s3_arn(lake), [validated, "_reports/*"]),
        allow(
            "ReadValidatedAndReports",
            ["s3:GetObject"],
            [s.s3_arn(lake, validated), s.s3_arn(lake, "_reports/*")],
        ),
        allow(
            "ReadTableDefinitions",
            ["glue:GetDatabase", "glue:GetTable", "glue:GetTables"],
            [
                s.arn("glue", "catalog"),
                s.arn("glue", f"database/{database}"),
                s.arn("glue", f"table/{database}/*"),
            ],
        ),
        allow(
            "ReadJobRuns",
            ["emr-containers:DescribeVirtualCluster", "emr-containers:ListJobRuns"],
            [virtual_cluster_arn],
        ),
        allow("ReadJobRunDetails", ["emr-containers:DescribeJobRun"], [f"{virtual_cluster_arn}/jobruns/*"]),
        allow(
            "ReadJobLogs",
            ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"],
            s.log_group_arns,
        ),
    ]


def fluent_bit(s: Settings) -> list[Statement]:
    """Fluent Bit (IRSA): write streams in the pipeline's log group, nothing else."""
    return [
        allow(
            "ShipContainerLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            s.log_group_arns,
        )
    ]


def ci_deploy(s: Settings, virtual_cluster_arn: str, stack_names: list[str]) -> list[Statement]:
    """GitHub Actions (OIDC, this repository's protected environment only): deploy the stacks through the
    CDK bootstrap roles (CloudFormation does the work with its own role), read the stacks' outputs and the
    cluster's OIDC issuer (make platform-outputs), upload the job's artifacts, and where
    platform.ci_submits_jobs is set, start and follow the smoke run."""
    artifacts_bucket, artifacts_prefix = s.artifacts
    bootstrap = [
        f"arn:aws:iam::{s.account}:role/cdk-{CDK_QUALIFIER}-{purpose}-role-{s.account}-{s.region}"
        for purpose in ("deploy", "file-publishing")
    ]
    statements = [
        allow("DeployThroughCdkBootstrapRoles", ["sts:AssumeRole"], bootstrap),
        allow(
            "ReadStackOutputs",
            ["cloudformation:DescribeStacks"],
            [s.arn("cloudformation", f"stack/{name}/*") for name in stack_names],
        ),
        allow("ReadClusterIssuer", ["eks:DescribeCluster"], [s.cluster_arn]),
        allow(
            "UploadArtifacts",
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            [s.s3_arn(artifacts_bucket, f"{artifacts_prefix}/*")],
        ),
    ]
    if s.conf.platform.ci_submits_jobs:
        execution_role = s.role_arn("emr-job-execution")
        statements += [
            allow(
                "StartSmokeRunAsExecutionRole",
                ["emr-containers:StartJobRun"],
                [virtual_cluster_arn],
                {"ArnEquals": {"emr-containers:ExecutionRoleArn": execution_role}},
            ),
            allow("FollowSmokeRun", ["emr-containers:DescribeJobRun"], [f"{virtual_cluster_arn}/jobruns/*"]),
            allow(
                "PassOnlyTheExecutionRole",
                ["iam:PassRole"],
                [execution_role],
                {"StringEquals": {"iam:PassedToService": "emr-containers.amazonaws.com"}},
            ),
        ]
    return statements


def karpenter_controller(s: Settings, queue_arn: str) -> list[Statement]:
    """Karpenter's controller (IRSA), after the policy Karpenter 1.14 publishes, narrowed: EC2 resources in
    this account and region, launches and deletions only of what carries this cluster's tags, the one
    pre-made instance profile (no instance-profile management), its interruption queue."""
    cluster = s.cluster_name

    def ec2(kind: str) -> str:
        return f"arn:aws:ec2:{s.region}:{s.account}:{kind}/*"

    owned = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster,
    }
    launched = [
        "fleet",
        "instance",
        "volume",
        "network-interface",
        "launch-template",
        "spot-instances-request",
    ]
    return [
        allow(
            "LaunchFromSharedResources",
            ["ec2:RunInstances", "ec2:CreateFleet"],
            [
                f"arn:aws:ec2:{s.region}::image/*",
                f"arn:aws:ec2:{s.region}::snapshot/*",
                *(
                    ec2(kind)
                    for kind in ("security-group", "subnet", "capacity-reservation", "placement-group")
                ),
            ],
        ),
        allow(
            "LaunchWithOwnLaunchTemplates",
            ["ec2:RunInstances", "ec2:CreateFleet"],
            [ec2("launch-template")],
            {
                "StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"},
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
            },
        ),
        allow(
            "CreateTaggedNodes",
            ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            [ec2(kind) for kind in launched],
            {"StringEquals": owned, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}},
        ),
        allow(
            "TagOnCreate",
            ["ec2:CreateTags"],
            [ec2(kind) for kind in launched],
            {
                "StringEquals": {
                    **owned,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
            },
        ),
        allow(
            "TagOwnNodes",
            ["ec2:CreateTags"],
            [ec2("instance")],
            {
                "StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"},
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        ),
        allow(
            "DeleteOwnNodes",
            ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            [ec2("instance"), ec2("launch-template")],
            {
                "StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"},
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
            },
        ),
        allow(
            "DescribeRegionalCapacity",
            list(EC2_DESCRIBE_ACTIONS),
            "*",
            {"StringEquals": {"aws:RequestedRegion": s.region}},
        ),
        allow(
            "ReadAmiParameters", ["ssm:GetParameter"], [f"arn:aws:ssm:{s.region}::parameter/aws/service/*"]
        ),
        allow("ReadPrices", ["pricing:GetProducts"], "*"),
        allow(
            "PassNodeRole",
            ["iam:PassRole"],
            [s.role_arn("karpenter-node")],
            {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        ),
        # Karpenter's garbage collector lists instance profiles under its own path on every pass; IAM's
        # list actions are not scoped to a profile.
        allow("ListInstanceProfiles", ["iam:ListInstanceProfiles"], "*"),
        allow(
            "ReadNodeInstanceProfile",
            ["iam:GetInstanceProfile"],
            [f"arn:aws:iam::{s.account}:instance-profile/{s.role_name('karpenter-node')}"],
        ),
        allow("DiscoverApiServer", ["eks:DescribeCluster"], [s.cluster_arn]),
        allow(
            "ConsumeInterruptions",
            ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            [queue_arn],
        ),
    ]
