"""One deploy path: only the Jenkinsfile pushes and deploys, with a unique tag, by
digest, after a Trivy gate on HIGH and CRITICAL; GitHub workflows build and test only,
with every action pinned by commit; accepted vulnerabilities expire."""
import datetime
import re

import yaml

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
JENKINSFILE = (ROOT / "Jenkinsfile").read_text(encoding="utf-8")
# What pushing an image or changing the cluster looks like in a pipeline.
DEPLOYS = [r"helm\s+(upgrade|install|rollback|uninstall)", r"kubectl\s+(apply|create|set|patch|rollout|delete|scale)",
           r"docker\s+push", r"buildx\s+build[^\n]*--push", r"push:\s*true", r"aws-actions/amazon-ecr-login",
           r"aws-actions/configure-aws-credentials", r"aws\s+eks\s+update-kubeconfig", r"azure/setup-helm",
           r"azure/k8s-deploy", r"crane\s+push", r"skopeo\s+copy"]


def deploy_steps(text):
    return [p for p in DEPLOYS if re.search(p, text)]


def stage(name):
    m = re.search(r"stage\('" + re.escape(name) + r"'\)\s*\{(.*?)\n    \}\n", JENKINSFILE, re.S)
    assert m, f"Jenkinsfile has no stage {name}"
    return m.group(1)


def test_only_jenkins_deploys():
    assert WORKFLOWS
    for wf in WORKFLOWS:
        found = deploy_steps(wf.read_text(encoding="utf-8"))
        assert not found, f"{wf.name} pushes or deploys ({found}): Jenkins is the one deploy path"
        doc = yaml.safe_load(wf.read_text(encoding="utf-8"))
        for job in doc["jobs"].values():
            assert job.get("permissions", {}).get("id-token") != "write", f"{wf.name}: no cloud credentials needed"
    assert deploy_steps(stage("Deploy")) and deploy_steps(stage("Push"))
    for name in ("Checkout", "Build", "Security Scan"):
        assert not deploy_steps(stage(name)), f"Jenkinsfile stage {name} pushes or deploys"
    assert "when { branch 'main' }" in stage("Push") and "when { branch 'main' }" in stage("Deploy")
    assert "disableConcurrentBuilds()" in JENKINSFILE


def test_actions_are_pinned_by_commit():
    for wf in WORKFLOWS:
        for ref in re.findall(r"uses:\s*([^\s#]+)", wf.read_text(encoding="utf-8")):
            if ref.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{wf.name}: {ref} is not pinned by commit"


def test_unique_tag_pushed_once_and_deployed_by_digest():
    push, deploy = stage("Push"), stage("Deploy")
    tag = re.search(r'env\.IMAGE_TAG\s*=\s*"([^"]+)"', JENKINSFILE).group(1)
    assert "BUILD_NUMBER" in tag and "GIT_SHA" in tag, "tags must be unique per build (ECR tags are immutable)"
    assert len(re.findall(r"docker\s+push", push)) == 1, "one tag per build: a second tag of the same commit collides"
    assert "image.digest=" in deploy and "IMAGE_DIGEST" in push
    assert "-f terraform-values.json" in deploy


def test_trivy_gates_high_and_critical():
    scan = stage("Security Scan")
    sev = re.search(r"--severity\s+([A-Z,]+)", scan).group(1).split(",")
    assert set(sev) == {"HIGH", "CRITICAL"}
    assert "--ignore-unfixed" in scan and "--exit-code 1" in scan and "--ignorefile .trivyignore.yaml" in scan
    for wf in WORKFLOWS:
        for job in yaml.safe_load(wf.read_text(encoding="utf-8"))["jobs"].values():
            for step in job.get("steps", []):
                if "trivy-action" in step.get("uses", ""):
                    w = step["with"]
                    assert set(w["severity"].split(",")) == {"HIGH", "CRITICAL"}
                    assert w["ignore-unfixed"] is True and str(w["exit-code"]) == "1"
                    assert w["trivyignores"] == ".trivyignore.yaml"


def test_accepted_vulnerabilities_expire():
    doc = yaml.safe_load((ROOT / ".trivyignore.yaml").read_text(encoding="utf-8"))
    today = datetime.date.today()
    for section in ("vulnerabilities", "misconfigurations", "secrets", "licenses"):
        for entry in doc.get(section) or []:
            assert entry.get("statement"), f"{entry.get('id')}: say why it is accepted"
            expiry = entry.get("expired_at")
            assert isinstance(expiry, datetime.date), f"{entry.get('id')}: expired_at (YYYY-MM-DD) is required"
            assert expiry <= today + datetime.timedelta(days=90), f"{entry['id']}: expires more than 90 days ahead"


def test_the_build_reuses_a_cache():
    build = stage("Build")
    assert "--cache-from" in build and "--cache-to" in build
