"""Asserts the architecture's numbers on the rendered Helm chart (default and production values)."""
import glob
import json
import os
import re

import yaml

from conftest import ROOT

CHART = ROOT / "helm" / "task-manager"


def one(docs, kind, name_suffix=""):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, f"expected one {kind}*{name_suffix}, found {len(found)}"
    return found[0]


def app_service(docs):
    return [d for d in docs if d["kind"] == "Service" and not d["metadata"]["name"].endswith("-metrics")][0]


def pod_spec(docs):
    return one(docs, "Deployment")["spec"]["template"]["spec"]


def container(docs):
    return pod_spec(docs)["containers"][0]


def config(docs):
    return [d for d in docs if d["kind"] == "ConfigMap" and "dashboard" not in d["metadata"]["name"]][0]["data"]


def seconds(duration):
    m = re.fullmatch(r"(\d+)(ms|s|m)", duration)
    assert m, duration
    n, unit = int(m.group(1)), m.group(2)
    return {"ms": n / 1000, "s": n, "m": n * 60}[unit]


def test_every_object_is_namespaced(rendered):
    _, docs = rendered
    for d in docs:
        assert d["metadata"].get("namespace") == "task-manager", d["metadata"]["name"]


def test_deployment_replicas_and_rollout(rendered):
    _, docs = rendered
    dep = one(docs, "Deployment")
    assert dep["spec"]["replicas"] == 3
    ru = dep["spec"]["strategy"]["rollingUpdate"]
    assert ru["maxUnavailable"] == 0 and ru["maxSurge"] == 1


def test_resources(rendered):
    _, docs = rendered
    res = container(docs)["resources"]
    assert res["requests"] == {"cpu": "250m", "memory": "256Mi"}
    assert res["limits"] == {"cpu": "500m", "memory": "512Mi"}


def test_hpa(rendered):
    _, docs = rendered
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    spec = hpa["spec"]
    assert spec["minReplicas"] == 3 and spec["maxReplicas"] == 10
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in spec["metrics"]}
    assert targets["cpu"] == {"type": "Utilization", "averageUtilization": 70}
    assert targets["memory"] == {"type": "Utilization", "averageUtilization": 80}
    up, down = spec["behavior"]["scaleUp"], spec["behavior"]["scaleDown"]
    assert up["stabilizationWindowSeconds"] == 30
    assert down["stabilizationWindowSeconds"] == 300
    assert up["policies"] and down["policies"]
    # Scale-down is gentle: at most one pod per minute.
    assert all(p["type"] == "Pods" and p["value"] <= 1 and p["periodSeconds"] >= 60 for p in down["policies"])
    assert spec["scaleTargetRef"]["name"] == one(docs, "Deployment")["metadata"]["name"]


def test_spread_over_zones_and_nodes(rendered):
    _, docs = rendered
    spec = pod_spec(docs)
    labels = one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    zone = [c for c in spec["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
    assert len(zone) == 1 and zone[0]["maxSkew"] == 1
    assert zone[0]["labelSelector"]["matchLabels"] == labels
    anti = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert anti[0]["podAffinityTerm"]["labelSelector"]["matchLabels"] == labels


def test_pdb(rendered):
    _, docs = rendered
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    # Leaves at least 2 of the 3 replicas up during voluntary disruptions.
    assert pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable") == 2


def test_probes(rendered):
    _, docs = rendered
    c = container(docs)
    assert c["readinessProbe"]["httpGet"]["path"] == "/healthz/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz/live"
    assert c["startupProbe"]["httpGet"]["path"] in ("/healthz/live", "/healthz/ready")
    for p in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[p]["httpGet"]["port"] == "http"


def test_security_context(rendered):
    _, docs = rendered
    spec = pod_spec(docs)
    c = container(docs)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in vols[mounts["/tmp"]]


def test_graceful_shutdown_budget(rendered):
    """A terminating replica keeps serving while the ALB may still route to it, then
    finishes what it accepted before the kubelet's SIGKILL (docs/deployment.md)."""
    _, docs = rendered
    cfg = config(docs)
    drain, grace = seconds(cfg["TM_DRAIN_DELAY"]), seconds(cfg["TM_SHUTDOWN_GRACE"])
    ann = one(docs, "Ingress")["metadata"]["annotations"]
    attrs = dict(kv.split("=", 1) for kv in ann["alb.ingress.kubernetes.io/target-group-attributes"].split(","))
    deregistration = int(attrs["deregistration_delay.timeout_seconds"])
    interval = int(ann["alb.ingress.kubernetes.io/healthcheck-interval-seconds"])
    timeout = int(ann["alb.ingress.kubernetes.io/healthcheck-timeout-seconds"])
    unhealthy = int(ann["alb.ingress.kubernetes.io/unhealthy-threshold-count"])
    # New requests may arrive until the deregistration has propagated (bounded by the
    # delay) or until the ALB's own health checks have seen readiness fail.
    assert drain >= deregistration
    assert drain >= interval * unhealthy + timeout
    assert (deregistration, interval, timeout, unhealthy, drain, grace) == (30, 10, 5, 2, 30, 20)
    assert pod_spec(docs)["terminationGracePeriodSeconds"] >= drain + grace
    assert "lifecycle" not in container(docs), "no preStop hook: the image has no shell"


def test_container_config(rendered):
    _, docs = rendered
    cfg = config(docs)
    assert cfg["TM_LISTEN"] == "0.0.0.0:8080"
    assert cfg["TM_METRICS_LISTEN"] == "0.0.0.0:9090"
    assert cfg["TM_COOKIE_SECURE"] == "true"
    # Replicas share attachments through the bucket (the root filesystem is read-only).
    assert cfg["TM_ATTACHMENTS_S3_BUCKET"] == "production-task-manager-123456789012-assets"
    assert cfg["AWS_REGION"] == "eu-west-1"
    c = container(docs)
    env = {e["name"]: e for e in c["env"]}
    assert env["TM_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["TM_POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert env["TM_NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    # Secrets only as mounted files.
    assert "DATABASE_URL" not in env and "DATABASE_URL" not in cfg
    assert not any("PASSWORD" in k and not k.endswith("_FILE") for k in list(env) + list(cfg))
    path = env["DATABASE_URL_FILE"]["value"]
    mount = [m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
    assert mount, "DATABASE_URL_FILE must point into a mounted volume"
    vol = [v for v in pod_spec(docs)["volumes"] if v["name"] == mount[0]["name"]][0]
    assert vol["secret"]["secretName"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": 8080, "metrics": 9090}


def test_services_keep_metrics_off_the_http_service(rendered):
    _, docs = rendered
    svc = app_service(docs)
    assert [(p["name"], p["port"]) for p in svc["spec"]["ports"]] == [("http", 8080)]
    metrics = one(docs, "Service", "-metrics")
    assert [p["port"] for p in metrics["spec"]["ports"]] == [9090]


def test_ingress_routes_only_http(rendered):
    _, docs = rendered
    ing = one(docs, "Ingress")
    ann = ing["metadata"]["annotations"]
    assert ing["spec"]["ingressClassName"] == "alb"
    assert ann["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert ann["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert ann["alb.ingress.kubernetes.io/healthcheck-path"] == "/healthz/ready"
    svc = app_service(docs)
    paths = [p for r in ing["spec"]["rules"] for p in r["http"]["paths"]]
    by_path = {p["path"]: p["backend"]["service"] for p in paths}
    assert by_path["/api"] == {"name": svc["metadata"]["name"], "port": {"number": 8080}}
    assert by_path["/"] == {"name": svc["metadata"]["name"], "port": {"number": 8080}}
    # /metrics is answered by the ALB's fixed 404 action, never forwarded.
    assert by_path["/metrics"]["port"] == {"name": "use-annotation"}
    action = ann["alb.ingress.kubernetes.io/actions." + by_path["/metrics"]["name"]]
    assert '"fixed-response"' in action and '"404"' in action
    for p in paths:
        port = p["backend"]["service"]["port"]
        assert port.get("number") != 9090 and port.get("name") != "metrics"


def test_production_tls_and_irsa():
    from conftest import load_docs
    docs = load_docs("production")
    ann = one(docs, "Ingress")["metadata"]["annotations"]
    assert ann["alb.ingress.kubernetes.io/certificate-arn"].startswith("arn:aws:acm:")
    assert "HTTPS" in ann["alb.ingress.kubernetes.io/listen-ports"]
    assert ann["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    sa = one(docs, "ServiceAccount")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")


def test_network_policy(rendered):
    _, docs = rendered
    np_ = one(docs, "NetworkPolicy")
    spec = np_["spec"]
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    ingress_ports = sorted(p["port"] for r in spec["ingress"] for p in r["ports"])
    assert ingress_ports == ["http", "metrics"]
    metrics_rule = [r for r in spec["ingress"] if r["ports"][0]["port"] == "metrics"][0]
    assert metrics_rule["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
    http_rule = [r for r in spec["ingress"] if r["ports"][0]["port"] == "http"][0]
    assert all("ipBlock" in f or "namespaceSelector" in f for f in http_rule["from"])
    egress_ports = {p["port"] for r in spec["egress"] for p in r["ports"]}
    assert {53, 5432, 4317}.issubset(egress_ports)
    db = [r for r in spec["egress"] if r["ports"][0]["port"] == 5432][0]
    assert sorted(t["ipBlock"]["cidr"] for t in db["to"]) == ["10.0.128.0/20", "10.0.144.0/20", "10.0.160.0/20"]
    # No rule opens every port to everything.
    for r in spec["egress"]:
        assert r.get("ports"), "egress rules are port-restricted"


def test_service_monitor(rendered):
    _, docs = rendered
    sm = one(docs, "ServiceMonitor")
    ep = sm["spec"]["endpoints"][0]
    assert ep["port"] == "metrics" and ep["path"] == "/metrics"
    assert {"action": "replace", "targetLabel": "job", "replacement": "task-manager"} in ep["relabelings"]
    metrics_svc = one(docs, "Service", "-metrics")
    for k, v in sm["spec"]["selector"]["matchLabels"].items():
        assert metrics_svc["metadata"]["labels"][k] == v
    assert not all(app_service(docs)["metadata"]["labels"].get(k) == v
                   for k, v in sm["spec"]["selector"]["matchLabels"].items())


def rule_groups_in_chart_files():
    groups = []
    for path in sorted(glob.glob(str(CHART / "files" / "alerts" / "*.y*ml")) + glob.glob(str(CHART / "files" / "slo" / "*.y*ml"))):
        with open(path, encoding="utf-8") as fh:
            groups.extend((yaml.safe_load(fh) or {}).get("groups") or [])
    return groups


def test_prometheus_rule_carries_every_group(rendered):
    _, docs = rendered
    expected = rule_groups_in_chart_files()
    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    if not expected:
        assert rules == []
        return
    assert len(rules) == 1
    assert [g["name"] for g in rules[0]["spec"]["groups"]] == [g["name"] for g in expected]
    assert rules[0]["spec"]["groups"] == expected


def test_dashboards(rendered):
    _, docs = rendered
    files = sorted(os.path.basename(p) for p in glob.glob(str(CHART / "files" / "dashboards" / "*.json")))
    cms = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    assert sorted(k for cm in cms for k in cm["data"]) == files
    for cm in cms:
        for body in cm["data"].values():
            assert isinstance(json.loads(body), dict)
