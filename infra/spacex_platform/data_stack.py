"""spacex-<env>-data: what exists before (and independently of) the EKS cluster.

- VPC (3 AZs): public subnets for the NAT gateways, private subnets for EKS (eksctl is given them),
  isolated subnets for Redshift (no route out at all); S3 gateway endpoint and interface endpoints for
  STS, Secrets Manager, ECR, CloudWatch Logs and Glue, so AWS traffic stays off the NAT; flow logs.
- The security group every EKS node carries (eksctl's node groups and Karpenter's nodes): the one source
  Redshift accepts connections from.
- Four buckets: encrypted, public access blocked, TLS 1.2+ only, no foreign encryption; access logs into
  the logs bucket; the Redshift tempdir expires its files; in prod only the job and Airflow roles may
  write or delete lake objects.
- The Glue database of the lake's Iceberg tables, the job's CloudWatch log group.
- Redshift Serverless (namespace + workgroup) in the isolated subnets, not publicly accessible, SSL only,
  5439 reachable only from the node security group; admin credentials generated into Secrets Manager
  (conf redshift.secret_id); the COPY role associated.
"""

from __future__ import annotations

import json
from typing import cast

from aws_cdk import (
    Acknowledgment,
    CfnOutput,
    CfnResource,
    Duration,
    Fn,
    RemovalPolicy,
    Stack,
    Tags,
    Validations,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from spacex_platform import nag, policies
from spacex_platform.outputs import OUTPUTS
from spacex_platform.settings import Settings, stack_names

# cfn-lint W3010 (hard-coded availability zones), acknowledged on the subnets only.
AZ_REASON = (
    "the zones are named in conf (platform.availability_zones): synth runs offline, where CDK cannot look"
    " them up, and eksctl must be given the same zones as the subnets"
)
REDSHIFT_PORT = 5439
REDSHIFT_ADMIN = "spacex_admin"
INTERFACE_ENDPOINTS = {
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrImages": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "CloudWatchLogs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Glue": ec2.InterfaceVpcEndpointAwsService.GLUE,
}


class DataStack(Stack):
    def __init__(self, scope: Construct, settings: Settings, **kwargs) -> None:
        super().__init__(scope, stack_names(settings.env)[0], **kwargs)
        self.settings = s = settings
        self.logs_bucket = self.bucket(
            "LogsBucket", s.buckets["logs"], expire_days=s.conf.platform.log_retention_days
        )
        self.vpc = self.network()
        self.node_security_group = ec2.SecurityGroup(
            self,
            "EksNodes",
            vpc=self.vpc,
            security_group_name=f"spacex-{s.env}-eks-nodes",
            description="Every EKS node of the cluster (eksctl node groups and Karpenter nodes): the only Redshift client",
        )
        Tags.of(self.node_security_group).add("karpenter.sh/discovery", s.cluster_name)
        self.lake_bucket = self.bucket("LakeBucket", s.buckets["lake"], versioned=True)
        self.bucket("RedshiftTempdirBucket", s.buckets["tempdir"], expire_days=1)  # the connector's leftovers
        self.bucket("ArtifactsBucket", s.buckets["artifacts"], versioned=True)
        if s.conf.platform.lake_write_lock:
            self.lock_lake_writes()
        self.glue_database()
        logs.CfnLogGroup(
            self,
            "JobLogGroup",
            log_group_name=s.log_group,
            retention_in_days=s.conf.platform.log_retention_days,
        ).apply_removal_policy(RemovalPolicy.RETAIN)
        self.redshift()
        private = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnets
        self.output("VpcId", self.vpc.vpc_id)
        self.output(
            "PrivateSubnets", Fn.join(",", [f"{net.availability_zone}={net.subnet_id}" for net in private])
        )
        self.output("EksNodeSecurityGroupId", self.node_security_group.security_group_id)

    @property
    def availability_zones(self) -> list[str]:
        """The zones named in conf (platform.availability_zones), never a lookup: synth runs offline."""
        return list(self.settings.conf.platform.required.availability_zones)

    def output(self, key: str, value: str) -> None:
        CfnOutput(self, key, value=value, description=f"conf {OUTPUTS[key]} (make platform-outputs)")

    # --- network -------------------------------------------------------------------------------------

    def network(self) -> ec2.Vpc:
        s = self.settings
        vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=f"spacex-{s.env}",
            ip_addresses=ec2.IpAddresses.cidr(s.conf.platform.required.vpc_cidr),
            availability_zones=s.conf.platform.availability_zones,
            nat_gateways=s.conf.platform.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=19
                ),
                ec2.SubnetConfiguration(
                    name="redshift", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.S3,
                    subnets=[
                        ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                        ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
                    ],
                )
            },
            flow_logs={
                "ToLogsBucket": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_s3(self.logs_bucket, "vpc-flow-logs/"),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )
        for subnet in [*vpc.public_subnets, *vpc.private_subnets, *vpc.isolated_subnets]:
            resource = cast(CfnResource, subnet.node.default_child)  # the subnet's AWS::EC2::Subnet
            resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3010"]}})
            Validations.of(subnet).acknowledge(
                Acknowledgment(id="CloudFormation-Validate::W3010", reason=AZ_REASON)
            )
        for subnet in vpc.public_subnets:
            Tags.of(subnet).add("kubernetes.io/role/elb", "1")
        for subnet in vpc.private_subnets:
            Tags.of(subnet).add("kubernetes.io/role/internal-elb", "1")
            Tags.of(subnet).add("karpenter.sh/discovery", s.cluster_name)
        for name, service in INTERFACE_ENDPOINTS.items():
            endpoint = vpc.add_interface_endpoint(
                name,
                service=service,
                private_dns_enabled=True,
                open=False,
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            )
            endpoint.connections.allow_from(
                ec2.Peer.ipv4(s.conf.platform.required.vpc_cidr), ec2.Port.tcp(443), "HTTPS from the VPC"
            )
        return vpc

    # --- buckets -------------------------------------------------------------------------------------

    def bucket(
        self, id: str, name: str, *, versioned: bool = False, expire_days: int | None = None
    ) -> s3.Bucket:
        rules = [
            s3.LifecycleRule(
                id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)
            )
        ]
        if expire_days:
            rules.append(
                s3.LifecycleRule(id=f"expire-after-{expire_days}-days", expiration=Duration.days(expire_days))
            )
        if versioned:
            rules.append(
                s3.LifecycleRule(id="expire-old-versions", noncurrent_version_expiration=Duration.days(30))
            )
        is_logs = id == "LogsBucket"
        bucket = s3.Bucket(
            self,
            id,
            bucket_name=name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=versioned,
            lifecycle_rules=rules,
            server_access_logs_bucket=None if is_logs else self.logs_bucket,
            server_access_logs_prefix=None if is_logs else f"s3-access/{name}/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        for statement in bucket_policy(name):
            bucket.add_to_resource_policy(iam.PolicyStatement.from_json(statement))
        return bucket

    def lock_lake_writes(self) -> None:
        """No one but the job and Airflow may write or delete lake objects, whatever their IAM policies
        say (a person's admin rights included): prod's lake changes only through automation."""
        s = self.settings
        automation = [s.role_arn("emr-job-execution"), s.role_arn("airflow")]
        self.lake_bucket.add_to_resource_policy(
            iam.PolicyStatement.from_json(
                {
                    "Sid": "OnlyAutomationWrites",
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "s3:DeleteObjectVersion",
                        "s3:PutObjectAcl",
                    ],
                    "Resource": [s.s3_arn(s.lake_bucket, "*")],
                    "Condition": {"ArnNotEquals": {"aws:PrincipalArn": automation}},
                }
            )
        )

    # --- catalog -------------------------------------------------------------------------------------

    def glue_database(self) -> None:
        """The Iceberg catalog's database; its location puts each table at <warehouse>/<database>/<table>,
        the layout Iceberg's Hadoop catalog uses locally."""
        s = self.settings
        catalog = s.catalog
        glue.CfnDatabase(
            self,
            "LakeDatabase",
            catalog_id=s.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=catalog.database,
                description=f"SpaceX launches: the validated zone's Iceberg tables ({s.env})",
                location_uri=f"{catalog.warehouse}/{catalog.database}",
            ),
        ).apply_removal_policy(RemovalPolicy.RETAIN)

    # --- Redshift ------------------------------------------------------------------------------------

    def redshift(self) -> None:
        s = self.settings
        database = s.conf.platform.redshift.required.database
        security_group = ec2.SecurityGroup(
            self,
            "Redshift",
            vpc=self.vpc,
            security_group_name=f"spacex-{s.env}-redshift",
            description=f"Redshift Serverless: {REDSHIFT_PORT} from the EKS nodes only",
            allow_all_outbound=False,
        )
        security_group.add_ingress_rule(
            self.node_security_group,
            ec2.Port.tcp(REDSHIFT_PORT),
            "the cluster's nodes (Spark driver, Airflow)",
        )
        security_group.add_egress_rule(
            ec2.Peer.ipv4(s.conf.platform.required.vpc_cidr),
            ec2.Port.tcp(443),
            "S3 through the VPC (enhanced routing)",
        )
        admin = secretsmanager.Secret(
            self,
            "RedshiftAdminSecret",
            secret_name=s.redshift_secret_name,
            description=f"Redshift Serverless spacex-{s.env}: admin user and generated password",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps(
                    {"username": REDSHIFT_ADMIN, "dbname": database, "port": REDSHIFT_PORT}
                ),
                generate_string_key="password",
                password_length=32,
                exclude_characters="\"'\\/@ ",  # what Redshift refuses in a password
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        nag.acknowledge(admin, "SMG4", nag.REASONS["SMG4-redshift-admin"])
        statements = policies.redshift_copy(s)
        copy_role = iam.Role(
            self,
            "RedshiftCopyRole",
            role_name=s.role_name("redshift-copy"),
            description="Redshift COPY: reads the validated zone and the connector's tempdir",
            assumed_by=iam.CompositePrincipal(
                *(
                    iam.ServicePrincipal(
                        service, conditions={"StringEquals": {"aws:SourceAccount": s.account}}
                    )
                    for service in ("redshift.amazonaws.com", "redshift-serverless.amazonaws.com")
                )
            ),
            inline_policies={
                s.role_name("redshift-copy"): iam.PolicyDocument.from_json(policies.document(statements))
            },
        )
        nag.acknowledge_wildcards(copy_role, statements)
        namespace = redshift.CfnNamespace(
            self,
            "RedshiftNamespace",
            namespace_name=f"spacex-{s.env}",
            db_name=database,
            admin_username=REDSHIFT_ADMIN,
            admin_user_password=admin.secret_value_from_json("password").unsafe_unwrap(),
            iam_roles=[copy_role.role_arn],
            default_iam_role_arn=copy_role.role_arn,
            log_exports=["userlog", "connectionlog", "useractivitylog"],
        )
        namespace.apply_removal_policy(RemovalPolicy.RETAIN)
        workgroup = redshift.CfnWorkgroup(
            self,
            "RedshiftWorkgroup",
            workgroup_name=f"spacex-{s.env}",
            namespace_name=namespace.namespace_name,
            base_capacity=s.conf.platform.redshift.base_capacity_rpu,
            max_capacity=s.conf.platform.redshift.max_capacity_rpu,
            port=REDSHIFT_PORT,
            publicly_accessible=False,
            enhanced_vpc_routing=True,
            subnet_ids=self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
            security_group_ids=[security_group.security_group_id],
            config_parameters=[
                redshift.CfnWorkgroup.ConfigParameterProperty(
                    parameter_key="require_ssl", parameter_value="true"
                ),
                redshift.CfnWorkgroup.ConfigParameterProperty(
                    parameter_key="enable_user_activity_logging", parameter_value="true"
                ),
            ],
        )
        workgroup.node.add_dependency(namespace)
        self.output(
            "RedshiftJdbcUrl",
            Fn.join(
                "",
                [
                    "jdbc:redshift://",
                    workgroup.attr_workgroup_endpoint_address,
                    f":{REDSHIFT_PORT}/{database}",
                ],
            ),
        )


def bucket_policy(bucket: str) -> list[dict]:
    """Every bucket, beside the TLS statements enforce_ssl and minimum_tls_version add (TLS 1.2+ only):
    puts may ask for SSE-S3 or SSE-KMS or nothing (the default encrypts), never another scheme or a
    customer-provided key. The header is not required on every put: EMR's log upload, Redshift and the
    S3A/EMRFS clients do not send it."""
    objects = f"arn:aws:s3:::{bucket}/*"
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}}
    return [
        {
            "Sid": "DenyPutsWithOtherEncryption",
            **deny,
            "Action": "s3:PutObject",
            "Resource": [objects],
            "Condition": {
                "Null": {"s3:x-amz-server-side-encryption": "false"},
                "StringNotEquals": {"s3:x-amz-server-side-encryption": ["AES256", "aws:kms"]},
            },
        },
        {
            "Sid": "DenyCustomerProvidedKeys",
            **deny,
            "Action": "s3:PutObject",
            "Resource": [objects],
            "Condition": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
        },
    ]
