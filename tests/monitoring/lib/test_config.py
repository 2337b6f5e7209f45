#!/usr/bin/env python3
"""Writes a test copy of an Alertmanager configuration: same routes, receivers, time
intervals and inhibition rules, but every webhook points at the local sink
(http://127.0.0.1:HTTP/<receiver>) without credentials, mail goes to the local SMTP sink
without TLS or auth, and grouping waits are short.

SRC is alerts/alertmanager.yml (templates from alerts/templates/) or the deployed copy,
helm/kube-prometheus-stack-values.yaml (alertmanager.config and alertmanager.templateFiles).

Usage: test_config.py SRC DST HTTP_PORT SMTP_PORT [--mutes=never|always]
  Mute time intervals are kept as deployed unless --mutes says otherwise:
  --mutes=never   routes mute nothing (a test's result must not depend on the hour);
  --mutes=always  every mute interval covers every day and hour (proves what it mutes).
"""
import glob
import os
import sys

import yaml

args = [a for a in sys.argv[1:] if not a.startswith("--")]
src, dst, http_port, smtp_port = args
mutes = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--mutes=")), "as-deployed")
dst_dir = os.path.dirname(os.path.abspath(dst))
os.makedirs(os.path.join(dst_dir, "templates"), exist_ok=True)

doc = yaml.safe_load(open(src))
if "alertmanager" in doc:  # the kube-prometheus-stack values: the deployed configuration
    cfg = doc["alertmanager"]["config"]
    templates = doc["alertmanager"].get("templateFiles", {})
else:
    cfg = doc
    templates = {os.path.basename(p): open(p).read()
                 for p in glob.glob(os.path.join(os.path.dirname(os.path.abspath(src)), "templates", "*.tmpl"))}
for name, text in templates.items():
    with open(os.path.join(dst_dir, "templates", name), "w") as f:
        f.write(text)
cfg["templates"] = [os.path.join(dst_dir, "templates", "*.tmpl")]

g = cfg["global"]
g["smtp_smarthost"] = f"127.0.0.1:{smtp_port}"
g["smtp_require_tls"] = False
for k in ("smtp_auth_username", "smtp_auth_password", "smtp_auth_password_file"):
    g.pop(k, None)
for r in cfg["receivers"]:
    for w in r.get("webhook_configs", []):
        w["url"] = f"http://127.0.0.1:{http_port}/{r['name']}"
        w.pop("http_config", None)


def shorten(route):
    for k, v in (("group_wait", "1s"), ("group_interval", "2s"), ("repeat_interval", "1m")):
        if k in route or route is cfg["route"]:
            route[k] = v
    for child in route.get("routes", []):
        shorten(child)


shorten(cfg["route"])


def routes(route):
    yield route
    for child in route.get("routes", []):
        yield from routes(child)


if mutes == "never":
    for r in routes(cfg["route"]):
        r.pop("mute_time_intervals", None)
elif mutes == "always":
    for ti in cfg.get("time_intervals", []):
        ti["time_intervals"] = [{"times": [{"start_time": "00:00", "end_time": "24:00"}]}]
yaml.safe_dump(cfg, open(dst, "w"), sort_keys=False)
