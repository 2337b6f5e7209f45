"""Parses terraform/ with python-hcl2 (no Terraform binary here) and asserts the
architecture's numbers on the production environment and the modules."""
import glob
import json
import os
import re

import hcl2
import pytest

from conftest import ROOT

TF = ROOT / "terraform"
ENV = TF / "environments" / "production"
MODULES = ["kms", "vpc", "eks", "rds", "ecr", "s3", "observability", "fis", "dns"]


def unwrap(v):
    """python-hcl2 wraps attribute values in a one-element list."""
    return v[0] if isinstance(v, list) and len(v) == 1 else v


def parse_dir(path):
    out = {}
    for f in sorted(glob.glob(os.path.join(path, "*.tf"))):
        with open(f, encoding="utf-8") as fh:
            for key, items in hcl2.load(fh).items():
                out.setdefault(key, []).extend(items)
    return out


@pytest.fixture(scope="module")
def env():
    return parse_dir(ENV)


@pytest.fixture(scope="module")
def mods():
    return {m: parse_dir(TF / "modules" / m) for m in MODULES}


def variables(parsed):
    return {name: body for v in parsed.get("variable", []) for name, body in v.items()}


def defaults(parsed):
    return {k: unwrap(b.get("default")) for k, b in variables(parsed).items()}


def resources(parsed, rtype):
    return {name: body for r in parsed.get("resource", []) for t, named in r.items() if t == rtype
            for name, body in named.items()}


def module_calls(parsed):
    return {name: {k: unwrap(v) for k, v in body.items()} for m in parsed.get("module", []) for name, body in m.items()}


class Resolver:
    def __init__(self, env_parsed):
        self.vars = defaults(env_parsed)
        self.locals = {"name": f"{self.vars['environment']}-task-manager"}

    def __call__(self, value):
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, str):
            return value
        m = re.fullmatch(r"\$\{var\.(\w+)\}", value)
        if m:
            return self.vars[m.group(1)]
        value = re.sub(r"\$\{local\.name\}", self.locals["name"], value)
        return re.sub(r"\$\{var\.(\w+)\}", lambda mm: str(self.vars[mm.group(1)]), value)


def effective(env_parsed, mods, module, arg):
    """Value a module input gets in production: the environment's argument, else the
    module's default."""
    call = module_calls(env_parsed)[module]
    resolve = Resolver(env_parsed)
    if arg in call:
        return resolve(call[arg])
    source = os.path.basename(call["source"])
    return defaults(mods[source])[arg]


def test_vpc(env, mods):
    assert effective(env, mods, "vpc", "cidr") == "10.0.0.0/16"
    assert len(effective(env, mods, "vpc", "azs")) == 3
    assert effective(env, mods, "vpc", "public_subnets") == ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"]
    assert effective(env, mods, "vpc", "private_subnets") == ["10.0.64.0/20", "10.0.80.0/20", "10.0.96.0/20"]
    assert effective(env, mods, "vpc", "database_subnets") == ["10.0.128.0/20", "10.0.144.0/20", "10.0.160.0/20"]
    vpc = mods["vpc"]
    # One NAT gateway per AZ, each private route table through its own zone's gateway.
    nat = resources(vpc, "aws_nat_gateway")["this"]
    assert unwrap(nat["count"]) == "${local.az_count}"
    assert unwrap(resources(vpc, "aws_route_table")["private"]["count"]) == "${local.az_count}"
    assert "aws_nat_gateway.this[count.index].id" in unwrap(resources(vpc, "aws_route")["private_nat"]["nat_gateway_id"])
    assert "length(var.azs)" in json.dumps(vpc["locals"])
    assert unwrap(resources(vpc, "aws_subnet")["public"]["map_public_ip_on_launch"]) is False
    assert resources(vpc, "aws_flow_log")


def test_eks(env, mods):
    # The seed's 1.29 left EKS extended support in March 2026 (docs/deployment.md).
    assert effective(env, mods, "eks", "kubernetes_version") == "1.35"
    assert effective(env, mods, "eks", "node_instance_type") == "t3.medium"
    assert effective(env, mods, "eks", "node_min_size") == 2
    assert effective(env, mods, "eks", "node_max_size") == 5
    assert effective(env, mods, "eks", "node_desired_size") == 3
    assert effective(env, mods, "eks", "node_capacity_type") == "ON_DEMAND"
    cap = variables(env)["node_capacity_type"]
    assert "SPOT" in json.dumps(cap["validation"])
    eks = mods["eks"]
    cluster = resources(eks, "aws_eks_cluster")["this"]
    enc = unwrap(cluster["encryption_config"])
    assert unwrap(enc["resources"]) == ["secrets"]
    assert resources(eks, "aws_iam_openid_connect_provider")
    # One node group per zone (the zone spread is hard), each in its zone's subnet only.
    ng = resources(eks, "aws_eks_node_group")
    assert list(ng) == ["zone"]
    assert unwrap(ng["zone"]["for_each"]) == "${local.zones}"
    assert unwrap(ng["zone"]["subnet_ids"]) == ["${each.value}"]
    assert unwrap(ng["zone"]["capacity_type"]) == "${var.node_capacity_type}"
    assert module_calls(env)["eks"]["availability_zones"] == "${var.azs}"
    text = json.dumps(eks)
    assert "cluster-autoscaler" in text and "aws-load-balancer-controller" in text
    assert "enableNetworkPolicy" in text
    # Add-ons: pinned, conflicts resolved on create, metrics-server for the HPA, the EBS
    # CSI driver and vpc-cni with their own IRSA roles.
    addons = resources(eks, "aws_eks_addon")
    assert "metrics-server" in json.dumps(addons["this"]["for_each"])
    assert {"vpc_cni", "ebs_csi", "this"} == set(addons)
    for name, addon in addons.items():
        assert unwrap(addon["resolve_conflicts_on_create"]) == "OVERWRITE", name
        assert "var.addon_versions[" in unwrap(addon["addon_version"]), name
    assert 'irsa["vpc-cni"]' in unwrap(addons["vpc_cni"]["service_account_role_arn"])
    assert 'irsa["ebs-csi-controller"]' in unwrap(addons["ebs_csi"]["service_account_role_arn"])
    assert "AmazonEKS_CNI_Policy" not in json.dumps(resources(eks, "aws_iam_role_policy_attachment")["node"])


def test_rds(env, mods):
    # The seed's 15.5 is no longer offered: the major alone gets RDS's current minor.
    assert effective(env, mods, "rds", "engine_version") == "15"
    assert effective(env, mods, "rds", "instance_class") == "db.t3.micro"
    assert effective(env, mods, "rds", "allocated_storage") == 20
    assert effective(env, mods, "rds", "max_allocated_storage") > 20
    assert effective(env, mods, "rds", "backup_retention_period") == 7
    assert effective(env, mods, "rds", "backup_window") == "03:00-04:00"
    assert effective(env, mods, "rds", "maintenance_window") == "mon:04:00-mon:05:00"
    assert effective(env, mods, "rds", "monitoring_interval") > 0
    db = {k: unwrap(v) for k, v in resources(mods["rds"], "aws_db_instance")["this"].items()}
    assert db["engine"] == "postgres"
    assert db["multi_az"] is True
    assert db["storage_type"] == "gp3"
    assert db["auto_minor_version_upgrade"] is True
    assert db["storage_encrypted"] is True and db["kms_key_id"]
    assert db["skip_final_snapshot"] is False and db["final_snapshot_identifier"]
    assert db["publicly_accessible"] is False
    assert db["performance_insights_enabled"] is True
    assert db["monitoring_role_arn"]
    assert db["enabled_cloudwatch_logs_exports"] == ["postgresql", "upgrade"]
    rules = resources(mods["rds"], "aws_vpc_security_group_ingress_rule")
    assert len(rules) == 1
    rule = {k: unwrap(v) for k, v in list(rules.values())[0].items()}
    assert rule["from_port"] == 5432 and rule["to_port"] == 5432
    assert rule["referenced_security_group_id"] == "${var.allowed_security_group_id}"
    assert "cidr_ipv4" not in rule
    assert module_calls(env)["rds"]["allowed_security_group_id"] == "${module.eks.node_security_group_id}"
    assert not resources(mods["rds"], "aws_vpc_security_group_egress_rule")


def test_ecr(env, mods):
    assert effective(env, mods, "ecr", "repository_names") == ["production-task-manager-backend"]
    assert effective(env, mods, "ecr", "keep_tagged_images") == 10
    repo = {k: unwrap(v) for k, v in resources(mods["ecr"], "aws_ecr_repository")["this"].items()}
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert unwrap(repo["image_scanning_configuration"]["scan_on_push"]) is True
    policy = unwrap(resources(mods["ecr"], "aws_ecr_lifecycle_policy")["this"]["policy"])
    assert "imageCountMoreThan" in policy and "var.keep_tagged_images" in policy


def test_log_retention(env, mods):
    assert defaults(env)["log_retention_days"] == 365
    assert effective(env, mods, "observability", "retention_in_days") == 365
    groups = resources(mods["observability"], "aws_cloudwatch_log_group")
    for g in groups.values():
        assert unwrap(g["retention_in_days"]) == "${var.retention_in_days}"
        assert unwrap(g["kms_key_id"])
    logs = json.dumps(env["locals"])
    for name in ("/aws/eks/", "/aws/rds/instance/", "/postgresql", "/upgrade"):
        assert name in logs


def test_s3_buckets(env, mods):
    calls = module_calls(env)
    assert {"s3_assets", "s3_backups"} <= set(calls)
    s3 = mods["s3"]
    assert unwrap(resources(s3, "aws_s3_bucket_versioning")["this"]["versioning_configuration"])["status"] == ["Enabled"] or \
        unwrap(unwrap(resources(s3, "aws_s3_bucket_versioning")["this"]["versioning_configuration"])["status"]) == "Enabled"
    sse = json.dumps(resources(s3, "aws_s3_bucket_server_side_encryption_configuration"))
    assert "aws:kms" in sse
    pab = {k: unwrap(v) for k, v in resources(s3, "aws_s3_bucket_public_access_block")["this"].items()}
    assert all(pab[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    assert resources(s3, "aws_s3_bucket_lifecycle_configuration")


def test_fis_az_power_interruption(mods):
    tpl = resources(mods["fis"], "aws_fis_experiment_template")["az_power_interruption"]
    actions = {unwrap(a["action_id"]): a for a in tpl["action"]}
    assert set(actions) == {"aws:ec2:stop-instances", "aws:rds:reboot-db-instances"}
    params = {unwrap(p["key"]): unwrap(p["value"]) for p in actions["aws:rds:reboot-db-instances"]["parameter"]}
    assert params["forceFailover"] == "true"
    text = json.dumps(tpl)
    assert "Placement.AvailabilityZone" in text
    stop = unwrap(tpl["stop_condition"])
    assert unwrap(stop["source"]) == "aws:cloudwatch:alarm"
    alarm = resources(mods["observability"], "aws_cloudwatch_metric_alarm")["slo_fast_burn"]
    assert "HTTPCode_Target_5XX_Count" in json.dumps(alarm)


def test_backend_and_providers(env):
    tf = json.dumps(env["terraform"])
    for key in ('"s3"', "dynamodb_table", "encrypt"):
        assert key in tf
    for f in glob.glob(str(TF / "**" / "versions.tf"), recursive=True):
        with open(f, encoding="utf-8") as fh:
            text = fh.read()
        assert re.search(r'aws\s*=\s*\{[^}]*version\s*=\s*"~> 5\.\d+"', text, re.S), f


def test_variables_are_documented_and_validated(env, mods):
    for name, parsed in [("production", env)] + list(mods.items()):
        for var, body in variables(parsed).items():
            assert unwrap(body.get("description")), f"{name}: variable {var} has no description"
    validated = [v for v, b in variables(env).items() if "validation" in b]
    assert len(validated) >= 10
    for m in MODULES:
        assert (TF / "modules" / m / "README.md").exists(), m
        assert (TF / "modules" / m / "outputs.tf").exists(), m
