"""The NetworkPolicy lets the service reach every outbound dependency it has, and nothing
it should not. Dependencies come from the binary itself: the outbound settings of
src/config.rs and the crates in Cargo.toml that open connections. For each one the
rendered configuration enables, a destination and port are derived (from the ConfigMap,
and for the database from the subnets Terraform creates) and an egress rule must admit
them; the instance metadata address must be admitted by none."""
import ipaddress
import re
from urllib.parse import urlparse

import pytest

from conftest import ROOT
from tfnames import Production

# Outbound-looking settings of src/config.rs (names ending in _url, _host, _endpoint,
# _bucket) and what they reach. A new one fails test_every_outbound_setting_is_known
# until it is classified here and given a rule.
SETTINGS = {
    "database_url": "database",
    "smtp_host": "smtp",
    "attachments_s3_bucket": "aws",
    "attachments_s3_endpoint": "aws",  # an S3-compatible server; unset in production
    "public_url": None,  # where people reach the service: inbound only
}
# Crates that open outbound connections, and the dependency each one serves.
CRATES = {"sqlx": "database", "lettre": "smtp", "object_store": "aws", "reqwest": "webhooks",
          "opentelemetry-otlp": "otlp", "tonic": "otlp", "hyper": None, "rusqlite": None}
NETWORK_CRATES = {"sqlx", "lettre", "object_store", "reqwest", "opentelemetry-otlp", "tonic",
                  "redis", "aws-sdk-s3", "aws-config", "rdkafka", "lapin", "tokio-postgres", "ldap3"}
# Stand-ins for "somewhere on the internet" and the addresses that must stay unreachable.
PUBLIC = ["52.95.150.1", "3.5.64.1", "140.82.112.3"]
METADATA = "169.254.169.254"


def config_fields():
    text = (ROOT / "src" / "config.rs").read_text(encoding="utf-8")
    body = text[text.index("pub struct Config {"):]
    body = body[:body.index("\n}\n")]
    return re.findall(r"^\s*pub (\w+):", body, re.M)


def cargo_crates():
    text = (ROOT / "Cargo.toml").read_text(encoding="utf-8")
    deps = text[text.index("[dependencies]"):]
    deps = re.split(r"^\[(?!dependencies)", deps, flags=re.M)[0]
    return set(re.findall(r"^([A-Za-z0-9_-]+)\s*=", deps, re.M))


def test_every_outbound_setting_is_known():
    outbound = [f for f in config_fields() if re.search(r"_(url|host|endpoint|bucket)$", f)]
    assert "database_url" in outbound and "smtp_host" in outbound
    for field in outbound:
        assert field in SETTINGS, f"src/config.rs setting {field} looks outbound: classify it and give it an egress rule"


def test_every_network_crate_is_known():
    crates = cargo_crates() & NETWORK_CRATES
    assert {"sqlx", "lettre", "reqwest", "object_store"} <= crates
    for crate in crates:
        assert crate in CRATES, f"Cargo.toml depends on {crate}, which opens connections: classify it"


def policy(docs):
    return [d for d in docs if d["kind"] == "NetworkPolicy"][0]["spec"]


def config(docs):
    return [d for d in docs if d["kind"] == "ConfigMap" and "dashboard" not in d["metadata"]["name"]][0]["data"]


def peer_admits(peer, dest):
    if "ipBlock" in peer:
        if "ip" not in dest:
            return False
        ip = ipaddress.ip_address(dest["ip"])
        block = peer["ipBlock"]
        return ip in ipaddress.ip_network(block["cidr"]) and \
            not any(ip in ipaddress.ip_network(e) for e in block.get("except", []))
    if "ip" in dest:
        return False  # selectors match pods, never an external address
    ns = peer.get("namespaceSelector", {}).get("matchLabels", {})
    pods = peer.get("podSelector", {}).get("matchLabels", {})
    return all(dest["namespace_labels"].get(k) == v for k, v in ns.items()) and \
        all(dest["pod_labels"].get(k) == v for k, v in pods.items())


def admits(spec, dest, port, protocol="TCP"):
    for rule in spec["egress"]:
        ports = rule.get("ports")
        if ports and not any(p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports):
            continue
        peers = rule.get("to")
        if not peers or any(peer_admits(p, dest) for p in peers):
            return True
    return False


def ns(name, **pod_labels):
    return {"namespace_labels": {"kubernetes.io/metadata.name": name}, "pod_labels": pod_labels}


def required(docs, prod):
    """(dependency, destination, port, protocol) the rendered configuration needs."""
    cfg = config(docs)
    sa = [d for d in docs if d["kind"] == "ServiceAccount"]
    irsa = bool(sa and sa[0]["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn"))
    need = [("dns", ns("kube-system", **{"k8s-app": "kube-dns"}), 53, proto) for proto in ("UDP", "TCP")]
    # RDS: any address of the database subnets Terraform creates, on PostgreSQL's port.
    for cidr in prod.vars["database_subnets"]:
        net = ipaddress.ip_network(cidr)
        need.append(("database", {"ip": str(net[10])}, 5432, "TCP"))
        need.append(("database", {"ip": str(net[-10])}, 5432, "TCP"))
    if cfg.get("TM_SMTP_HOST"):
        port = int(cfg.get("TM_SMTP_PORT") or {"starttls": 587, "implicit": 465, "none": 25}[cfg["TM_SMTP_TLS"]])
        need += [("smtp", {"ip": ip}, port, "TCP") for ip in PUBLIC]
    otlp = cfg.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if otlp:
        url = urlparse(otlp)
        parts = url.hostname.split(".")
        assert len(parts) >= 2 and parts[-1] in ("svc", "local") or parts[-2] == "svc", \
            f"OTLP endpoint {otlp} is not a cluster service: give it a rule"
        need.append(("otlp", ns(parts[1], **{"app.kubernetes.io/name": "opentelemetry-collector"}), url.port, "TCP"))
    if cfg.get("TM_ATTACHMENTS_S3_BUCKET") or irsa:
        # S3 and the STS token exchange of IRSA: https://sts.<region>.amazonaws.com
        need += [("aws", {"ip": ip}, 443, "TCP") for ip in PUBLIC]
    need += [("webhooks", {"ip": ip}, port, "TCP") for ip in PUBLIC for port in (443, 80)]
    return need


@pytest.fixture(scope="module")
def prod():
    return Production()


def test_each_dependency_has_an_egress_rule(rendered, prod):
    name, docs = rendered
    spec = policy(docs)
    missing = [(dep, dest, port, proto) for dep, dest, port, proto in required(docs, prod)
               if not admits(spec, dest, port, proto)]
    assert not missing, f"{name}: no egress rule admits {missing}"
    deps = {d for d, *_ in required(docs, prod)}
    if name == "production":
        assert deps == {"dns", "database", "smtp", "otlp", "aws", "webhooks"}


def test_the_instance_metadata_service_is_unreachable(rendered):
    _, docs = rendered
    spec = policy(docs)
    for port in (80, 443, 53, 587, 4317, 5432, 8080):
        for proto in ("TCP", "UDP"):
            assert not admits(spec, {"ip": METADATA}, port, proto), f"{METADATA}:{port}/{proto} is admitted"
    # Nor the VPC itself, except the database subnets on PostgreSQL's port.
    assert not admits(spec, {"ip": "10.0.64.10"}, 443)


def test_no_rule_opens_everything(rendered):
    _, docs = rendered
    for rule in policy(docs)["egress"]:
        assert rule.get("ports"), "egress rules are port-restricted"
        assert rule.get("to"), "egress rules name their destinations"
