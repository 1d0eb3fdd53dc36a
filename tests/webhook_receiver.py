"""A real HTTP receiver for webhook tests, on loopback, that checks every delivery's
signature with ``standardwebhooks`` — the package of the specification's authors, not our
code.

``Receiver().start()`` listens on a free port (or ``port``, to come back where it was);
``answers`` is a list of status codes to give, in order (then 200); ``redirect_to`` makes
every answer a 302 to that URL. ``received`` holds each request as ``Request``;
``stop()`` closes the port, so deliveries meanwhile find nobody there.

``hang()`` makes it a receiver that hangs: each request is read, then left unanswered
until ``release()`` (``holding`` is set once one waits). ``events`` records, in order,
"held" and "answered" for each request (tests add their own events beside them).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> dict:
        """The payload, when the signature holds under ``secret``; raises otherwise."""
        return Webhook(secret).verify(self.body.decode(), self.headers)

    def signed_by(self, secret: str) -> bool:
        try:
            self.verified(secret)
        except WebhookVerificationError:
            return False
        return True

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.answers: list[int] = []
        self.redirect_to: str | None = None
        self.received: list[Request] = []
        self.events: list[str] = []
        self.holding = threading.Event()
        self._hanging = False
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def hang(self) -> Receiver:
        """Leave every request unanswered from now until ``release``."""
        self._released.clear()
        self._hanging = True
        return self

    def release(self) -> None:
        """Answer the held requests and those that come after."""
        self._hanging = False
        self._released.set()

    def _hold(self) -> None:
        if not self._hanging:
            return
        self.events.append("held")
        self.holding.set()
        # A bound for a broken run, not a measurement: a test releases it long before.
        self._released.wait(120)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Request(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                receiver._hold()
                if receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                else:
                    self.send_response(status)
                reply = b'{"ok": true}' if status < 300 else b"receiver says no " * 200
                self.send_header("Content-Length", str(len(reply)))
                try:
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:  # the sender gave up waiting
                    receiver.events.append("sender gone")
                    return
                receiver.events.append("answered")

            def log_message(self, *_args):  # keep the test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return True
            time.sleep(0.05)
        return len(self.received) >= count

    def types(self) -> list[str]:
        return [request.payload["type"] for request in self.received]
