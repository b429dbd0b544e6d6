"""k8s/: every Kubernetes object validates offline against the cluster's Kubernetes version; CRD objects
and Helm values parse; names agree with conf/<env>.yaml and with the EMR job request."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from spacex_launches.common.settings import PROJECT_DIR, Settings, load_settings
from spacex_launches.orchestration import emr_request

K8S = PROJECT_DIR / "k8s"
ENVS = ("dev", "prod")
# Custom resources (and eksctl's config) have no schema in kubernetes-validate: parsed and checked by kind.
CRD_KINDS = {
    "monitoring.coreos.com/v1": {"PodMonitor", "ServiceMonitor"},
    "eksctl.io/v1alpha5": {"ClusterConfig"},
    "karpenter.sh/v1": {"NodePool"},
    "karpenter.k8s.aws/v1": {"EC2NodeClass"},
}


def documents(path: Path) -> list:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def k8s_objects() -> list[tuple[Path, dict]]:
    found = []
    for path in sorted(K8S.rglob("*.yaml")):
        found += [(path, doc) for doc in documents(path) if "apiVersion" in doc and "kind" in doc]
    return found


def cluster(env: str) -> dict:
    return yaml.safe_load((K8S / "eksctl" / f"cluster-{env}.yaml").read_text())


def conf(env: str) -> Settings:
    return load_settings(env, environ={})


def kubernetes_version() -> str:
    versions = {str(cluster(env)["metadata"]["version"]) for env in ENVS}
    assert len(versions) == 1, f"dev and prod clusters run different Kubernetes versions: {versions}"
    return versions.pop() + ".0"


BUILTIN = [(p, d) for p, d in k8s_objects() if d["apiVersion"] not in CRD_KINDS]
CUSTOM = [(p, d) for p, d in k8s_objects() if d["apiVersion"] in CRD_KINDS]


def test_manifests_found():
    kinds = {d["kind"] for _, d in BUILTIN}
    assert {"Namespace", "Role", "RoleBinding", "Pod"} <= kinds
    assert {d["kind"] for _, d in CUSTOM} == {
        "PodMonitor",
        "ServiceMonitor",
        "ClusterConfig",
        "NodePool",
        "EC2NodeClass",
    }


@pytest.mark.parametrize(
    ("path", "doc"), BUILTIN, ids=[f"{p.relative_to(K8S)}:{d['kind']}" for p, d in BUILTIN]
)
def test_manifest_validates_strictly(path, doc):
    try:
        kubernetes_validate.validate(doc, kubernetes_version(), strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{path.relative_to(PROJECT_DIR)}: {doc['kind']}: {exc.message} at {list(exc.path)}")


def test_strict_validation_catches_unknown_fields():
    """The validator really is strict: a misspelt field is an error."""
    pod = yaml.safe_load((K8S / "emr/pod-templates/executor.yaml").read_text())
    pod["spec"]["nodeSelecter"] = pod["spec"].pop("nodeSelector")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, kubernetes_version(), strict=True)


@pytest.mark.parametrize(("path", "doc"), CUSTOM, ids=[str(p.relative_to(K8S)) for p, _ in CUSTOM])
def test_custom_resources_have_known_kind(path, doc):
    assert doc["kind"] in CRD_KINDS[doc["apiVersion"]], path
    assert doc["metadata"]["name"], path


def test_every_yaml_and_json_file_parses():
    for path in sorted(K8S.rglob("*.yaml")):
        assert documents(path), f"{path} is empty"
    for path in sorted(K8S.rglob("*.json")):
        json.loads(path.read_text())


# --- eksctl and Karpenter -------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_cluster_config(env):
    config = cluster(env)
    platform = conf(env).platform
    assert (config["apiVersion"], config["kind"]) == ("eksctl.io/v1alpha5", "ClusterConfig")
    assert config["metadata"]["name"] == platform.cluster_name
    assert config["metadata"]["region"] == conf(env).region
    assert config["iam"]["withOIDC"] is True
    assert config["accessConfig"]["authenticationMode"] == "API_AND_CONFIG_MAP"  # Karpenter's access entry
    assert config["availabilityZones"] == platform.availability_zones
    assert set(config["vpc"]) == {"clusterEndpoints"} | ({"publicAccessCIDRs"} if env == "prod" else set()), (
        "the VPC is the data stack's: make eksctl-config adds its id and subnets"
    )
    assert {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver"} <= {a["name"] for a in config["addons"]}
    groups = {group["name"]: group for group in config["managedNodeGroups"]}
    assert set(groups) == {"airflow"}, "Spark's nodes come from Karpenter's NodePools"
    for group in groups.values():
        assert group["privateNetworking"] is True and not group.get("spot")


NODE_POOLS = {doc["metadata"]["name"]: doc for doc in documents(K8S / "karpenter" / "nodepools.yaml")}


def capacity_types(pool: dict) -> list[str]:
    (requirement,) = [
        r
        for r in pool["spec"]["template"]["spec"]["requirements"]
        if r["key"] == "karpenter.sh/capacity-type"
    ]
    assert requirement["operator"] == "In"
    return requirement["values"]


def node_pool_for(pod_spec: dict) -> dict:
    """The NodePool whose node labels satisfy the pod's nodeSelector, checking its taints are tolerated."""
    selector = pod_spec["nodeSelector"]
    matches = [
        pool
        for pool in NODE_POOLS.values()
        if all(pool["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())
    ]
    assert len(matches) == 1, (
        f"nodeSelector {selector} matches NodePools {[p['metadata']['name'] for p in matches]}"
    )
    pool = matches[0]
    for taint in pool["spec"]["template"]["spec"].get("taints", []):
        assert any(
            tol.get("key") == taint["key"]
            and tol.get("effect") == taint["effect"]
            and (tol.get("operator") == "Exists" or tol.get("value") == taint["value"])
            for tol in pod_spec.get("tolerations", [])
        ), f"NodePool {pool['metadata']['name']} taint {taint} is not tolerated"
    return pool


def managed_group_for(env: str, selector: dict) -> str:
    (group,) = [
        g
        for g in cluster(env)["managedNodeGroups"]
        if all(g.get("labels", {}).get(k) == v for k, v in selector.items())
    ]
    return group["name"]


@pytest.mark.parametrize("env", ENVS)
def test_pod_templates_from_conf_exist_and_land_on_their_node_pools(env):
    templates = conf(env).emr.pod_templates
    expected = {
        "driver": ("spark-kubernetes-driver", "spark-driver"),
        "executor": ("spark-kubernetes-executor", "spark-executor"),
    }
    assert set(templates) == set(expected)
    for role, relative in templates.items():
        path = PROJECT_DIR / relative
        assert path.is_file(), f"conf emr.pod_templates.{role} -> {path} does not exist"
        pod = yaml.safe_load(path.read_text())
        container, pool = expected[role]
        assert [c["name"] for c in pod["spec"]["containers"]] == [container]
        assert node_pool_for(pod["spec"])["metadata"]["name"] == pool


def test_executors_on_spot_driver_and_job_submitter_on_demand():
    for env in ENVS:
        emr_conf = conf(env).emr
        driver = yaml.safe_load((PROJECT_DIR / emr_conf.pod_templates["driver"]).read_text())
        executor = yaml.safe_load((PROJECT_DIR / emr_conf.pod_templates["executor"]).read_text())
        assert capacity_types(node_pool_for(driver["spec"])) == ["on-demand"]
        assert capacity_types(node_pool_for(executor["spec"])) == ["spot"]
        submitter = node_pool_for({"nodeSelector": emr_conf.job_submitter_node_selector})
        assert capacity_types(submitter) == ["on-demand"]
        assert driver["metadata"]["annotations"]["karpenter.sh/do-not-disrupt"] == "true"
        assert 30 < executor["spec"]["terminationGracePeriodSeconds"] < 120, (
            "executors stop within a Spot notice"
        )
        # Decommissioning is off (no custom image, conf/aws.yaml): nothing may half-enable it.
        assert not [key for key in emr_conf.spark_conf if "decommission" in key.lower()]


def test_node_pools_consolidate_only_empty_nodes_and_are_capped():
    assert set(NODE_POOLS) == {"spark-driver", "spark-executor"}
    for pool in NODE_POOLS.values():
        assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmpty"
        assert int(pool["spec"]["limits"]["cpu"]) > 0
        assert pool["spec"]["template"]["spec"]["nodeClassRef"] == {
            "group": "karpenter.k8s.aws",
            "kind": "EC2NodeClass",
            "name": "spark",
        }


@pytest.mark.parametrize("env", ENVS)
def test_node_class_finds_the_data_stacks_subnets_and_security_groups(env):
    (node_class,) = documents(K8S / "karpenter" / env / "ec2nodeclass.yaml")
    name = conf(env).platform.cluster_name
    spec = node_class["spec"]
    assert node_class["metadata"]["name"] == "spark"
    assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": name}}]
    assert {"tags": {"karpenter.sh/discovery": name}} in spec["securityGroupSelectorTerms"]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert all(device["ebs"]["encrypted"] for device in spec["blockDeviceMappings"])
    values = yaml.safe_load((K8S / "karpenter" / env / "values.yaml").read_text())
    assert managed_group_for(env, values["nodeSelector"]) == "airflow"


# --- EMR on EKS -----------------------------------------------------------------------------------


def test_driver_template_leaves_the_ui_port_to_spark():
    """Spark adds the driver container port "spark-ui" itself; declaring it again would make the API
    server reject the pod (duplicate port name)."""
    driver = yaml.safe_load((K8S / "emr/pod-templates/driver.yaml").read_text())
    ports = [p for c in driver["spec"]["containers"] for p in c.get("ports", [])]
    assert all(
        p.get("name") != "spark-ui" and p.get("containerPort") != emr_request.DRIVER_UI_PORT for p in ports
    )


def test_job_request_ships_the_pod_templates_in_this_repo():
    """The request points at the packaged copies of exactly the files conf names."""
    for env in ENVS:
        request = emr_request.build_job_run_request(conf(env), date(2026, 11, 23), version="test")
        defaults = request["configurationOverrides"]["applicationConfiguration"][0]["properties"]
        for role, relative in conf(env).emr.pod_templates.items():
            shipped = defaults[f"spark.kubernetes.{role}.podTemplateFile"]
            assert shipped.endswith(f"/{emr_request.POD_TEMPLATE_DIR}/{Path(relative).name}")


@pytest.mark.parametrize("env", ENVS)
def test_emr_namespace_and_rbac(env):
    namespace = conf(env).emr.namespace
    (ns,) = documents(K8S / "emr" / env / "namespace.yaml")
    assert (ns["kind"], ns["metadata"]["name"]) == ("Namespace", namespace)
    role, binding = documents(K8S / "emr" / env / "rbac.yaml")
    assert role["metadata"] == {"name": "emr-containers", "namespace": namespace}
    assert binding["metadata"] == {"name": "emr-containers", "namespace": namespace}
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "emr-containers",
    }
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "emr-containers"}
    ]
    granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert {
        ("", "pods"),
        ("", "configmaps"),
        ("", "serviceaccounts"),
        ("", "namespaces"),
        ("batch", "jobs"),
    } <= granted


# --- Airflow, monitoring, logging -----------------------------------------------------------------


def airflow_values(env: str) -> dict:
    """values.yaml overlaid with values-<env>.yaml the way Helm merges them (maps merge, lists replace)."""

    def merge(base: dict, over: dict) -> dict:
        merged = dict(base)
        for key, value in over.items():
            both_maps = isinstance(value, dict) and isinstance(base.get(key), dict)
            merged[key] = merge(base[key], value) if both_maps else value
        return merged

    base = yaml.safe_load((K8S / "airflow/values.yaml").read_text())
    return merge(base, yaml.safe_load((K8S / f"airflow/values-{env}.yaml").read_text()))


def bucket_and_key(uri: str) -> tuple[str, str]:
    _, rest = uri.split("://", 1)
    bucket, _, key = rest.partition("/")
    return bucket, key


@pytest.mark.parametrize("env", ENVS)
def test_airflow_values(env):
    values = airflow_values(env)
    account = conf(env).aws_account_id
    assert values["executor"] == "KubernetesExecutor"
    assert values["postgresql"]["enabled"] is False and values["data"]["metadataSecretName"]
    assert values["dags"]["gitSync"]["enabled"] is True and values["dags"]["gitSync"]["subPath"] == "dags"
    assert managed_group_for(env, values["nodeSelector"]) == "airflow"
    env_vars = {item["name"]: item["value"] for item in values["env"]}
    assert env_vars["SPACEX_ENV"] == env
    assert env_vars["PYTHONPATH"] == "/opt/airflow/dags/repo/lib"
    logging = values["config"]["logging"]
    assert logging["remote_logging"] == "True"
    log_bucket, _ = bucket_and_key(conf(env).emr.log_uri)
    assert bucket_and_key(logging["remote_base_log_folder"]) == (log_bucket, "airflow/task-logs")
    role = f"arn:aws:iam::{account}:role/spacex-airflow-{env}"
    for component in ("workers", "scheduler", "triggerer", "dagProcessor", "apiServer"):
        assert values[component]["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": role}
    kwargs = json.loads(values["config"]["secrets"]["backend_kwargs"])
    assert kwargs["variables_prefix"] == f"spacex/{env}/airflow/variables"
    assert values["statsd"]["enabled"] is True


SECRET_WORDS = ("password", "passwd", "token", "fernetkey", "secretkey", "apikey", "connection")
SECRET_REFERENCES = ("secretname", "existingsecret", "connid")


# A value that only names where the secret is: an environment variable or file Grafana expands.
SECRET_INDIRECTION = re.compile(r"\$(\w+|\{\w+\}|__(env|file)\{[^}]+\})")


def secret_values(node, trail=()):
    """Dotted paths of keys (or env entries) that look like secrets and hold a value (not a reference)."""
    if isinstance(node, list):
        for item in node:
            if isinstance(item, dict) and {"name", "value"} <= set(item):  # an env entry
                yield from secret_values({item["name"]: item["value"]}, trail)
            else:
                yield from secret_values(item, trail)
    elif isinstance(node, dict):
        for key, value in node.items():
            word = str(key).lower().replace("_", "").replace("-", "")
            looks_secret = any(w in word for w in SECRET_WORDS) and not word.endswith(SECRET_REFERENCES)
            reference = isinstance(value, str) and SECRET_INDIRECTION.fullmatch(value)
            if looks_secret and value not in (None, "", {}) and not reference:
                yield ".".join([*trail, str(key)])
            yield from secret_values(value, (*trail, str(key)))


def test_no_secret_values_in_helm_values():
    """Secrets are referenced (…SecretName, existingSecret, a connection id), never written."""
    assert list(secret_values({"env": [{"name": "DB_PASSWORD", "value": "x"}], "a": {"fernetKey": "y"}})) == [
        "env.DB_PASSWORD",
        "a.fernetKey",
    ]
    assert list(secret_values({"password": "$DB_PASSWORD", "token": "${T}", "apiKey": "$__file{/s/k}"})) == []
    assert list(secret_values({"password": "hunter2 $DB_PASSWORD"})) == ["password"]
    for path in sorted(K8S.rglob("*values*.yaml")):
        found = list(secret_values(yaml.safe_load(path.read_text())))
        assert found == [], f"{path.relative_to(PROJECT_DIR)}: {found}"


@pytest.mark.parametrize("env", ENVS)
def test_spark_podmonitor_scrapes_what_the_job_request_exposes(env):
    (monitor,) = documents(K8S / "monitoring" / env / "spark-driver-podmonitor.yaml")
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [conf(env).emr.namespace]
    request = emr_request.build_job_run_request(conf(env), date(2026, 11, 23), version="test")
    defaults = request["configurationOverrides"]["applicationConfiguration"][0]["properties"]
    labels = monitor["spec"]["selector"]["matchLabels"]
    assert labels.pop("spark-role") == "driver"  # set by Spark on every driver pod
    for key, value in labels.items():
        assert defaults[f"spark.kubernetes.driver.label.{key}"] == value
    endpoints = monitor["spec"]["podMetricsEndpoints"]
    assert {e["port"] for e in endpoints} == {"spark-ui"}
    assert defaults["spark.ui.prometheus.enabled"] == "true"
    servlet_path = defaults["spark.metrics.conf.*.sink.prometheusServlet.path"]
    assert {e["path"].rstrip("/") for e in endpoints} == {servlet_path, emr_request.PROMETHEUS_EXECUTORS_PATH}


def test_airflow_servicemonitor():
    (monitor,) = documents(K8S / "monitoring/airflow-statsd-servicemonitor.yaml")
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == ["airflow"]
    assert monitor["spec"]["selector"]["matchLabels"] == {"tier": "airflow", "component": "statsd"}
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["statsd-scrape"]


@pytest.mark.parametrize("env", ENVS)
def test_fluent_bit_ships_to_the_job_requests_log_group(env):
    values = yaml.safe_load((K8S / "monitoring" / env / "fluent-bit-values.yaml").read_text())
    request = emr_request.build_job_run_request(conf(env), date(2026, 11, 23), version="test")
    cloudwatch = request["configurationOverrides"]["monitoringConfiguration"][
        "cloudWatchMonitoringConfiguration"
    ]
    out = values["cloudWatchLogs"]
    assert out["enabled"] is True and out["region"] == conf(env).region
    assert out["logGroupName"] == cloudwatch["logGroupName"] == conf(env).emr.log_group
    assert not out["logStreamPrefix"].startswith(cloudwatch["logStreamNamePrefix"])
    assert conf(env).emr.namespace in values["input"]["path"]
    account = conf(env).aws_account_id
    assert values["serviceAccount"]["annotations"] == {
        "eks.amazonaws.com/role-arn": f"arn:aws:iam::{account}:role/spacex-fluent-bit-{env}"
    }
