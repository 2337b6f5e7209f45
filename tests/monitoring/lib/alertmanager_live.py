#!/usr/bin/env python3
"""Runs a real Alertmanager with a test copy of the deployed configuration (the
alertmanager.config of helm/kube-prometheus-stack-values.yaml, generated from
alerts/alertmanager.yml) and checks routing, inhibition, mute intervals and the rendered
notifications end to end, with staging, production and a second cluster alerting at once.

Usage: alertmanager_live.py REPO_ROOT [STACK_VALUES]   (default: the repository's stack values)
Prints PASS:/FAIL: lines; exits 1 when a check failed.
"""
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOYED = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "helm", "kube-prometheus-stack-values.yaml")
results = []


def check(ok, what):
    results.append(bool(ok))
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(url, body=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        data = r.read()
        return json.loads(data) if data else None


def until(timeout, fn):
    deadline = time.time() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception:  # noqa: BLE001 - keep polling until the deadline
            pass
        if time.time() > deadline:
            return None
        time.sleep(0.5)


def lines(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip()]


def alert(name, severity, **labels):
    now = dt.datetime.now(dt.timezone.utc)
    lab = {"alertname": name, "severity": severity, "service": "task-manager", "cluster": "eu-1",
           "namespace": "production", **labels}
    lab = {k: v for k, v in lab.items() if v is not None}
    return {
        "labels": lab,
        "annotations": {
            "summary": f"{name} summary",
            "description": f"{name} description value 1.533%",
            "runbook_url": f"https://github.com/task-manager/task-manager/blob/main/runbooks/{name}.md",
            "dashboard_url": "/d/tm-slos",
        },
        "startsAt": now.isoformat(),
        "endsAt": (now + dt.timedelta(minutes=10)).isoformat(),
    }


class Alertmanager:
    """A real Alertmanager with a test copy of the deployed configuration, and the sink."""

    def __init__(self, mutes):
        self.tmp = tempfile.mkdtemp(prefix="tm-am-")
        hp, sp, ap = free_port(), free_port(), free_port()
        cfg = os.path.join(self.tmp, "am", "alertmanager.yml")
        subprocess.run([sys.executable, os.path.join(HERE, "test_config.py"), DEPLOYED, cfg, str(hp), str(sp),
                        f"--mutes={mutes}"], check=True)
        self.procs = [
            subprocess.Popen([sys.executable, os.path.join(HERE, "sink.py"), "--http", str(hp), "--smtp", str(sp),
                              "--out", os.path.join(self.tmp, "sink")],
                             stdout=open(os.path.join(self.tmp, "sink.log"), "w"), stderr=subprocess.STDOUT),
            subprocess.Popen(["prometheus-alertmanager", f"--config.file={cfg}", f"--storage.path={self.tmp}/am/data",
                              f"--web.listen-address=127.0.0.1:{ap}", "--cluster.listen-address=", "--log.level=warn"],
                             stdout=open(os.path.join(self.tmp, "am.log"), "w"), stderr=subprocess.STDOUT),
        ]
        self.base = f"http://127.0.0.1:{ap}"
        self.hooks = os.path.join(self.tmp, "sink", "webhook.jsonl")
        self.mails = os.path.join(self.tmp, "sink", "mail.jsonl")
        self.ready = until(20, lambda: urllib.request.urlopen(self.base + "/-/ready", timeout=2).status == 200)
        if not self.ready:
            print(open(os.path.join(self.tmp, "am.log")).read())

    def post(self, alerts):
        http(self.base + "/api/v2/alerts", alerts)

    def states(self):
        got = http(self.base + "/api/v2/alerts")
        return {key(a["labels"]): a["status"] for a in got}

    def hook_for(self, path, name):
        return [h for h in lines(self.hooks) if h["path"] == path and any(
            a["labels"]["alertname"] == name for a in h["payload"].get("alerts", []))]

    def mail_to(self, addr, text):
        return [m for m in lines(self.mails) if addr in " ".join(m["to"]) and text in m["subject"]]

    def close(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if results.count(False):
            for log in ("am.log", "sink.log"):
                print(f"--- {log}\n" + open(os.path.join(self.tmp, log)).read()[-3000:])
        subprocess.run(["rm", "-rf", self.tmp])


def key(labels):
    return (labels["alertname"], labels.get("cluster", ""), labels.get("namespace", ""), labels.get("service", ""))


def routing_and_isolation():
    am = Alertmanager(mutes="never")
    try:
        check(am.ready, "Alertmanager started with a test copy of the deployed config (kube-prometheus-stack values)")
        if not am.ready:
            return
        alerts = [
            # production and staging of cluster eu-1 at once; staging is down.
            alert("ApiAvailabilityBurnRatePage", "page", slo="api-availability", long_window="1h", short_window="5m"),
            alert("ApiAvailabilityBurnRateTicket", "ticket", slo="api-availability", long_window="1d", short_window="2h"),
            alert("ApiLatencyBurnRateTicket", "ticket", slo="api-latency", long_window="3d", short_window="6h"),
            alert("ReminderTimelinessBurnRatePage", "page", slo="reminder-timeliness"),
            alert("TaskManagerNotReady", "ticket", pod="task-manager-a"),
            alert("TaskManagerDown", "page", namespace="staging"),
            alert("TaskManagerNotReady", "ticket", pod="task-manager-s", namespace="staging"),
            alert("ApiAvailabilityBurnRatePage", "page", slo="api-availability", namespace="staging",
                  long_window="1h", short_window="5m"),
            alert("TaskManagerPodCrashLooping", "ticket", pod="task-manager-s", namespace="staging"),
            # cluster us-1 discovers no target at all (TaskManagerDown without namespace).
            alert("TaskManagerDown", "page", cluster="us-1", namespace=None),
            alert("TaskManagerNotReady", "ticket", pod="task-manager-u", cluster="us-1"),
            alert("Watchdog", "info", namespace=None),
            # the stack's own Watchdog (defaultRules): no service label, another cluster.
            alert("Watchdog", "none", service=None, namespace=None, cluster="us-1"),
        ]
        am.post(alerts)
        want = len({key(a["labels"]) for a in alerts})

        def settled():
            s = am.states()
            k = ("ApiAvailabilityBurnRateTicket", "eu-1", "production", "task-manager")
            return s if len(s) == want and s[k]["inhibitedBy"] else None

        s = until(20, settled) or am.states()

        def inh(name, namespace="production", cluster="eu-1"):
            st = s.get((name, cluster, namespace, "task-manager"), {})
            return bool(st.get("inhibitedBy")) and st.get("state") == "suppressed"

        check(inh("ApiAvailabilityBurnRateTicket"), "page of an SLO inhibits the ticket of the same SLO")
        check(not inh("ApiLatencyBurnRateTicket"), "the ticket of another SLO is not inhibited")
        check(inh("TaskManagerNotReady", "staging") and inh("ApiAvailabilityBurnRatePage", "staging"),
              "staging's TaskManagerDown inhibits staging's symptom alerts (TaskManagerNotReady, SLO burn)")
        check(not inh("ApiAvailabilityBurnRatePage") and not inh("ReminderTimelinessBurnRatePage")
              and not inh("TaskManagerNotReady"),
              "staging's TaskManagerDown inhibits nothing in production (pages and tickets stay active)")
        check(not inh("TaskManagerPodCrashLooping", "staging"), "TaskManagerDown does not inhibit cause alerts (crash loop)")
        check(inh("TaskManagerNotReady", "production", "us-1"),
              "TaskManagerDown without a namespace (no target in the cluster) inhibits its own cluster")
        check(not inh("TaskManagerNotReady", "production", "eu-1"), "... and never another cluster")

        check(until(20, lambda: am.hook_for("/pager", "ApiAvailabilityBurnRatePage")), "page reaches the pager webhook")
        check(until(20, lambda: am.hook_for("/heartbeat", "Watchdog")), "the service's Watchdog reaches the heartbeat webhook")
        beats = [a["labels"] for h in lines(am.hooks) if h["path"] == "/heartbeat" for a in h["payload"].get("alerts", [])]
        check(beats and all(b.get("service") == "task-manager" and b.get("cluster") == "eu-1" for b in beats),
              "another Watchdog (the stack's, no service label) cannot satisfy the service's heartbeat")
        check(not am.hook_for("/pager", "ApiLatencyBurnRateTicket"), "tickets do not reach the pager")

        page_mail = until(20, lambda: am.mail_to("oncall@", "ApiAvailabilityBurnRatePage (production, eu-1)"))
        check(page_mail, "page is e-mailed to the on-call address")
        ticket_mail = until(20, lambda: am.mail_to("tickets@", "ApiLatencyBurnRateTicket"))
        check(ticket_mail, "ticket is e-mailed to the ticket address")
        check(not am.mail_to("tickets@", "ApiAvailabilityBurnRateTicket"), "the inhibited ticket is not e-mailed")
        until(20, lambda: am.mail_to("tickets@", "TaskManagerPodCrashLooping"))
        # Nothing crosses namespaces or clusters: every notification is about one of each.
        mixed = [sorted({(a["labels"].get("cluster"), a["labels"].get("namespace")) for a in h["payload"].get("alerts", [])})
                 for h in lines(am.hooks)]
        check(lines(am.hooks) and all(len(m) == 1 for m in mixed),
              f"every webhook notification holds alerts of one cluster and namespace ({len(mixed)} seen)")
        subjects = [m["subject"] for m in lines(am.mails) if "Watchdog" not in m["subject"]]
        check(subjects and all(s.endswith(("eu-1)", "us-1)")) for s in subjects)
              and not any("production" in s and "staging" in s for s in subjects),
              f"every e-mail names the one namespace and cluster it is about: {subjects}")
        if page_mail:
            m = page_mail[0]
            text = m["parts"].get("text/plain", "")
            html = m["parts"].get("text/html", "")
            check(m["subject"].startswith("[FIRING:1] PAGE ApiAvailabilityBurnRatePage (production, eu-1)"),
                  f"subject is readable: {m['subject']!r}")
            check("Runbook: https://github.com/task-manager/task-manager/blob/main/runbooks/ApiAvailabilityBurnRatePage.md" in text
                  and "Dashboard: https://grafana.example.invalid/d/tm-slos" in text and "value 1.533%" in text,
                  "text body shows description, runbook and dashboard links")
            check('href="https://github.com/task-manager/task-manager/blob/main/runbooks/ApiAvailabilityBurnRatePage.md"' in html,
                  "HTML body links the runbook")
    finally:
        am.close()


def mute_intervals():
    am = Alertmanager(mutes="always")
    try:
        check(am.ready, "Alertmanager started with every mute interval active")
        if not am.ready:
            return
        am.post([alert("ApiLatencyBurnRateTicket", "ticket", slo="api-latency"),
                 alert("ApiAvailabilityBurnRatePage", "page", slo="api-availability")])
        check(until(20, lambda: am.mail_to("oncall@", "ApiAvailabilityBurnRatePage")), "pages are never muted")
        # The ticket was grouped and flushed with the page (group_wait 1s); give it two more
        # group intervals to prove it stays muted.
        time.sleep(5)
        check(not am.mail_to("tickets@", "ApiLatencyBurnRateTicket"), "tickets are muted outside business hours")
    finally:
        am.close()


def main():
    routing_and_isolation()
    mute_intervals()
    return 1 if results.count(False) else 0


if __name__ == "__main__":
    sys.exit(main())
