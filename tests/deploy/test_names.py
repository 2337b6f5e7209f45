"""Names that must line up between Terraform, the chart, the pipeline and the docs: the
chart's values for the IRSA role, the image repository, the assets bucket, the ALB and
the subnets are what Terraform creates (resolved from the parsed HCL and
terraform.tfvars.example), and every `terraform output NAME` mentioned anywhere exists."""
import re

import pytest
import yaml

from conftest import ROOT, load_docs
from test_terraform import resources, unwrap
from tfnames import Production, leaves

CHART = ROOT / "helm" / "task-manager"
NAMESPACE = "task-manager"


@pytest.fixture(scope="module")
def prod():
    return Production()


def values(name):
    with open(CHART / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def merged(base, over):
    """Helm's merge of a values file over the chart defaults."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {k: merged(base.get(k), over[k]) if k in over else base[k] for k in {**base, **over}}
    return over


def lookup(tree, path):
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return KeyError
        tree = tree[key]
    return tree


def test_every_terraform_name_is_a_chart_value(prod):
    defaults = values("values.yaml")
    paths = [p for p, _ in leaves(prod.helm_values_expr())]
    assert paths, "helm_values is empty"
    for path in paths:
        assert lookup(defaults, path) is not KeyError, f"helm_values.{'.'.join(path)} is not a value of the chart"


def test_values_production_agrees_with_terraform(prod):
    production = merged(values("values.yaml"), values("values-production.yaml"))
    for path, expr in leaves(prod.helm_values_expr()):
        want = prod.resolve(expr)
        have = lookup(production, path)
        dotted = ".".join(path)
        if want is None:  # known after apply only (the certificate)
            continue
        assert have == want, f"production values {dotted} = {have!r}, Terraform creates {want!r}"


def test_the_irsa_role_trusts_the_chart_service_account(prod):
    docs = load_docs("production")
    sa = [d for d in docs if d["kind"] == "ServiceAccount"][0]
    role_key = re.fullmatch(r'\$\{module\.eks\.irsa_role_arns\["(.+)"\]\}',
                            dict(leaves(prod.helm_values_expr()))[("serviceAccount", "roleArn")]).group(1)
    namespace, service_account = prod.irsa_roles()[role_key]
    assert (namespace, service_account) == (sa["metadata"]["namespace"], sa["metadata"]["name"])
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == prod.irsa_role_arn(role_key)


MENTION_FILES = ["helm/task-manager/values.yaml", "helm/task-manager/values-production.yaml", "Jenkinsfile",
                 "docs/deployment.md", "docs/disaster-recovery.md",
                 "terraform/environments/production/terraform.tfvars.example",
                 "terraform/environments/production/README.md"]


def test_every_mentioned_terraform_output_exists(prod):
    outputs = prod.outputs()
    files = MENTION_FILES + [str(p.relative_to(ROOT)) for p in (ROOT / ".github" / "workflows").glob("*.yml")]
    seen = 0
    for rel in files:
        text = (ROOT / rel).read_text(encoding="utf-8")
        for name in re.findall(r"terraform output (?:-raw |-json )?([a-z_]+)", text):
            seen += 1
            assert name in outputs, f"{rel} names terraform output {name}, which does not exist"
    assert seen, "no terraform output is mentioned anywhere"


def test_buckets_named_in_the_docs_exist(prod):
    buckets = {prod.bucket(m) for m in ("s3_assets", "s3_backups")}
    buckets.add(prod.text(prod.module_var("observability", "access_log_bucket_name")))
    for rel in ("docs/deployment.md", "docs/disaster-recovery.md", "helm/task-manager/values-production.yaml"):
        text = (ROOT / rel).read_text(encoding="utf-8")
        for name in re.findall(r"s3://([a-z0-9.-]+)", text):
            if name == "task-manager-terraform-state":
                continue
            assert name in buckets, f"{rel} names bucket {name}; Terraform creates {sorted(buckets)}"


def test_the_pipeline_reads_the_parameter_terraform_writes(prod):
    param = prod.text(unwrap(resources(prod.env, "aws_ssm_parameter")["deploy"]["name"]))
    jenkinsfile = (ROOT / "Jenkinsfile").read_text(encoding="utf-8")
    m = re.search(r"DEPLOY_PARAMETER\s*=\s*'([^']+)'", jenkinsfile)
    assert m, "Jenkinsfile sets no DEPLOY_PARAMETER"
    assert m.group(1) == param
    assert "-f terraform-values.json" in jenkinsfile


def test_the_synced_secret_is_the_one_the_chart_mounts(prod):
    with open(ROOT / "terraform" / "kubernetes" / "app-external-secret.yaml", encoding="utf-8") as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d]
    es = [d for d in docs if d["kind"] == "ExternalSecret"][0]
    store = [d for d in docs if d["kind"] == "SecretStore"][0]
    production = merged(values("values.yaml"), values("values-production.yaml"))
    secrets = production["secrets"]
    assert es["spec"]["target"]["name"] == secrets["existingSecret"]
    keys = {d["secretKey"] for d in es["spec"]["data"]}
    wanted = {secrets[k] for k in ("databaseUrlKey", "smtpPasswordKey", "smtpUsernameKey") if secrets.get(k)}
    assert keys == wanted, f"ExternalSecret provides {sorted(keys)}, the chart mounts {sorted(wanted)}"
    name = prod.text(unwrap(resources(prod.env, "aws_secretsmanager_secret")["app"]["name"]))
    assert {d["remoteRef"]["key"] for d in es["spec"]["data"]} == {name}
    assert store["spec"]["provider"]["aws"]["region"] == prod.vars["region"]
    assert es["metadata"]["namespace"] == store["metadata"]["namespace"] == NAMESPACE
    ns, sa = prod.irsa_roles()["external-secrets"]
    assert (ns, sa) == ("external-secrets", "external-secrets")
