"""k8s/iam/: every policy passes parliament, grants no wildcard action or resource, and covers exactly the
buckets, prefixes, secret, log group and virtual cluster that conf/<env>.yaml and the lake layout name."""

from __future__ import annotations

import json
from pathlib import Path

import parliament
import pytest

from spacex_launches.config import PROJECT_DIR, load_config
from spacex_launches.layout import LakePaths

IAM = PROJECT_DIR / "k8s" / "iam"
ENVS = ("dev", "prod")
POLICIES = sorted(IAM.glob("*/*.json"))
TRUST = [p for p in POLICIES if p.name.endswith("-trust.json")]
BUCKET = [p for p in POLICIES if p.name.startswith("bucket-policy-")]
IDENTITY = [p for p in POLICIES if p not in TRUST and p not in BUCKET]
WRITE_ACTIONS = ("Put", "Delete", "Create", "Update", "Start", "Cancel", "Abort", "Tag", "Untag", "Pass")

# parliament checks identity policies. A trust policy has no Resource element by definition, and
# parliament only knows a fixed list of federation sources (not EKS OIDC providers); these two findings
# are the only ones tolerated, and only on trust policies. Everything else must be clean.
TRUST_POLICY_FALSE_POSITIVES = {
    ("MALFORMED", "Statement contains neither Resource nor NotResource"),
    ("UNKNOWN_FEDERATION_SOURCE", "oidc-provider"),
}
# "Resource": "*" where an AWS API has no resource-level permissions. None needed so far.
RESOURCE_STAR_ALLOWED: dict[tuple[str, str], str] = {}


def doc(path: Path) -> dict:
    return json.loads(path.read_text())


def statements(path: Path) -> list[dict]:
    stmts = doc(path)["Statement"]
    return stmts if isinstance(stmts, list) else [stmts]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def conf(env: str) -> dict:
    return load_config(env, environ={})


def allowed(env: str, name: str) -> dict[str, set[str]]:
    """action -> resources an identity policy allows."""
    grants: dict[str, set[str]] = {}
    for stmt in statements(IAM / env / name):
        if stmt["Effect"] == "Allow":
            for action in as_list(stmt["Action"]):
                grants.setdefault(action, set()).update(as_list(stmt["Resource"]))
    return grants


def s3_arn(uri: str) -> str:
    _, rest = uri.split("://", 1)
    return f"arn:aws:s3:::{rest.rstrip('/')}"


def test_policies_found():
    for env in ENVS:
        names = {p.name for p in POLICIES if p.parent.name == env}
        for role in ("emr-job-execution", "airflow", "redshift-copy", "analyst", "fluent-bit"):
            assert {f"{role}-policy.json", f"{role}-trust.json"} <= names, role
    assert len(BUCKET) == 8


@pytest.mark.parametrize("path", POLICIES, ids=[str(p.relative_to(IAM)) for p in POLICIES])
def test_parliament_finds_nothing(path):
    policy = parliament.analyze_policy_string(path.read_text())
    findings = [(f.issue, str(f.detail)) for f in policy.findings]
    if path in TRUST:
        findings = [
            (issue, detail)
            for issue, detail in findings
            if not any(issue == known and text in detail for known, text in TRUST_POLICY_FALSE_POSITIVES)
        ]
    assert findings == [], f"{path.relative_to(PROJECT_DIR)}: {findings}"


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


@pytest.mark.parametrize("path", POLICIES, ids=[str(p.relative_to(IAM)) for p in POLICIES])
def test_no_wildcard_actions_or_resources(path):
    for stmt in statements(path):
        actions = as_list(stmt.get("Action", []))
        assert "*" not in actions and "NotAction" not in stmt, path
        if stmt["Effect"] == "Allow":
            assert all(not a.endswith(":*") for a in actions), f"{path}: service-wide action in {actions}"
            for resource in as_list(stmt.get("Resource", [])):
                if resource == "*":
                    assert (path.name, stmt.get("Sid")) in RESOURCE_STAR_ALLOWED, (
                        f"{path}: Resource * in {stmt}"
                    )


@pytest.mark.parametrize("env", ENVS)
def test_every_policy_stays_in_its_account_and_environment(env):
    other = {e: conf(e)["aws_account_id"] for e in ENVS if e != env}
    for path in (IAM / env).glob("*.json"):
        text = path.read_text()
        assert f"-{env}" in text or conf(env)["aws_account_id"] in text, path
        for other_env, other_account in other.items():
            assert other_account not in text and f"-{other_env}" not in text, f"{path} mentions {other_env}"


@pytest.mark.parametrize("env", ENVS)
def test_job_execution_role_covers_exactly_the_lake_layout_and_conf(env):
    c = conf(env)
    lake = LakePaths.at(c["lake"])
    grants = allowed(env, "emr-job-execution-policy.json")
    raw = s3_arn(lake.raw_launches) + "/*"
    outputs = {s3_arn(lake.validated) + "/*", s3_arn(lake.staging("*"))}
    tempdir = s3_arn(c["redshift"]["tempdir"]) + "/*"
    assert grants["s3:GetObject"] == {raw, *outputs, s3_arn(lake.report("*")), tempdir} | {
        s3_arn(c["emr"]["artifacts_uri"]) + "/*"
    }
    assert grants["s3:PutObject"] == {
        *outputs,
        s3_arn(lake.report("*")),
        tempdir,
        s3_arn(c["emr"]["log_uri"]) + "/*",
    }
    assert grants["s3:DeleteObject"] == {*outputs, tempdir}, "raw and reports are never deleted"
    log_group = f"arn:aws:logs:{c['region']}:{c['aws_account_id']}:log-group:{c['emr']['log_group']}"
    assert grants["logs:PutLogEvents"] == {log_group, f"{log_group}:log-stream:*"}
    secret = f"arn:aws:secretsmanager:{c['region']}:{c['aws_account_id']}:secret:{c['redshift']['secret_id']}-??????"
    assert grants["secretsmanager:GetSecretValue"] == {secret}
    # the lake's Iceberg tables in the env's Glue database, and nothing else of the catalog
    glue = f"arn:aws:glue:{c['region']}:{c['aws_account_id']}"
    database = c["lakehouse"]["database"]
    for action in ("glue:GetTable", "glue:CreateTable", "glue:UpdateTable"):
        assert grants[action] == {
            f"{glue}:catalog",
            f"{glue}:database/{database}",
            f"{glue}:table/{database}/*",
        }
    lake_bucket = s3_arn(c["lake"])
    listed = [
        s for s in statements(IAM / env / "emr-job-execution-policy.json") if s["Resource"] == lake_bucket
    ]
    assert listed and all("s3:prefix" in s["Condition"]["StringLike"] for s in listed)


def base36(name: str) -> str:
    """The role-name encoding of EMR on EKS's service account names (as `aws emr-containers
    update-role-trust-policy` computes it): the UTF-8 bytes as a big-endian number, in base 36."""
    number, digits = int.from_bytes(name.encode(), "big"), ""
    while number:
        number, rest = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
    return digits or "0"


def test_base36_matches_a_known_value():
    assert base36("a") == "2p" and base36("ab") == "j8i"  # 97 = 2*36+25; 24930 = 19*36**2+8*36+18


def web_identity(env: str, name: str) -> tuple[str, dict]:
    (stmt,) = statements(IAM / env / name)
    assert stmt["Action"] == "sts:AssumeRoleWithWebIdentity"
    federated = stmt["Principal"]["Federated"]
    c = conf(env)
    prefix = f"arn:aws:iam::{c['aws_account_id']}:oidc-provider/oidc.eks.{c['region']}.amazonaws.com/id/"
    assert federated.startswith(prefix)
    provider = federated.split(":oidc-provider/", 1)[1]
    assert stmt["Condition"]["StringEquals"][f"{provider}:aud"] == "sts.amazonaws.com"
    return provider, stmt["Condition"]


@pytest.mark.parametrize("env", ENVS)
def test_job_execution_trust_is_scoped_to_emr_service_accounts_in_the_namespace(env):
    c = conf(env)
    role_name = c["emr"]["execution_role_arn"].split(":role/", 1)[1]
    provider, condition = web_identity(env, "emr-job-execution-trust.json")
    expected = (
        f"system:serviceaccount:{c['emr']['namespace']}:emr-containers-sa-*-*-"
        f"{c['aws_account_id']}-{base36(role_name)}"
    )
    assert condition["StringLike"] == {f"{provider}:sub": expected}


@pytest.mark.parametrize("env", ENVS)
def test_airflow_role(env):
    c = conf(env)
    account, region = c["aws_account_id"], c["region"]
    cluster = f"arn:aws:emr-containers:{region}:{account}:/virtualclusters/{c['emr']['virtual_cluster_id']}"
    grants = allowed(env, "airflow-policy.json")
    assert grants["emr-containers:StartJobRun"] == {cluster}
    assert (
        grants["emr-containers:DescribeJobRun"]
        == grants["emr-containers:CancelJobRun"]
        == {f"{cluster}/jobruns/*"}
    )
    assert grants["iam:PassRole"] == {c["emr"]["execution_role_arn"]}
    by_sid = {s["Sid"]: s for s in statements(IAM / env / "airflow-policy.json")}
    assert by_sid["StartJobRunsAsExecutionRole"]["Condition"] == {
        "ArnEquals": {"emr-containers:ExecutionRoleArn": c["emr"]["execution_role_arn"]}
    }
    assert by_sid["PassOnlyTheExecutionRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "emr-containers.amazonaws.com"}
    }
    raw = s3_arn(LakePaths.at(c["lake"]).raw_launches) + "/*"
    assert grants["s3:PutObject"] == {raw, s3_arn(c["emr"]["log_uri"]).rsplit("/", 1)[0] + "/airflow/*"}
    assert "s3:DeleteObject" not in grants
    # A failed run's driver log tail: S3 (ReadJobLogs), else CloudWatch Logs (spacex_launches.emr_runs).
    assert grants["s3:GetObject"] >= {s3_arn(c["emr"]["log_uri"]).rstrip("/") + "/*"}
    log_group = f"arn:aws:logs:{region}:{account}:log-group:{c['emr']['log_group']}:*"
    assert grants["logs:DescribeLogStreams"] == grants["logs:GetLogEvents"] == {log_group}
    assert grants["emr-containers:ListJobRuns"] == {cluster}  # the runs already started for a date
    provider, condition = web_identity(env, "airflow-trust.json")
    assert all(
        sa.startswith("system:serviceaccount:airflow:airflow-")
        for sa in condition["StringEquals"][f"{provider}:sub"]
    )


@pytest.mark.parametrize("env", ENVS)
def test_redshift_copy_role_reads_validated_and_tempdir_only(env):
    c = conf(env)
    grants = allowed(env, "redshift-copy-policy.json")
    assert set(grants) == {"s3:GetObject", "s3:ListBucket"}
    lake = LakePaths.at(c["lake"])
    assert grants["s3:GetObject"] == {s3_arn(lake.validated) + "/*", s3_arn(c["redshift"]["tempdir"]) + "/*"}
    (stmt,) = statements(IAM / env / "redshift-copy-trust.json")
    assert stmt["Principal"] == {"Service": "redshift.amazonaws.com"}
    assert c["redshift"]["iam_role_arn"].endswith(f":role/spacex-redshift-copy-{env}")


@pytest.mark.parametrize("env", ENVS)
def test_analysts_read_only(env):
    grants = allowed(env, "analyst-policy.json")
    writes = [a for a in grants if a.split(":", 1)[1].startswith(WRITE_ACTIONS)]
    assert writes == []
    (stmt,) = statements(IAM / env / "analyst-trust.json")
    assert stmt["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def test_in_prod_only_automation_roles_can_write_the_lake():
    c = conf("prod")
    policy = IAM / "prod" / f"bucket-policy-{s3_arn(c['lake']).split(':::')[1]}.json"
    (deny,) = [s for s in statements(policy) if s["Sid"] == "OnlyAutomationWrites"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert {"s3:PutObject", "s3:DeleteObject"} <= set(deny["Action"])
    airflow = f"arn:aws:iam::{c['aws_account_id']}:role/spacex-airflow-prod"
    assert deny["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": [c["emr"]["execution_role_arn"], airflow]}
    }


@pytest.mark.parametrize("env", ENVS)
def test_bucket_policies_require_tls_and_encryption(env):
    c = conf(env)
    buckets = {
        s3_arn(uri).split(":::")[1].split("/")[0]
        for uri in (c["lake"], c["redshift"]["tempdir"], c["emr"]["artifacts_uri"], c["emr"]["log_uri"])
    }
    assert {p.name for p in (IAM / env).glob("bucket-policy-*.json")} == {
        f"bucket-policy-{b}.json" for b in buckets
    }
    for bucket in buckets:
        by_sid = {s["Sid"]: s for s in statements(IAM / env / f"bucket-policy-{bucket}.json")}
        tls = by_sid["DenyInsecureTransport"]
        assert (tls["Effect"], tls["Action"], tls["Condition"]) == (
            "Deny",
            "s3:*",
            {"Bool": {"aws:SecureTransport": "false"}},
        )
        assert set(tls["Resource"]) == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
        encryption = by_sid["DenyPutsWithOtherEncryption"]
        assert encryption["Effect"] == "Deny" and encryption["Action"] == "s3:PutObject"
        assert encryption["Condition"]["StringNotEquals"] == {
            "s3:x-amz-server-side-encryption": ["AES256", "aws:kms"]
        }
        assert by_sid["DenyCustomerProvidedKeys"]["Effect"] == "Deny"
