"""The IAM roles of the synthesized stacks (the platform's one source of IAM): every policy passes
parliament, no action is a wildcard, a wildcard resource only where the allow-list explains it (the same
list that acknowledges cdk-nag's IAM5), and each role covers exactly the buckets, prefixes, Glue
database, secret, log group and virtual cluster that conf/<env>.yaml and the lake layout name."""

from __future__ import annotations

import json

import parliament
import pytest
import yaml

from spacex_launches.common.paths import RAW_DATASETS
from spacex_launches.common.settings import PROJECT_DIR
from spacex_platform.nag import RESOURCE_STAR_ACTIONS, WILDCARD_RESOURCES, wildcard_reason
from spacex_platform.settings import ENVS, base36

ROLES = (
    "emr-job-execution",
    "airflow",
    "redshift-copy",
    "analyst",
    "fluent-bit",
    "karpenter",
    "karpenter-node",
    "ci-deploy",
)
WRITE_ACTIONS = ("Put", "Delete", "Create", "Update", "Start", "Cancel", "Abort", "Tag", "Untag", "Pass")
# parliament checks identity policies. A trust policy has no Resource element by definition, and
# parliament only knows a fixed list of federation sources (not EKS's or GitHub's OIDC providers); these
# two findings are the only ones tolerated, and only on trust policies. Everything else must be clean.
TRUST_POLICY_FALSE_POSITIVES = {
    ("MALFORMED", "Statement contains neither Resource nor NotResource"),
    ("UNKNOWN_FEDERATION_SOURCE", "oidc-provider"),
}
# ...and on Karpenter's policy, RESOURCE_MISMATCH for two kinds of statement parliament cannot judge:
# RunInstances/CreateFleet authorize against several resource types at once (image, subnet, security
# group, instance, volume, ...), which the policy grants in separate statements with separate tag
# conditions; and AWS's public SSM parameters have an ARN without an account (arn:aws:ssm:<region>::...).
KARPENTER_MISMATCH_ACTIONS = {"ec2:RunInstances", "ec2:CreateFleet", "ssm:GetParameter"}


def tolerated(role: str, which: str, finding) -> bool:
    if which == "trust":
        return any(
            finding.issue == known and text in str(finding.detail)
            for known, text in TRUST_POLICY_FALSE_POSITIVES
        )
    if role.startswith("spacex-karpenter-") and finding.issue == "RESOURCE_MISMATCH":
        return {item["action"] for item in finding.detail} <= KARPENTER_MISMATCH_ACTIONS
    return False


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def resolver(assembly, settings, env):
    """Resolve the few tokens in the cluster stack's policies to the ARNs they stand for: the virtual
    cluster (id from conf/<env>.outputs.yaml) and Karpenter's queue. Anything else is an error."""
    s = settings[env]
    resources = {
        **assembly.template(env, "data")["Resources"],
        **assembly.template(env, "cluster")["Resources"],
    }

    def resolve(node):
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if isinstance(node, dict) and "Fn::Join" in node:
            separator, parts = node["Fn::Join"]
            return separator.join(resolve(part) for part in parts)
        if isinstance(node, dict) and list(node) == ["Fn::GetAtt"]:
            logical_id, attribute = node["Fn::GetAtt"]
            kind = resources[logical_id]["Type"]
            if (kind, attribute) == ("AWS::EMRContainers::VirtualCluster", "Arn"):
                return s.arn("emr-containers", f"/virtualclusters/{s.conf.emr.virtual_cluster_id}")
            if (kind, attribute) == ("AWS::SQS::Queue", "Arn"):
                return s.arn("sqs", resources[logical_id]["Properties"]["QueueName"])
            raise AssertionError(f"unexpected token in a policy: {node}")
        if isinstance(node, dict):
            return {key: resolve(value) for key, value in node.items()}
        return node

    return resolve


def roles(assembly, settings, env) -> dict[str, dict]:
    """role name -> {"trust": document, "policy": inline document (resolved), "managed": [arns]}"""
    resolve = resolver(assembly, settings, env)
    found = {}
    for kind in ("data", "cluster"):
        for resource in assembly.resources(env, kind, "AWS::IAM::Role").values():
            props = resource["Properties"]
            (policy,) = props.get("Policies") or [
                {"PolicyDocument": {"Version": "2012-10-17", "Statement": []}}
            ]
            found[props["RoleName"]] = {
                "trust": props["AssumeRolePolicyDocument"],
                "policy": resolve(policy["PolicyDocument"]),
                "managed": props.get("ManagedPolicyArns", []),
            }
    return found


@pytest.fixture(scope="module")
def all_roles(assembly, settings) -> dict[str, dict[str, dict]]:
    return {env: roles(assembly, settings, env) for env in ENVS}


def statements(document: dict) -> list[dict]:
    return as_list(document["Statement"])


def allowed(document: dict) -> dict[str, set[str]]:
    """action -> resources the policy allows."""
    grants: dict[str, set[str]] = {}
    for statement in statements(document):
        if statement["Effect"] == "Allow":
            for action in as_list(statement["Action"]):
                grants.setdefault(action, set()).update(as_list(statement["Resource"]))
    return grants


def by_sid(document: dict) -> dict[str, dict]:
    return {statement["Sid"]: statement for statement in statements(document)}


def s3_arn(uri: str) -> str:
    _, rest = uri.split("://", 1)
    return f"arn:aws:s3:::{rest.rstrip('/')}"


def every_policy(all_roles):
    for env in ENVS:
        for name, role in all_roles[env].items():
            yield env, name, role


def test_every_role_is_there(all_roles, settings):
    for env in ENVS:
        assert set(all_roles[env]) == {settings[env].role_name(role) for role in ROLES}
        c = settings[env].conf
        assert c.emr.execution_role_arn == settings[env].role_arn("emr-job-execution")
        assert c.redshift.iam_role_arn == settings[env].role_arn("redshift-copy")


def test_parliament_finds_nothing(all_roles):
    for _env, name, role in every_policy(all_roles):
        for which in ("policy", "trust"):
            document = role[which]
            if not statements(document):
                continue
            findings = parliament.analyze_policy_string(json.dumps(document)).findings
            left = [(f.issue, str(f.detail)) for f in findings if not tolerated(name, which, f)]
            assert left == [], f"{name} {which}: {left}"


def test_parliament_is_not_toothless():
    policy = parliament.analyze_policy_string(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}],
            }
        )
    )
    assert [f.issue for f in policy.findings] == ["RESOURCE_MISMATCH"]


def test_no_wildcard_action_and_wildcard_resources_only_where_explained(all_roles):
    for _env, name, role in every_policy(all_roles):
        for statement in statements(role["policy"]):
            actions = as_list(statement["Action"])
            assert "NotAction" not in statement and "NotResource" not in statement, name
            assert not any(a == "*" or a.endswith(":*") or "*" in a for a in actions), f"{name}: {actions}"
            for resource in as_list(statement["Resource"]):
                if resource == "*":
                    assert frozenset(actions) in RESOURCE_STAR_ACTIONS, f"{name}: Resource * for {actions}"
                elif "*" in resource:
                    assert wildcard_reason(resource), f"{name}: unexplained wildcard {resource}"


def test_the_wildcard_allow_list_refuses_whole_buckets_and_other_accounts():
    assert wildcard_reason("arn:aws:s3:::spacex-lake-dev/raw/spacex/launches/*")
    assert not wildcard_reason("arn:aws:s3:::spacex-lake-dev/*")
    assert not wildcard_reason("arn:aws:s3:::*")
    assert not wildcard_reason("arn:aws:glue:us-east-1:111122223333:table/*")
    assert not wildcard_reason("arn:aws:secretsmanager:us-east-1:111122223333:secret:*")
    assert all(reason for _, reason in WILDCARD_RESOURCES) and all(RESOURCE_STAR_ACTIONS.values())


def test_managed_policies_only_on_the_karpenter_node_role(all_roles, settings):
    for env, name, role in every_policy(all_roles):
        if name == settings[env].role_name("karpenter-node"):
            assert sorted(role["managed"]) == sorted(
                f"arn:aws:iam::aws:policy/{p}"
                for p in (
                    "AmazonEKSWorkerNodePolicy",
                    "AmazonEKS_CNI_Policy",
                    "AmazonEC2ContainerRegistryPullOnly",
                    "AmazonSSMManagedInstanceCore",
                )
            )
            assert statements(role["policy"]) == []
        else:
            assert role["managed"] == [], name


@pytest.mark.parametrize("env", ENVS)
def test_every_policy_stays_in_its_account_and_environment(all_roles, settings, env):
    other = {e: settings[e].account for e in ENVS if e != env}
    for name, role in all_roles[env].items():
        text = json.dumps({"name": name, **role})
        assert f"-{env}" in text or settings[env].account in text, name
        for other_env, other_account in other.items():
            assert other_account not in text and f"-{other_env}" not in text, f"{name} mentions {other_env}"


@pytest.mark.parametrize("env", ENVS)
def test_job_execution_role_covers_exactly_the_lake_layout_and_conf(all_roles, settings, env):
    s = settings[env]
    c = s.conf
    lake = s.lake
    policy = all_roles[env][s.role_name("emr-job-execution")]["policy"]
    grants = allowed(policy)
    raws = {s3_arn(lake.raw(dataset)) + "/*" for dataset in RAW_DATASETS}  # launches and /cores
    # The Iceberg warehouse (the tables' data and metadata, quarantine included) and the run's staging.
    assert s.catalog.warehouse == lake.validated
    outputs = {s3_arn(lake.validated) + "/*", s3_arn(lake.staging("*"))}
    tempdir = s3_arn(c.redshift.tempdir) + "/*"
    assert grants["s3:GetObject"] == {
        *raws,
        *outputs,
        s3_arn(lake.report("*")),
        tempdir,
        s3_arn(c.emr.artifacts_uri) + "/*",
    }
    assert grants["s3:PutObject"] == {
        *outputs,
        s3_arn(lake.report("*")),
        tempdir,
        s3_arn(c.emr.log_uri) + "/*",
    }
    assert grants["s3:DeleteObject"] == {*outputs, tempdir}, "raw and reports are never deleted"
    log_group = f"arn:aws:logs:{c.region}:{c.aws_account_id}:log-group:{c.emr.log_group}"
    assert grants["logs:PutLogEvents"] == {log_group, f"{log_group}:log-stream:*"}
    secret = f"arn:aws:secretsmanager:{c.region}:{c.aws_account_id}:secret:{c.redshift.secret_id}-??????"
    assert grants["secretsmanager:GetSecretValue"] == {secret}
    lake_bucket = s3_arn(c.lake)
    listed = [st for st in statements(policy) if st["Resource"] == lake_bucket]
    assert listed and all("s3:prefix" in st["Condition"]["StringLike"] for st in listed)


@pytest.mark.parametrize("env", ENVS)
def test_job_role_may_use_the_iceberg_catalog_of_its_database_only(all_roles, settings, env):
    s = settings[env]
    grants = allowed(all_roles[env][s.role_name("emr-job-execution")]["policy"])
    glue = {action: resources for action, resources in grants.items() if action.startswith("glue:")}
    database = s.conf.lakehouse.database
    scope = {
        s.arn("glue", "catalog"),
        s.arn("glue", f"database/{database}"),
        s.arn("glue", f"table/{database}/*"),
    }
    assert set(glue) == {
        "glue:GetDatabase",
        "glue:GetTable",
        "glue:GetTables",
        "glue:CreateTable",
        "glue:UpdateTable",
    }
    assert all(resources == scope for resources in glue.values())


@pytest.mark.parametrize("env", ENVS)
def test_job_role_reads_what_the_redshift_connector_checks_on_the_tempdir_bucket(all_roles, settings, env):
    s = settings[env]
    bucket, _ = s.tempdir
    check = by_sid(all_roles[env][s.role_name("emr-job-execution")]["policy"])["InspectRedshiftTempdirBucket"]
    assert set(check["Action"]) == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetLifecycleConfiguration"}
    assert check["Resource"] == f"arn:aws:s3:::{bucket}" and "Condition" not in check


def test_base36_matches_a_known_value():
    assert base36("a") == "2p" and base36("ab") == "j8i"  # 97 = 2*36+25; 24930 = 19*36**2+8*36+18


def web_identity(settings, env: str, role: dict) -> tuple[str, dict]:
    (statement,) = statements(role["trust"])
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    federated = statement["Principal"]["Federated"]
    s = settings[env]
    assert federated == s.oidc_provider_arn
    issuer = federated.split(":oidc-provider/", 1)[1]
    assert issuer == s.conf.platform.eks_oidc_issuer
    assert statement["Condition"]["StringEquals"][f"{issuer}:aud"] == "sts.amazonaws.com"
    return issuer, statement["Condition"]


@pytest.mark.parametrize("env", ENVS)
def test_irsa_roles_trust_only_their_service_accounts(all_roles, settings, env):
    s = settings[env]
    role_name = s.conf.emr.execution_role_arn.split(":role/", 1)[1]
    issuer, condition = web_identity(settings, env, all_roles[env][role_name])
    expected = (
        f"system:serviceaccount:{s.conf.emr.namespace}:emr-containers-sa-*-*-{s.account}-{base36(role_name)}"
    )
    assert condition["StringLike"] == {f"{issuer}:sub": expected}
    issuer, condition = web_identity(settings, env, all_roles[env][s.role_name("airflow")])
    subjects = condition["StringEquals"][f"{issuer}:sub"]
    assert subjects and all(sa.startswith("system:serviceaccount:airflow:airflow-") for sa in subjects)
    for role, subject in (
        ("fluent-bit", "logging:aws-for-fluent-bit"),
        ("karpenter", "kube-system:karpenter"),
    ):
        issuer, condition = web_identity(settings, env, all_roles[env][s.role_name(role)])
        assert condition == {
            "StringEquals": {
                f"{issuer}:aud": "sts.amazonaws.com",
                f"{issuer}:sub": f"system:serviceaccount:{subject}",
            }
        }


@pytest.mark.parametrize("env", ENVS)
def test_airflow_role(all_roles, settings, env):
    s = settings[env]
    c = s.conf
    cluster = (
        f"arn:aws:emr-containers:{c.region}:{c.aws_account_id}:/virtualclusters/{c.emr.virtual_cluster_id}"
    )
    policy = all_roles[env][s.role_name("airflow")]["policy"]
    grants = allowed(policy)
    assert grants["emr-containers:StartJobRun"] == {cluster}
    assert (
        grants["emr-containers:DescribeJobRun"]
        == grants["emr-containers:CancelJobRun"]
        == {f"{cluster}/jobruns/*"}
    )
    assert grants["iam:PassRole"] == {c.emr.execution_role_arn}
    sids = by_sid(policy)
    assert sids["StartJobRunsAsExecutionRole"]["Condition"] == {
        "ArnEquals": {"emr-containers:ExecutionRoleArn": c.emr.execution_role_arn}
    }
    assert sids["PassOnlyTheExecutionRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "emr-containers.amazonaws.com"}
    }
    raws = {s3_arn(s.lake.raw(dataset)) + "/*" for dataset in RAW_DATASETS}
    assert grants["s3:PutObject"] == {*raws, s3_arn(c.emr.log_uri).rsplit("/", 1)[0] + "/airflow/*"}
    assert "s3:DeleteObject" not in grants
    # A failed run's driver log tail: S3 (ReadJobLogs), else CloudWatch Logs (spacex_launches.orchestration.emr_runs).
    assert grants["s3:GetObject"] >= {s3_arn(c.emr.log_uri).rstrip("/") + "/*"}
    assert grants["logs:DescribeLogStreams"] == grants["logs:GetLogEvents"] == set(s.log_group_arns)
    assert grants["emr-containers:ListJobRuns"] == {cluster}  # the runs already started for a date


@pytest.mark.parametrize("env", ENVS)
def test_redshift_copy_role_reads_validated_and_tempdir_only(all_roles, settings, env):
    s = settings[env]
    role = all_roles[env][s.role_name("redshift-copy")]
    grants = allowed(role["policy"])
    assert set(grants) == {"s3:GetObject", "s3:ListBucket"}
    assert grants["s3:GetObject"] == {
        s3_arn(s.catalog.warehouse) + "/*",
        s3_arn(s.conf.redshift.tempdir) + "/*",
    }
    services = {st["Principal"]["Service"] for st in statements(role["trust"])}
    assert services == {"redshift.amazonaws.com", "redshift-serverless.amazonaws.com"}
    assert all(
        st["Condition"] == {"StringEquals": {"aws:SourceAccount": s.account}}
        for st in statements(role["trust"])
    )


@pytest.mark.parametrize("env", ENVS)
def test_analysts_read_only_with_mfa(all_roles, settings, env):
    role = all_roles[env][settings[env].role_name("analyst")]
    writes = [a for a in allowed(role["policy"]) if a.split(":", 1)[1].startswith(WRITE_ACTIONS)]
    assert writes == []
    (statement,) = statements(role["trust"])
    assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


@pytest.mark.parametrize("env", ENVS)
def test_ci_role_deploys_through_cdk_and_uploads_artifacts_only(all_roles, settings, env):
    s = settings[env]
    grants = allowed(all_roles[env][s.role_name("ci-deploy")]["policy"])
    assert grants["sts:AssumeRole"] == {
        f"arn:aws:iam::{s.account}:role/cdk-hnb659fds-{purpose}-role-{s.account}-{s.region}"
        for purpose in ("deploy", "file-publishing")
    }
    artifacts = s3_arn(s.conf.emr.artifacts_uri) + "/*"
    assert grants["s3:PutObject"] == {artifacts}
    assert not any(
        a.startswith(("s3:Delete", "iam:Create", "iam:Put", "iam:Attach", "cloudformation:"))
        and a != "cloudformation:DescribeStacks"
        for a in grants
    )
    smoke = {"emr-containers:StartJobRun", "emr-containers:DescribeJobRun", "iam:PassRole"}
    if s.conf.platform.ci_submits_jobs:
        assert smoke <= set(grants) and grants["iam:PassRole"] == {s.conf.emr.execution_role_arn}
    else:
        assert not smoke & set(grants), "prod's CI does not start job runs: Airflow does"


@pytest.mark.parametrize("env", ENVS)
def test_karpenter_launches_and_removes_only_this_clusters_nodes(all_roles, settings, env):
    s = settings[env]
    policy = all_roles[env][s.role_name("karpenter")]["policy"]
    owned = f"aws:ResourceTag/kubernetes.io/cluster/{s.cluster_name}"
    for statement in statements(policy):
        actions = set(as_list(statement["Action"]))
        if actions & {"ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"}:
            assert statement["Condition"]["StringEquals"] == {owned: "owned"}
        if "ec2:CreateLaunchTemplate" in actions or "ec2:CreateTags" in actions:
            condition = statement["Condition"]["StringEquals"]
            assert (
                condition.get(f"aws:RequestTag/kubernetes.io/cluster/{s.cluster_name}") == "owned"
                or condition.get(owned) == "owned"
            )
    grants = allowed(policy)
    assert grants["iam:PassRole"] == {s.role_arn("karpenter-node")}
    assert not [
        a
        for a in grants
        if a.startswith("iam:")
        and a not in ("iam:PassRole", "iam:GetInstanceProfile", "iam:ListInstanceProfiles")
    ]


@pytest.mark.parametrize("env", ENVS)
def test_helm_values_name_the_synthesized_roles_and_queue(settings, env):
    s = settings[env]
    values = yaml.safe_load((PROJECT_DIR / "k8s" / "karpenter" / env / "values.yaml").read_text())
    assert values["settings"] == {"clusterName": s.cluster_name, "interruptionQueue": s.karpenter_queue_name}
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == s.role_arn("karpenter")
    node_class = yaml.safe_load((PROJECT_DIR / "k8s" / "karpenter" / env / "ec2nodeclass.yaml").read_text())
    assert node_class["spec"]["instanceProfile"] == s.role_name("karpenter-node")
    fluent_bit = yaml.safe_load(
        (PROJECT_DIR / "k8s" / "monitoring" / env / "fluent-bit-values.yaml").read_text()
    )
    assert fluent_bit["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == s.role_arn(
        "fluent-bit"
    )
