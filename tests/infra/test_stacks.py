"""The synthesized templates have the platform's security properties, for both envs (aws_cdk.assertions
on the templates of one synth; names cross-checked against conf/<env>.yaml)."""

from __future__ import annotations

import re

import pytest
from aws_cdk.assertions import Match, Template

from spacex_platform.data_stack import INTERFACE_ENDPOINTS, REDSHIFT_PORT
from spacex_platform.outputs import OUTPUTS
from spacex_platform.settings import ENVS

pytestmark = pytest.mark.parametrize("env", ENVS)


def template(assembly, env: str, kind: str) -> Template:
    return Template.from_json(assembly.template(env, kind))


def only(resources: dict) -> dict:
    (resource,) = resources.values()
    return resource["Properties"]


def logical_id(resources: dict) -> str:
    (name,) = resources
    return name


def test_buckets_are_private_encrypted_and_tls_only(assembly, settings, env):
    s = settings[env]
    data = template(assembly, env, "data")
    data.resource_count_is("AWS::S3::Bucket", 4)
    buckets = assembly.resources(env, "data", "AWS::S3::Bucket")
    assert {b["Properties"]["BucketName"] for b in buckets.values()} == set(s.buckets.values())
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        assert bucket["DeletionPolicy"] == "Retain"
        assert any(r.get("AbortIncompleteMultipartUpload") for r in props["LifecycleConfiguration"]["Rules"])
    for policy in assembly.resources(env, "data", "AWS::S3::BucketPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        denies = [st for st in statements if st["Effect"] == "Deny"]
        conditions = [st["Condition"] for st in denies if st["Action"] == "s3:*"]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions
        by_sid = {st.get("Sid"): st for st in statements}
        encryption = by_sid["DenyPutsWithOtherEncryption"]
        assert encryption["Condition"]["StringNotEquals"] == {
            "s3:x-amz-server-side-encryption": ["AES256", "aws:kms"]
        }
        assert by_sid["DenyCustomerProvidedKeys"]["Effect"] == "Deny"
        allows = [st for st in statements if st["Effect"] == "Allow"]
        assert all(
            st["Principal"]
            in ({"Service": "logging.s3.amazonaws.com"}, {"Service": "delivery.logs.amazonaws.com"})
            for st in allows
        ), allows


def test_access_logs_of_every_bucket_go_to_the_logs_bucket(assembly, settings, env):
    s = settings[env]
    buckets = assembly.resources(env, "data", "AWS::S3::Bucket")
    logs_id = next(i for i, b in buckets.items() if b["Properties"]["BucketName"] == s.buckets["logs"])
    for bucket in buckets.values():
        props = bucket["Properties"]
        if props["BucketName"] == s.buckets["logs"]:
            assert "LoggingConfiguration" not in props
        else:
            assert props["LoggingConfiguration"] == {
                "DestinationBucketName": {"Ref": logs_id},
                "LogFilePrefix": f"s3-access/{props['BucketName']}/",
            }


def test_the_redshift_tempdir_expires_what_the_connector_leaves(assembly, settings, env):
    tempdir_bucket, _ = settings[env].tempdir
    template(assembly, env, "data").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": tempdir_bucket,
            "LifecycleConfiguration": {
                "Rules": Match.array_with([Match.object_like({"ExpirationInDays": 1, "Status": "Enabled"})])
            },
        },
    )


def test_only_automation_writes_the_prod_lake(assembly, settings, env):
    s = settings[env]
    policies = assembly.resources(env, "data", "AWS::S3::BucketPolicy")
    locks = [
        st
        for policy in policies.values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if st.get("Sid") == "OnlyAutomationWrites"
    ]
    if not s.conf.platform.lake_write_lock:
        assert env == "dev" and locks == []
        return
    assert env == "prod"
    (lock,) = locks
    assert lock["Effect"] == "Deny" and lock["Principal"] == {"AWS": "*"}
    assert {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"} <= set(lock["Action"])
    assert lock["Resource"] == f"arn:aws:s3:::{s.lake_bucket}/*"
    assert lock["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": [s.conf.emr.execution_role_arn, s.role_arn("airflow")]}
    }


def test_redshift_is_private_and_reachable_on_5439_only_from_the_cluster_nodes(assembly, env):
    workgroup = only(assembly.resources(env, "data", "AWS::RedshiftServerless::Workgroup"))
    assert workgroup["PubliclyAccessible"] is False
    assert workgroup["EnhancedVpcRouting"] is True
    assert workgroup["Port"] == REDSHIFT_PORT
    assert {"ParameterKey": "require_ssl", "ParameterValue": "true"} in workgroup["ConfigParameters"]
    subnets = assembly.resources(env, "data", "AWS::EC2::Subnet")
    isolated = {
        i
        for i, sub in subnets.items()
        if {"Key": "aws-cdk:subnet-type", "Value": "Isolated"} in sub["Properties"]["Tags"]
    }
    assert {ref["Ref"] for ref in workgroup["SubnetIds"]} == isolated and len(isolated) == 3
    (group_ref,) = workgroup["SecurityGroupIds"]
    group_id = group_ref["Fn::GetAtt"][0]
    groups = assembly.resources(env, "data", "AWS::EC2::SecurityGroup")
    nodes_id = next(
        i for i, g in groups.items() if g["Properties"].get("GroupName") == f"spacex-{env}-eks-nodes"
    )
    inline = groups[group_id]["Properties"].get("SecurityGroupIngress", [])
    separate = [
        r["Properties"]
        for r in assembly.resources(env, "data", "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    (ingress,) = inline + separate
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == (
        "tcp",
        REDSHIFT_PORT,
        REDSHIFT_PORT,
    )
    assert ingress["SourceSecurityGroupId"] == {"Fn::GetAtt": [nodes_id, "GroupId"]}
    assert "CidrIp" not in ingress


def test_no_security_group_is_open_to_the_internet(assembly, env):
    rules = []
    for group in assembly.resources(env, "data", "AWS::EC2::SecurityGroup").values():
        rules += group["Properties"].get("SecurityGroupIngress", [])
    rules += [
        r["Properties"] for r in assembly.resources(env, "data", "AWS::EC2::SecurityGroupIngress").values()
    ]
    assert rules
    for rule in rules:
        assert rule.get("CidrIp") not in ("0.0.0.0/0",) and rule.get("CidrIpv6") not in ("::/0",), rule


def test_redshift_admin_credentials_are_generated_never_typed(assembly, settings, env):
    s = settings[env]
    secret = only(assembly.resources(env, "data", "AWS::SecretsManager::Secret"))
    assert secret["Name"] == s.redshift_secret_name
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "password"
    assert "SecretString" not in secret
    namespace = only(assembly.resources(env, "data", "AWS::RedshiftServerless::Namespace"))
    secret_id = logical_id(assembly.resources(env, "data", "AWS::SecretsManager::Secret"))
    assert namespace["AdminUserPassword"] == {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:password::}}"]]
    }
    copy_role = s.role_arn("redshift-copy")
    roles = assembly.resources(env, "data", "AWS::IAM::Role")
    copy_id = next(i for i, r in roles.items() if r["Properties"]["RoleName"] == s.role_name("redshift-copy"))
    assert (
        namespace["IamRoles"] == [{"Fn::GetAtt": [copy_id, "Arn"]}]
        and s.conf.redshift.iam_role_arn == copy_role
    )


def test_vpc_endpoints_keep_aws_traffic_off_the_nat(assembly, env):
    endpoints = [e["Properties"] for e in assembly.resources(env, "data", "AWS::EC2::VPCEndpoint").values()]
    gateway = [e for e in endpoints if e.get("VpcEndpointType") == "Gateway"]
    interface = [e for e in endpoints if e.get("VpcEndpointType") == "Interface"]
    assert [e["ServiceName"] for e in gateway] == [
        {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]}
    ]
    names = {e["ServiceName"] for e in interface}
    assert names == {
        f"com.amazonaws.us-east-1.{svc}"
        for svc in ("sts", "secretsmanager", "ecr.api", "ecr.dkr", "logs", "glue")
    }
    assert len(INTERFACE_ENDPOINTS) == len(interface) and all(e["PrivateDnsEnabled"] for e in interface)


def test_vpc_flow_logs_and_nat_per_env(assembly, settings, env):
    data = template(assembly, env, "data")
    data.has_resource_properties("AWS::EC2::FlowLog", {"LogDestinationType": "s3", "TrafficType": "ALL"})
    data.resource_count_is("AWS::EC2::NatGateway", settings[env].conf.platform.nat_gateways)
    data.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": settings[env].conf.platform.vpc_cidr})


def test_glue_database_of_the_iceberg_catalog(assembly, settings, env):
    catalog = settings[env].catalog
    database = only(assembly.resources(env, "data", "AWS::Glue::Database"))["DatabaseInput"]
    assert database["Name"] == catalog.database == f"spacex_{env}"
    assert database["LocationUri"] == f"{catalog.warehouse}/{catalog.database}"
    assert catalog.warehouse == f"s3://{settings[env].lake_bucket}/validated"


def test_log_group_has_retention(assembly, settings, env):
    group = only(assembly.resources(env, "data", "AWS::Logs::LogGroup"))
    assert (group["LogGroupName"], group["RetentionInDays"]) == (settings[env].log_group, 90)


def test_virtual_cluster_runs_on_the_job_namespace(assembly, settings, env):
    s = settings[env]
    cluster = only(assembly.resources(env, "cluster", "AWS::EMRContainers::VirtualCluster"))
    assert cluster["ContainerProvider"] == {
        "Id": s.cluster_name,
        "Type": "EKS",
        "Info": {"EksInfo": {"Namespace": s.conf.emr.namespace}},
    }


def test_ci_role_is_trusted_only_by_this_repositorys_environment(assembly, settings, env):
    s = settings[env]
    provider = only(assembly.resources(env, "cluster", "AWS::IAM::OIDCProvider"))
    assert (provider["Url"], provider["ClientIdList"]) == (
        "https://token.actions.githubusercontent.com",
        ["sts.amazonaws.com"],
    )
    roles = assembly.resources(env, "cluster", "AWS::IAM::Role")
    (ci,) = [r for r in roles.values() if r["Properties"]["RoleName"] == f"spacex-ci-deploy-{env}"]
    (statement,) = ci["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::{s.account}:oidc-provider/token.actions.githubusercontent.com"
    }
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:{s.github_repository}:environment:{env}",
        }
    }
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", s.github_repository)


def test_karpenter_aws_side(assembly, settings, env):
    s = settings[env]
    cluster = template(assembly, env, "cluster")
    cluster.has_resource_properties(
        "AWS::SQS::Queue",
        {"QueueName": s.karpenter_queue_name, "MessageRetentionPeriod": 300, "SqsManagedSseEnabled": True},
    )
    rules = [
        r["Properties"]["EventPattern"]
        for r in assembly.resources(env, "cluster", "AWS::Events::Rule").values()
    ]
    assert {(p["source"][0], p["detail-type"][0]) for p in rules} == {
        ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
        ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
        ("aws.ec2", "EC2 Instance State-change Notification"),
        ("aws.health", "AWS Health Event"),
    }
    profile = only(assembly.resources(env, "cluster", "AWS::IAM::InstanceProfile"))
    assert profile["InstanceProfileName"] == s.role_name("karpenter-node")
    access = only(assembly.resources(env, "cluster", "AWS::EKS::AccessEntry"))
    assert (access["ClusterName"], access["Type"]) == (s.cluster_name, "EC2_LINUX")


def test_outputs_are_exactly_what_platform_outputs_maps_to_conf(assembly, env):
    keys = [key for kind in ("data", "cluster") for key in assembly.template(env, kind).get("Outputs", {})]
    assert sorted(keys) == sorted(OUTPUTS)


def test_prod_stacks_are_termination_protected(assembly, settings, env):
    import json

    manifest = json.loads((assembly.outdir / "manifest.json").read_text())
    for kind in ("data", "cluster"):
        properties = manifest["artifacts"][f"spacex-{env}-{kind}"]["properties"]
        assert properties.get("terminationProtection", False) is (env == "prod")
    assert settings[env].conf.platform.termination_protection is (env == "prod")
