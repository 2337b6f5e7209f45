#!/usr/bin/env python3
"""Writes a test copy of alerts/alertmanager.yml: same routes, receivers and inhibition
rules, but every webhook points at the local sink (http://127.0.0.1:HTTP/<receiver>),
mail goes to the local SMTP sink without TLS or auth, and grouping waits are short.

Usage: test_config.py SRC DST HTTP_PORT SMTP_PORT
"""
import shutil
import sys
import os

import yaml

src, dst, http_port, smtp_port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
cfg = yaml.safe_load(open(src))
g = cfg["global"]
g["smtp_smarthost"] = f"127.0.0.1:{smtp_port}"
g["smtp_require_tls"] = False
for k in ("smtp_auth_username", "smtp_auth_password", "smtp_auth_password_file"):
    g.pop(k, None)
for r in cfg["receivers"]:
    for w in r.get("webhook_configs", []):
        w["url"] = f"http://127.0.0.1:{http_port}/{r['name']}"


def shorten(route):
    for k, v in (("group_wait", "1s"), ("group_interval", "2s"), ("repeat_interval", "1m")):
        if k in route or route is cfg["route"]:
            route[k] = v
    for child in route.get("routes", []):
        shorten(child)


shorten(cfg["route"])
os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
shutil.copytree(os.path.join(os.path.dirname(os.path.abspath(src)), "templates"),
                os.path.join(os.path.dirname(os.path.abspath(dst)), "templates"), dirs_exist_ok=True)
yaml.safe_dump(cfg, open(dst, "w"), sort_keys=False)
