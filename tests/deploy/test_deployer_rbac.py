"""The CI deploy role can deploy what the chart renders: every kind `helm template`
produces is covered by the deployer Role (terraform/kubernetes/deployer-rbac.yaml) with
the verbs Helm uses on install, upgrade, --atomic rollback and uninstall, the Role is
bound to the group the EKS access entry maps the deploy role to, and that access entry
carries no AWS-managed access policy standing in for the Role."""
import json

import pytest
import yaml

from conftest import ROOT, load_docs
from test_terraform import ENV, TF, parse_dir, resources, unwrap, variables

RBAC = ROOT / "terraform" / "kubernetes" / "deployer-rbac.yaml"
# Kind -> (API group, resource). A kind missing here fails the test: add it, and to the
# Role, when the chart starts rendering it.
RESOURCES = {
    "ConfigMap": ("", "configmaps"), "Service": ("", "services"), "ServiceAccount": ("", "serviceaccounts"),
    "Secret": ("", "secrets"), "Deployment": ("apps", "deployments"),
    "HorizontalPodAutoscaler": ("autoscaling", "horizontalpodautoscalers"),
    "PodDisruptionBudget": ("policy", "poddisruptionbudgets"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"), "Ingress": ("networking.k8s.io", "ingresses"),
    "ServiceMonitor": ("monitoring.coreos.com", "servicemonitors"),
    "PrometheusRule": ("monitoring.coreos.com", "prometheusrules"),
    "ExternalSecret": ("external-secrets.io", "externalsecrets"),
}
HELM_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}
# Helm's release records (Secrets) and what --wait follows.
HELM_ITSELF = {("", "secrets"): HELM_VERBS, ("", "pods"): {"get", "list", "watch"},
               ("apps", "replicasets"): {"get", "list", "watch"}}


def rbac():
    with open(RBAC, encoding="utf-8") as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d]
    role = [d for d in docs if d["kind"] == "Role"][0]
    binding = [d for d in docs if d["kind"] == "RoleBinding"][0]
    return role, binding


def allowed(role, group, resource):
    verbs = set()
    for rule in role["rules"]:
        if group in rule["apiGroups"] and (resource in rule["resources"] or "*" in rule["resources"]):
            verbs |= set(rule["verbs"])
    return verbs


def rendered_kinds():
    kinds = set()
    for name in ("default", "production"):
        kinds |= {(d["apiVersion"], d["kind"]) for d in load_docs(name)}
    return kinds


def test_the_role_covers_every_rendered_kind():
    role, _ = rbac()
    kinds = rendered_kinds()
    assert ("monitoring.coreos.com/v1", "ServiceMonitor") in kinds
    for api, kind in sorted(kinds):
        assert kind in RESOURCES, f"the chart renders {kind}: map it to its resource here and grant it in {RBAC.name}"
        group, resource = RESOURCES[kind]
        assert api.split("/")[0] == group or (group == "" and "/" not in api), f"{kind} is served by {api}"
        missing = HELM_VERBS - allowed(role, group, resource)
        assert not missing, f"the deployer may not {sorted(missing)} {resource}.{group or 'core'}"
    for (group, resource), verbs in HELM_ITSELF.items():
        assert not verbs - allowed(role, group, resource), f"helm needs {sorted(verbs)} on {resource}"


def test_the_role_lives_where_the_chart_is_deployed():
    role, binding = rbac()
    namespaces = {d["metadata"]["namespace"] for name in ("default", "production") for d in load_docs(name)}
    assert namespaces == {role["metadata"]["namespace"]} == {binding["metadata"]["namespace"]}
    assert binding["roleRef"] == {"kind": "Role", "name": role["metadata"]["name"],
                                  "apiGroup": "rbac.authorization.k8s.io"}


@pytest.fixture(scope="module")
def eks():
    return parse_dir(TF / "modules" / "eks")


def test_the_access_entry_maps_the_deploy_role_to_the_bound_group(eks):
    _, binding = rbac()
    entry = resources(eks, "aws_eks_access_entry")["deployer"]
    groups = unwrap(entry["kubernetes_groups"])
    assert groups == ["${var.deployer_kubernetes_group}"]
    group = unwrap(variables(eks)["deployer_kubernetes_group"]["default"])
    assert not group.startswith("system:")
    subjects = [s for s in binding["subjects"] if s["kind"] == "Group"]
    assert [s["name"] for s in subjects] == [group]
    # Rights come from the Role alone: no access policy association (AmazonEKSAdminPolicy
    # has no rights on monitoring.coreos.com and made `helm upgrade --atomic` roll back).
    assert not resources(eks, "aws_eks_access_policy_association")
    assert "AmazonEKSAdminPolicy" not in json.dumps(eks)
    env = parse_dir(ENV)
    assert "deployer_role_arns" in json.dumps(env["module"])
