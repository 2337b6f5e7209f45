#!/usr/bin/env python3
"""Runs a real Alertmanager with a test copy of alerts/alertmanager.yml and checks routing,
inhibition and the rendered notifications end to end.

Usage: alertmanager_live.py REPO_ROOT
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
    lab = {"alertname": name, "severity": severity, "service": "task-manager", "namespace": "prod", **labels}
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


def main():
    tmp = tempfile.mkdtemp(prefix="tm-am-")
    hp, sp, ap = free_port(), free_port(), free_port()
    cfg = os.path.join(tmp, "am", "alertmanager.yml")
    subprocess.run([sys.executable, os.path.join(HERE, "test_config.py"), os.path.join(ROOT, "alerts", "alertmanager.yml"),
                    cfg, str(hp), str(sp)], check=True)
    procs = []
    try:
        procs.append(subprocess.Popen([sys.executable, os.path.join(HERE, "sink.py"), "--http", str(hp), "--smtp", str(sp),
                                       "--out", os.path.join(tmp, "sink")], stdout=open(os.path.join(tmp, "sink.log"), "w"),
                                      stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen(["prometheus-alertmanager", f"--config.file={cfg}", f"--storage.path={tmp}/am/data",
                                       f"--web.listen-address=127.0.0.1:{ap}", "--cluster.listen-address=", "--log.level=warn"],
                                      stdout=open(os.path.join(tmp, "am.log"), "w"), stderr=subprocess.STDOUT))
        base = f"http://127.0.0.1:{ap}"
        ready = until(20, lambda: urllib.request.urlopen(base + "/-/ready", timeout=2).status == 200)
        check(ready, f"Alertmanager started on 127.0.0.1:{ap} with the test copy of alerts/alertmanager.yml")
        if not ready:
            print(open(os.path.join(tmp, "am.log")).read())
            return 1
        alerts = [
            alert("ApiAvailabilityBurnRatePage", "page", slo="api-availability", long_window="1h", short_window="5m"),
            alert("ApiAvailabilityBurnRateTicket", "ticket", slo="api-availability", long_window="1d", short_window="2h"),
            alert("ApiLatencyBurnRateTicket", "ticket", slo="api-latency", long_window="3d", short_window="6h"),
            # namespace "eu" is down: its symptoms are inhibited, its causes are not.
            alert("TaskManagerDown", "page", namespace="eu"),
            alert("TaskManagerNotReady", "ticket", pod="task-manager-a", namespace="eu"),
            alert("ReminderTimelinessBurnRatePage", "page", slo="reminder-timeliness", namespace="eu"),
            alert("TaskManagerPodCrashLooping", "ticket", pod="task-manager-a", namespace="eu"),
            alert("TaskManagerNotReady", "ticket", pod="task-manager-x", namespace="staging"),
            alert("Watchdog", "info"),
        ]
        alerts[-1]["labels"].pop("namespace")
        http(base + "/api/v2/alerts", alerts)

        def states():
            got = http(base + "/api/v2/alerts")
            return {(a["labels"]["alertname"], a["labels"].get("namespace", "")): a["status"] for a in got}

        def settled():
            s = states()
            return s if len(s) == len(alerts) and s[("ApiAvailabilityBurnRateTicket", "prod")]["inhibitedBy"] else None

        s = until(20, settled) or states()
        inh = lambda k: bool(s.get(k, {}).get("inhibitedBy")) and s[k].get("state") == "suppressed"
        check(inh(("ApiAvailabilityBurnRateTicket", "prod")), "page of an SLO inhibits the ticket of the same SLO")
        check(not inh(("ApiLatencyBurnRateTicket", "prod")), "the ticket of another SLO is not inhibited")
        check(inh(("TaskManagerNotReady", "eu")) and inh(("ReminderTimelinessBurnRatePage", "eu")),
              "TaskManagerDown inhibits symptom alerts (TaskManagerNotReady, SLO burn) in its namespace")
        check(not inh(("TaskManagerNotReady", "staging")), "TaskManagerDown does not inhibit another namespace")
        check(not inh(("TaskManagerPodCrashLooping", "eu")), "TaskManagerDown does not inhibit cause alerts (crash loop)")
        check(not inh(("ApiAvailabilityBurnRatePage", "prod")), "the page itself stays active")

        hooks = os.path.join(tmp, "sink", "webhook.jsonl")
        mails = os.path.join(tmp, "sink", "mail.jsonl")

        def hook_for(path, name):
            return [h for h in lines(hooks) if h["path"] == path and any(
                a["labels"]["alertname"] == name for a in h["payload"].get("alerts", []))]

        check(until(20, lambda: hook_for("/pager", "ApiAvailabilityBurnRatePage")), "page reaches the pager webhook")
        check(until(20, lambda: hook_for("/heartbeat", "Watchdog")), "Watchdog reaches the heartbeat webhook")
        check(not hook_for("/pager", "ApiLatencyBurnRateTicket"), "tickets do not reach the pager")

        def mail_to(addr, text):
            return [m for m in lines(mails) if addr in " ".join(m["to"]) and text in m["subject"]]

        page_mail = until(20, lambda: mail_to("oncall@", "ApiAvailabilityBurnRatePage"))
        check(page_mail, "page is e-mailed to the on-call address")
        ticket_mail = until(20, lambda: mail_to("tickets@", "ApiLatencyBurnRateTicket"))
        check(ticket_mail, "ticket is e-mailed to the ticket address")
        check(not mail_to("tickets@", "ApiAvailabilityBurnRateTicket"), "the inhibited ticket is not e-mailed")
        if page_mail:
            m = page_mail[0]
            text = m["parts"].get("text/plain", "")
            html = m["parts"].get("text/html", "")
            check(m["subject"].startswith("[FIRING:1] PAGE ApiAvailabilityBurnRatePage (prod)"), f"subject is readable: {m['subject']!r}")
            check("Runbook: https://github.com/task-manager/task-manager/blob/main/runbooks/ApiAvailabilityBurnRatePage.md" in text
                  and "Dashboard: https://grafana.example.invalid/d/tm-slos" in text and "value 1.533%" in text,
                  "text body shows description, runbook and dashboard links")
            check('href="https://github.com/task-manager/task-manager/blob/main/runbooks/ApiAvailabilityBurnRatePage.md"' in html,
                  "HTML body links the runbook")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["rm", "-rf", tmp])
    return 1 if results.count(False) else 0


if __name__ == "__main__":
    sys.exit(main())
