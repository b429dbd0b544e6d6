"""spacex-<env>-cluster: what needs the EKS cluster (created by eksctl in the data stack's VPC).

- IRSA roles trusted by the cluster's OIDC provider (conf platform.eks_oidc_issuer), each only for its
  service accounts: the EMR job execution role, Airflow, Fluent Bit, Karpenter's controller.
- Karpenter's AWS side: the node role with its instance profile and EKS access entry, the interruption
  queue fed by EventBridge (Spot interruption warnings, rebalance recommendations, instance state
  changes, AWS Health scheduled changes).
- The EMR on EKS virtual cluster on the job's namespace.
- The analyst role (people of this account, with MFA) and the CI deploy role, trusted through GitHub's
  OIDC provider by this repository's protected environment of the same name only.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_eks as eks
from aws_cdk import aws_emrcontainers as emrcontainers
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from spacex_platform import nag, policies
from spacex_platform.outputs import OUTPUTS
from spacex_platform.settings import Settings, emr_service_accounts, stack_names

GITHUB_OIDC = "token.actions.githubusercontent.com"
AIRFLOW_SERVICE_ACCOUNTS = [
    f"system:serviceaccount:airflow:airflow-{component}"
    for component in ("scheduler", "worker", "triggerer", "dag-processor", "api-server")
]
FLUENT_BIT_SERVICE_ACCOUNT = "system:serviceaccount:logging:aws-for-fluent-bit"
KARPENTER_SERVICE_ACCOUNT = "system:serviceaccount:kube-system:karpenter"
KARPENTER_NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
# EC2 events Karpenter acts on before AWS takes a node away (or after it did).
INTERRUPTION_EVENTS = {
    "SpotInterruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "Rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "InstanceStateChange": ("aws.ec2", "EC2 Instance State-change Notification"),
    "ScheduledChange": ("aws.health", "AWS Health Event"),
}


class ClusterStack(Stack):
    def __init__(self, scope: Construct, settings: Settings, **kwargs) -> None:
        super().__init__(scope, stack_names(settings.env)[1], **kwargs)
        self.settings = s = settings
        self.virtual_cluster = emrcontainers.CfnVirtualCluster(
            self,
            "VirtualCluster",
            name=f"spacex-launches-{s.env}",
            container_provider=emrcontainers.CfnVirtualCluster.ContainerProviderProperty(
                id=s.cluster_name,
                type="EKS",
                info=emrcontainers.CfnVirtualCluster.ContainerInfoProperty(
                    eks_info=emrcontainers.CfnVirtualCluster.EksInfoProperty(namespace=s.namespace)
                ),
            ),
        )
        virtual_cluster_arn = self.virtual_cluster.attr_arn
        CfnOutput(
            self,
            "EmrVirtualClusterId",
            value=self.virtual_cluster.attr_id,
            description=f"conf {OUTPUTS['EmrVirtualClusterId']} (make platform-outputs)",
        )

        self.role(
            "emr-job-execution",
            "The Spark job on EMR on EKS",
            self.web_identity(like=emr_service_accounts(s)),
            policies.job_execution(s),
        )
        self.role(
            "airflow",
            "Airflow: ingest, submit and follow the job, warehouse checks",
            self.web_identity(equals=AIRFLOW_SERVICE_ACCOUNTS),
            policies.airflow(s, virtual_cluster_arn),
        )
        self.role(
            "fluent-bit",
            "Fluent Bit: container logs to the pipeline's log group",
            self.web_identity(equals=FLUENT_BIT_SERVICE_ACCOUNT),
            policies.fluent_bit(s),
        )
        self.role(
            "analyst",
            "People: read the validated zone, reports, job runs and logs",
            iam.AccountRootPrincipal().with_conditions({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
            policies.analyst(s, virtual_cluster_arn),
            max_session_duration=Duration.hours(4),
        )
        self.ci_role(virtual_cluster_arn)
        self.karpenter()

    def role(
        self, name: str, description: str, principal: iam.IPrincipal, statements: list[dict], **kwargs
    ) -> iam.Role:
        role = iam.Role(
            self,
            "".join(part.title() for part in name.split("-")) + "Role",
            role_name=self.settings.role_name(name),
            description=description,
            assumed_by=principal,
            inline_policies={
                self.settings.role_name(name): iam.PolicyDocument.from_json(policies.document(statements))
            },
            **kwargs,
        )
        nag.acknowledge_wildcards(role, statements)
        return role

    def web_identity(
        self, *, equals: str | list[str] | None = None, like: str | None = None
    ) -> iam.FederatedPrincipal:
        """Trust for Kubernetes service accounts of the cluster (IRSA)."""
        issuer = self.settings.oidc_issuer
        condition: dict = {"StringEquals": {f"{issuer}:aud": "sts.amazonaws.com"}}
        if equals is not None:
            condition["StringEquals"][f"{issuer}:sub"] = equals
        if like is not None:
            condition["StringLike"] = {f"{issuer}:sub": like}
        return iam.FederatedPrincipal(
            self.settings.oidc_provider_arn, condition, "sts:AssumeRoleWithWebIdentity"
        )

    def ci_role(self, virtual_cluster_arn: str) -> None:
        s = self.settings
        provider = iam.CfnOIDCProvider(
            self, "GitHubOidcProvider", url=f"https://{GITHUB_OIDC}", client_id_list=["sts.amazonaws.com"]
        )
        trust = iam.FederatedPrincipal(
            f"arn:aws:iam::{s.account}:oidc-provider/{GITHUB_OIDC}",
            {
                "StringEquals": {
                    f"{GITHUB_OIDC}:aud": "sts.amazonaws.com",
                    f"{GITHUB_OIDC}:sub": f"repo:{s.github_repository}:environment:{s.env}",
                }
            },
            "sts:AssumeRoleWithWebIdentity",
        )
        role = self.role(
            "ci-deploy",
            f"GitHub Actions of {s.github_repository}, environment {s.env}: deploy stacks and artifacts",
            trust,
            policies.ci_deploy(s, virtual_cluster_arn, stack_names(s.env)),
            max_session_duration=Duration.hours(2),
        )
        role.node.add_dependency(provider)

    def karpenter(self) -> None:
        s = self.settings
        node_role = iam.Role(
            self,
            "KarpenterNodeRole",
            role_name=s.role_name("karpenter-node"),
            description="Nodes Karpenter launches (Spark drivers, executors, job submitters)",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_managed_policy_arn(self, name, f"arn:aws:iam::aws:policy/{name}")
                for name in KARPENTER_NODE_POLICIES
            ],
        )
        for name in KARPENTER_NODE_POLICIES:
            nag.acknowledge(
                node_role, f"IAM4[Policy::arn:aws:iam::aws:policy/{name}]", nag.REASONS["IAM4-karpenter-node"]
            )
        iam.CfnInstanceProfile(
            self,
            "KarpenterNodeInstanceProfile",
            instance_profile_name=s.role_name("karpenter-node"),  # k8s/karpenter/<env>/ec2nodeclass.yaml
            roles=[node_role.role_name],
        )
        eks.CfnAccessEntry(
            self,
            "KarpenterNodeAccess",
            cluster_name=s.cluster_name,
            principal_arn=node_role.role_arn,
            type="EC2_LINUX",
        )
        queue = sqs.Queue(
            self,
            "KarpenterInterruptionQueue",
            queue_name=s.karpenter_queue_name,
            retention_period=Duration.minutes(5),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        nag.acknowledge(queue, "SQS3", nag.REASONS["SQS3-interruption-queue"])
        for name, (source, detail_type) in INTERRUPTION_EVENTS.items():
            events.Rule(
                self,
                f"Karpenter{name}Rule",
                event_pattern=events.EventPattern(source=[source], detail_type=[detail_type]),
                targets=[targets.SqsQueue(queue)],
            )
        self.role(
            "karpenter",
            "Karpenter's controller: launches and removes this cluster's nodes",
            self.web_identity(equals=KARPENTER_SERVICE_ACCOUNT),
            policies.karpenter_controller(s, queue.queue_arn),
        )
