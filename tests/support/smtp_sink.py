"""A real SMTP server for the tests and the chaos lab (aiosmtpd): accepts every message
on HOST:PORT (HOST defaults to 127.0.0.1) and writes each one, as received, to
OUTDIR/<n>.eml (written under a temporary name, then renamed, so a reader never sees
half a message).

Usage: python smtp_sink.py PORT OUTDIR [HOST]
"""
import os
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, outdir):
        self.outdir = outdir
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            name = f"{time.time_ns()}"
            tmp = os.path.join(self.outdir, name + ".tmp")
            with open(tmp, "wb") as f:
                f.write(("X-Envelope-To: " + ",".join(envelope.rcpt_tos) + "\r\n").encode())
                f.write(envelope.original_content or envelope.content)
            os.rename(tmp, os.path.join(self.outdir, name + ".eml"))
        return "250 OK kept"


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    os.makedirs(outdir, exist_ok=True)
    controller = Controller(Keep(outdir), hostname=host, port=port)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
