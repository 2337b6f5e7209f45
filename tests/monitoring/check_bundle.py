#!/usr/bin/env python3
"""Static checks of the monitoring bundle (alerts/, runbooks/, dashboards/, docs).

Usage: check_bundle.py CHECK [ROOT]
  alerts       every alert: severity page|ticket|info, service="task-manager", summary,
               description showing {{ $value }}, runbook_url = <base><alert>.md,
               dashboard_url = /d/<uid of a dashboard>, a for: (except Watchdog)
  coverage     every alert of alerts/*.yml has a firing and a quiet alert_rule_test case
               in tests/monitoring/rules/*.test.yml (Watchdog: firing only, by design)
  runbooks     one runbooks/<Alert>.md per alert and no orphan; the five sections; a
               dashboard link, a promql block and kubectl in Diagnosis; helm rollback
  dashboards   Grafana conventions, every query parses as PromQL and names only known
               metrics (docs/metrics.md, recording rules, external-metrics.txt)
  docs         docs/monitoring.md names every external metric and every alert
  queries      (helper for e2e.sh) prints the dashboard queries as JSON lines

Prints one "PASS: ..." or "FAIL: ..." line per check; exits 1 when any failed.
"""
import glob
import json
import os
import re
import sys

import yaml

RUNBOOK_BASE = "https://github.com/task-manager/task-manager/blob/main/runbooks/"
SEVERITIES = {"page", "ticket", "info"}
ALWAYS_FIRING = {"Watchdog"}  # no quiet case possible: expr is vector(1)
SECTIONS = ["Meaning", "Impact", "Diagnosis", "Mitigation", "Escalation"]
GRAFANA_VARS = {
    "${datasource}": "prometheus", "$datasource": "prometheus",
    "$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h",
    "${job}": "task-manager", "$job": "task-manager",
    "${namespace}": ".*", "$namespace": ".*",
    "${instance}": ".*", "$instance": ".*",
    "${slo}": ".*", "$slo": ".*",
}

ROOT = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", ".."))
results = []


def check(ok, what):
    results.append(bool(ok))
    print(("PASS: " if ok else "FAIL: ") + what)
    return ok


def rule_files():
    return sorted(f for f in glob.glob(os.path.join(ROOT, "alerts", "*.yml")) if not f.endswith("alertmanager.yml"))


def alert_rules():
    """(file, rule) for every alerting rule."""
    out = []
    for f in rule_files():
        for g in yaml.safe_load(open(f))["groups"]:
            for r in g["rules"]:
                if "alert" in r:
                    out.append((os.path.relpath(f, ROOT), r))
    return out


def alert_names():
    return sorted({r["alert"] for _, r in alert_rules()})


def recorded_names():
    names = set()
    for f in rule_files():
        for g in yaml.safe_load(open(f))["groups"]:
            for r in g["rules"]:
                if "record" in r:
                    names.add(r["record"])
    return names


def dashboards():
    return {os.path.basename(f): json.load(open(f)) for f in sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json")))}


def dashboard_uids():
    return {d["uid"] for d in dashboards().values()}


def service_metrics():
    """Metric names of docs/metrics.md's table (histograms expanded to their series)."""
    names = set()
    for line in open(os.path.join(ROOT, "docs", "metrics.md")):
        m = re.match(r"\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|\s*(\w+)\s*\|", line)
        if m:
            names |= expand(m.group(1), m.group(2))
    return names


def expand(name, kind):
    if kind == "histogram":
        return {name + "_bucket", name + "_count", name + "_sum"}
    return {name}


def external_metrics():
    """{series name: (source, reason)} from tests/monitoring/external-metrics.txt."""
    out = {}
    for line in open(os.path.join(ROOT, "tests", "monitoring", "external-metrics.txt")):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, source, kind = line.split()[:3]
        for n in expand(name, kind):
            out[n] = source
    return out


# ------------------------------------------------------------------------- alerts
def cmd_alerts():
    uids = dashboard_uids()
    rules = alert_rules()
    check(rules, f"found {len(rules)} alerting rules in {len(rule_files())} rule files")
    for f, r in rules:
        name = r["alert"]
        labels, ann = r.get("labels", {}), r.get("annotations", {})
        where = f"{name} ({f})"
        check(labels.get("severity") in SEVERITIES, f"{where}: severity is page, ticket or info")
        check(labels.get("service") == "task-manager", f"{where}: service=\"task-manager\"")
        check(ann.get("summary"), f"{where}: has a summary")
        check("$value" in ann.get("description", ""), f"{where}: description shows {{{{ $value }}}}")
        check(ann.get("runbook_url") == RUNBOOK_BASE + name + ".md", f"{where}: runbook_url is {RUNBOOK_BASE}{name}.md")
        # On-call lands on the alert's namespace and a time range that shows its start.
        m = re.fullmatch(r"/d/([a-z0-9-]+)\?var-namespace=\{\{ \$labels\.namespace \}\}&from=now-\d+[mhd]&to=now",
                         ann.get("dashboard_url", ""))
        check(m and m.group(1) in uids,
              f"{where}: dashboard_url /d/<uid>?var-namespace={{{{ $labels.namespace }}}}&from=now-<range>&to=now names an existing dashboard")
        if name not in ALWAYS_FIRING:
            check(r.get("for"), f"{where}: has a for:")
    return finish()


# ----------------------------------------------------------------------- coverage
def cmd_coverage():
    firing, quiet = {}, {}
    tests = sorted(glob.glob(os.path.join(ROOT, "tests", "monitoring", "rules", "*.test.yml")))
    check(tests, f"found {len(tests)} rule test files")
    for t in tests:
        for case in yaml.safe_load(open(t)).get("tests", []):
            for a in case.get("alert_rule_test", []) or []:
                target = firing if a.get("exp_alerts") else quiet
                target.setdefault(a["alertname"], []).append(os.path.basename(t))
                for e in a.get("exp_alerts") or []:
                    check(e.get("exp_annotations"), f"{os.path.basename(t)}: {a['alertname']} at {a['eval_time']} asserts rendered annotations")
    names = alert_names()
    for n in names:
        check(n in firing, f"{n}: a test case where it fires")
        if n in ALWAYS_FIRING:
            print(f"NOTE: {n} is always firing by design; no quiet case")
        else:
            check(n in quiet, f"{n}: a test case where it stays quiet")
    for n in sorted(set(firing) | set(quiet)):
        check(n in names, f"tested alert {n} exists in alerts/*.yml")
    return finish()


# ----------------------------------------------------------------------- runbooks
def cmd_runbooks():
    names = set(alert_names())
    files = {os.path.basename(f)[:-3] for f in glob.glob(os.path.join(ROOT, "runbooks", "*.md"))} - {"README"}
    for n in sorted(names):
        check(n in files, f"{n}: runbooks/{n}.md exists")
    for f in sorted(files):
        check(f in names, f"runbooks/{f}.md belongs to an alert")
    uids = dashboard_uids()
    for f in sorted(files & names):
        text = open(os.path.join(ROOT, "runbooks", f + ".md")).read()
        heads = re.findall(r"^## (.+?)\s*$", text, re.M)
        check(heads[:5] == SECTIONS, f"{f}.md: sections {', '.join(SECTIONS)} in order (got {heads})")
        check(re.match(rf"# {f}\b", text), f"{f}.md: title is the alert name")
        diag = section(text, "Diagnosis")
        m = re.findall(r"/d/([a-z0-9-]+)", diag)
        check(m and all(u in uids for u in m), f"{f}.md: Diagnosis links an existing dashboard")
        check("```promql" in diag, f"{f}.md: Diagnosis gives PromQL")
        check("kubectl " in diag, f"{f}.md: Diagnosis gives kubectl commands")
        if f not in ALWAYS_FIRING:
            check("helm rollback task-manager" in section(text, "Mitigation"), f"{f}.md: Mitigation covers helm rollback task-manager")
        check(section(text, "Escalation").strip(), f"{f}.md: Escalation is filled in")
        for problem in image_cannot_run(text):
            check(False, f"{f}.md: {problem}")
    return finish()


# The image is distroless: one binary, no shell, no wget/curl/psql. The database is private
# (reachable from the cluster only) and the autoscaler owns the replica count.
IMAGE_BINARY = "/usr/local/bin/task-manager"


def image_cannot_run(text):
    """Commands in a runbook that cannot work against the deployed image or cluster."""
    problems = []
    for line in text.splitlines():
        for m in re.finditer(r"kubectl\b[^`|;]*?\bexec\b[^`|;]*?--\s+(\S+)", line):
            if m.group(1) != IMAGE_BINARY:
                problems.append(f"`kubectl exec ... -- {m.group(1)}`: the distroless image has only {IMAGE_BINARY} "
                                "(use `kubectl debug --target`)")
        if re.search(r"kubectl\b[^`|;]*\blogs\s+(deploy|deployment)/", line):
            problems.append("`kubectl logs deploy/...` reads one pod (use `-l app.kubernetes.io/name=task-manager --prefix`)")
        if re.search(r"kubectl\b[^`|;]*\bscale\b", line):
            problems.append("`kubectl scale` fights the autoscaler (patch the HPA's minReplicas)")
        if re.search(r"(^|[\s`;(])psql\s+\"?\$DATABASE_URL", line) and "sh -c" not in line:
            problems.append("`psql $DATABASE_URL` from a laptop cannot reach the private database (use a `kubectl run` pod)")
    return problems


def section(text, name):
    m = re.search(rf"^## {name}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


# --------------------------------------------------------------------- dashboards
def substitute(expr):
    for k in sorted(GRAFANA_VARS, key=len, reverse=True):
        expr = expr.replace(k, GRAFANA_VARS[k])
    return expr


def selectors(ast):
    import promql_parser as pp
    found = []

    def visit(node):
        if isinstance(node, pp.VectorSelector):
            found.append(node)
        return True

    pp.walk(ast, visit)
    return found


def queries():
    """(dashboard file, panel or annotation title, raw expr)."""
    out = []
    for f, d in dashboards().items():
        for p in d.get("panels", []):
            for t in p.get("targets", []):
                out.append((f, p.get("title", "?"), t.get("expr", "")))
        for a in d.get("annotations", {}).get("list", []):
            if a.get("expr"):
                out.append((f, "annotation " + a["name"], a["expr"]))
    return out


LINT_EXCLUSIONS = os.path.join(ROOT, "tests", "monitoring", "dashboard-lint-exclusions.yaml")


def lint_violations():
    """The Grafana dashboard linter's target rules: every selector filters job=~"$job" and
    instance=~"$instance" (so the dashboard's variables apply to every panel). Returns
    {(dashboard, title): [rule, ...]}."""
    import promql_parser as pp
    marked = {"$job": "__JOB__", "${job}": "__JOB__", "$instance": "__INSTANCE__", "${instance}": "__INSTANCE__"}
    out = {}
    for f, title, expr in queries():
        e = expr
        for k in sorted(marked, key=len, reverse=True):
            e = e.replace(k, marked[k])
        try:
            ast = pp.parse(substitute(e))
        except Exception:  # noqa: BLE001 - parse errors are reported by cmd_dashboards
            continue
        rules = set()
        for s in selectors(ast):
            ms = {m.name: m.value for m in s.matchers.matchers}
            if ms.get("job") != "__JOB__":
                rules.add("target-job-rule")
            if ms.get("instance") != "__INSTANCE__":
                rules.add("target-instance-rule")
        if rules:
            out[(f, title)] = sorted(rules)
    return out


def cmd_lint():
    """Grafana dashboard linter rules, with a documented exclusion file for queries that
    cannot carry the variables (recording rules, kube-state-metrics, annotations)."""
    import yaml
    doc = yaml.safe_load(open(LINT_EXCLUSIONS))
    excluded = {}
    for e in doc["exclusions"]:
        check(e.get("reason"), f"exclusion {e.get('dashboard')} / {e.get('panel')} gives a reason")
        excluded[(e["dashboard"], e["panel"])] = set(e["rules"])
    found = lint_violations()
    for key, rules in sorted(found.items()):
        missing = set(rules) - excluded.get(key, set())
        check(not missing, f"{key[0]} / {key[1]}: passes {', '.join(sorted(missing)) or 'the linter rules'}")
    for key in sorted(set(excluded) - set(found)):
        check(False, f"exclusion {key[0]} / {key[1]} is stale (the query passes now): remove it")
    check(found, f"{len(found)} excluded queries, {len(queries()) - len(found)} pass every target rule")
    return finish()


def cmd_dashboards():
    import promql_parser as pp
    ds = dashboards()
    check(len(ds) == 5, f"five dashboards (found {len(ds)})")
    uids = [d.get("uid") for d in ds.values()]
    check(len(uids) == len(set(uids)) and all(uids), f"dashboard uids unique and set: {uids}")
    runbooks = {os.path.basename(f)[:-3] for f in glob.glob(os.path.join(ROOT, "runbooks", "*.md"))}
    known = service_metrics() | recorded_names() | set(external_metrics())
    svc = service_metrics()
    for f, d in ds.items():
        check(d.get("schemaVersion") == 39, f"{f}: schemaVersion pinned to 39")
        check("task-manager" in d.get("tags", []), f"{f}: tagged task-manager (dashboard links use the tag)")
        var = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
        check(var.get("datasource", {}).get("type") == "datasource" and var["datasource"].get("query") == "prometheus",
              f"{f}: datasource template variable of type prometheus")
        check({"job", "namespace", "instance"} <= set(var), f"{f}: job, namespace and instance variables")
        links = d.get("links", [])
        check(any(l.get("type") == "dashboards" and "task-manager" in l.get("tags", []) for l in links), f"{f}: links to the other dashboards")
        check(any(l.get("url", "").startswith(RUNBOOK_BASE) for l in links), f"{f}: links to the runbooks")
        bad_panels, bad_ds, bad_links = [], [], []
        for p in d.get("panels", []):
            if p.get("type") == "row":
                continue
            unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
            if not unit or not p.get("description"):
                bad_panels.append(p.get("title"))
            if p.get("datasource", {}).get("uid") != "${datasource}" or any(
                    t.get("datasource", {}).get("uid") != "${datasource}" for t in p.get("targets", [])):
                bad_ds.append(p.get("title"))
            for l in p.get("links", []):
                m = re.fullmatch(re.escape(RUNBOOK_BASE) + r"(\w+)\.md", l.get("url", ""))
                if not m or m.group(1) not in runbooks:
                    bad_links.append(l.get("url"))
        check(not bad_panels, f"{f}: every panel has a unit and a description {bad_panels or ''}")
        check(not bad_ds, f"{f}: every panel and target uses the datasource variable {bad_ds or ''}")
        check(not bad_links, f"{f}: panel runbook links point at existing runbooks {bad_links or ''}")
    for f, title, expr in queries():
        where = f"{f} / {title}"
        try:
            ast = pp.parse(substitute(expr))
        except Exception as e:  # noqa: BLE001 - any parse error is a failure
            check(False, f"{where}: parses as PromQL ({e}): {expr}")
            continue
        ranges = re.findall(r"\b(?:rate|irate)\s*\([^\[\]]*\[([^\]]+)\]", expr)
        names = {s.name for s in selectors(ast) if s.name}
        unknown = sorted(n for n in names if n not in known)
        nojob = sorted({s.name for s in selectors(ast) if s.name in svc and not any(
            m.name == "job" for m in s.matchers.matchers)})
        ok = all(r == "$__rate_interval" for r in ranges) and not unknown and not nojob and names
        check(ok, f"{where}: parses, rate() over $__rate_interval, known metrics, job matcher on service metrics"
              + (f" (ranges {ranges}, unknown {unknown}, no job matcher {nojob})" if not ok else ""))
    return finish()


def cmd_docs():
    text = open(os.path.join(ROOT, "docs", "monitoring.md")).read()
    for n in sorted({l.split()[0] for l in open(os.path.join(ROOT, "tests", "monitoring", "external-metrics.txt"))
                     if l.strip() and not l.startswith("#")}):
        check(f"`{n}`" in text, f"docs/monitoring.md lists external metric {n}")
    for n in alert_names():
        check(n in text, f"docs/monitoring.md mentions alert {n}")
    return finish()


def cmd_queries():
    """JSON lines: {dashboard, title, expr (substituted), skip (reason or null)}."""
    ext = external_metrics()
    import promql_parser as pp
    for f, title, expr in queries():
        q = substitute(expr)
        names = {s.name for s in selectors(pp.parse(q)) if s.name}
        skip = sorted({f"{n} ({ext[n]})" for n in names if n in ext and ext[n] != "prometheus"})
        print(json.dumps({"dashboard": f, "title": title, "expr": q, "skip": skip}))
    return 0


def finish():
    failed = results.count(False)
    print(f"-- {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    cmds = {"alerts": cmd_alerts, "coverage": cmd_coverage, "runbooks": cmd_runbooks,
            "dashboards": cmd_dashboards, "docs": cmd_docs, "queries": cmd_queries, "lint": cmd_lint}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__)
        sys.exit(2)
    sys.exit(cmds[sys.argv[1]]())
