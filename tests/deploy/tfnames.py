"""Resolves the names Terraform creates in production, from the parsed HCL (python-hcl2)
and terraform.tfvars.example, for the cross-file checks. Only the naming expressions the
environment uses are understood; anything else raises, so a change of naming scheme
fails the checks instead of being skipped."""
import re

import hcl2

from test_terraform import ENV, MODULES, TF, defaults, module_calls, parse_dir, resources, unwrap


def tfvars_example():
    with open(ENV / "terraform.tfvars.example", encoding="utf-8") as fh:
        return {k: unwrap(v) for k, v in hcl2.load(fh).items()}


class Production:
    """The production environment as terraform.tfvars.example configures it."""

    def __init__(self):
        self.env = parse_dir(ENV)
        self.mods = {m: parse_dir(TF / "modules" / m) for m in MODULES}
        self.vars = {**defaults(self.env), **tfvars_example()}
        role = self.vars["deployer_role_arns"][0]
        self.account = re.match(r"arn:aws:iam::(\d{12}):", role).group(1)
        self.locals = {"name": None}
        for block in self.env.get("locals", []):
            if "name" in block:
                self.locals["name"] = self.text(unwrap(block["name"]))

    def text(self, expr, extra=None):
        """Interpolates ${var.x}, ${local.name} and names in `extra` in a string template."""
        scope = {**{f"var.{k}": v for k, v in self.vars.items()},
                 **{f"local.{k}": v for k, v in self.locals.items() if v is not None}, **(extra or {})}

        def sub(m):
            key = m.group(1)
            if key not in scope:
                raise KeyError(f"cannot resolve ${{{key}}} in {expr!r}")
            return str(scope[key])
        return re.sub(r"\$\{([a-z_.]+)\}", sub, expr)

    def call(self, module):
        return module_calls(self.env)[module]

    def module_var(self, module, arg):
        """Module input in production, as a string, with the environment's interpolation."""
        call = self.call(module)
        if arg in call:
            value = call[arg]
            return self.text(value) if isinstance(value, str) else value
        return defaults(self.mods[call["source"].rsplit("/", 1)[-1]])[arg]

    def bucket(self, module):
        src = self.call(module)["source"].rsplit("/", 1)[-1]
        expr = unwrap(resources(self.mods[src], "aws_s3_bucket")["this"]["bucket"])
        return self.text(expr, {"var.name": self.module_var(module, "name")})

    def irsa_role_name(self, key):
        expr = unwrap(resources(self.mods["eks"], "aws_iam_role")["irsa"]["name"])
        return self.text(expr, {"var.cluster_name": self.module_var("eks", "cluster_name"), "each.key": key})

    def irsa_role_arn(self, key):
        return f"arn:aws:iam::{self.account}:role/{self.irsa_role_name(key)}"

    def ecr_repository_url(self, name):
        names = [self.text(n) for n in self.call("ecr")["repository_names"]]
        assert name in names, f"ECR repository {name} is not created (repository_names {names})"
        return f"{self.account}.dkr.ecr.{self.vars['region']}.amazonaws.com/{name}"

    def outputs(self):
        return {name for o in self.env.get("output", []) for name in o}

    def helm_values_expr(self):
        """locals.helm_values as python-hcl2 parsed it (strings still hold ${...})."""
        for block in self.env.get("locals", []):
            if "helm_values" in block:
                return unwrap(block["helm_values"])
        raise AssertionError("terraform/environments/production declares no local helm_values")

    def irsa_roles(self):
        """Application IRSA roles the environment adds: key -> (namespace, service account)."""
        roles = self.call("eks")["irsa_roles"]
        return {k: (unwrap(v["namespace"]), unwrap(v["service_account"])) for k, v in roles.items()}

    def resolve(self, expr):
        """Value of one helm_values leaf expression in production."""
        if isinstance(expr, list):
            return [self.resolve(e) for e in expr]
        m = re.fullmatch(r"\$\{module\.ecr\.repository_urls\[\"(.+)\"\]\}", expr)
        if m:
            return self.ecr_repository_url(self.text(m.group(1)))
        m = re.fullmatch(r"\$\{module\.eks\.irsa_role_arns\[\"(.+)\"\]\}", expr)
        if m:
            return self.irsa_role_arn(m.group(1))
        m = re.fullmatch(r"\$\{module\.(s3_\w+)\.bucket_name\}", expr)
        if m:
            return self.bucket(m.group(1))
        m = re.fullmatch(r"\$\{var\.(\w+)\}", expr)
        if m:
            return self.vars[m.group(1)]
        if "module.dns.certificate_arn" in expr:
            return None  # only known after apply; values-production.yaml holds an example
        return self.text(expr)


def leaves(tree, prefix=()):
    """(path, expression) for every leaf of a nested dict; hcl2 may wrap dicts in lists."""
    tree = unwrap(tree)
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from leaves(v, prefix + (k,))
    else:
        yield prefix, tree
