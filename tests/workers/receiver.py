"""A local webhook receiver: verifies every signature on its own (plain hmac), and can fail the first N calls."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, *, fail_first: int = 0) -> None:
        self.secret = ""
        self.fail_first = fail_first
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    failing = len(receiver.calls) < receiver.fail_first
                    receiver.calls.append(
                        {
                            "valid": receiver.verify(self.headers.get("X-Alliance-Signature", ""), body),
                            "event": json.loads(body),
                            "status": 500 if failing else 200,
                        }
                    )
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def allow(self, settings) -> None:
        """Let webhooks reach this receiver: its host on the allow-list and its port among the allowed ones."""
        settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
        settings.WEBHOOK_ALLOWED_PORTS = [self.port]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def verify(self, header: str, body: bytes) -> bool:
        """What the README tells integrators to do."""
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        if "t" not in parts or "v1" not in parts or abs(time.time() - int(parts["t"])) > 300:
            return False
        expected = hmac.new(self.secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts["v1"])

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
