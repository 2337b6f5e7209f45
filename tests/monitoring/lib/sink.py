#!/usr/bin/env python3
"""Notification sink for the monitoring tests: an HTTP webhook receiver and an SMTP
server that append what they receive, one JSON object per line, to OUT/webhook.jsonl
and OUT/mail.jsonl.

Usage: sink.py --http PORT --smtp PORT --out DIR   (runs until killed)
"""
import argparse
import email
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

lock = threading.Lock()


def append(path, obj):
    with lock, open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--http", type=int, required=True)
    ap.add_argument("--smtp", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    hooks, mails = os.path.join(args.out, "webhook.jsonl"), os.path.join(args.out, "mail.jsonl")

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                payload = json.loads(body)
            except ValueError:
                payload = body.decode(errors="replace")
            append(hooks, {"path": self.path, "payload": payload})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    class Mail:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
            msg = email.message_from_bytes(envelope.content)
            parts = {}
            for part in msg.walk():
                if not part.is_multipart():
                    parts[part.get_content_type()] = part.get_payload(decode=True).decode(errors="replace")
            append(mails, {"to": envelope.rcpt_tos, "subject": msg.get("Subject", ""), "parts": parts})
            return "250 OK"

    smtp = Controller(Mail(), hostname="127.0.0.1", port=args.smtp)
    smtp.start()
    ThreadingHTTPServer(("127.0.0.1", args.http), Hook).serve_forever()


if __name__ == "__main__":
    main()
