"""Splits rendered Helm output for the validators.

    python manifests.py split RENDERED.yaml OUTDIR

writes OUTDIR/builtin/NN-kind-name.yaml (one document per file, built-in kinds, for
kubernetes-validate), OUTDIR/crds.json (custom resources, for the prometheus-operator
schema check) and OUTDIR/rules.yml (the PrometheusRule groups, for promtool).
"""
import json
import pathlib
import sys

import yaml

# API groups served by a plain Kubernetes 1.29 API server.
BUILTIN_GROUPS = {
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "certificates.k8s.io", "node.k8s.io",
}


def load(path):
    with open(path, encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


def is_builtin(doc):
    api = doc.get("apiVersion", "")
    group = api.split("/")[0] if "/" in api else ""
    return group in BUILTIN_GROUPS


def split(rendered, outdir):
    out = pathlib.Path(outdir)
    (out / "builtin").mkdir(parents=True, exist_ok=True)
    crds, groups = [], []
    for i, doc in enumerate(load(rendered)):
        if is_builtin(doc):
            name = f"{i:02d}-{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"
            (out / "builtin" / name).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        else:
            crds.append(doc)
            if doc.get("kind") == "PrometheusRule":
                groups.extend(doc.get("spec", {}).get("groups", []))
    (out / "crds.json").write_text(json.dumps(crds), encoding="utf-8")
    (out / "rules.yml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    print(f"{len(list((out / 'builtin').iterdir()))} built-in documents, {len(crds)} custom resources, "
          f"{len(groups)} rule groups")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "split":
        sys.exit(__doc__)
    split(sys.argv[2], sys.argv[3])
