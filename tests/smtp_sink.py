"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1 and a free port. The
``smtp``, ``mail_app`` and ``deliver`` fixtures in ``tests/conftest.py`` start it."""
from __future__ import annotations

import asyncio
import email
import email.policy
import threading

from aiosmtpd.controller import Controller

from harness.servers import free_port


class Sink:
    """Collects every message the server accepts; may be made slow, or hold its answer
    until ``released`` is set (at most ``hold_limit`` seconds). ``events`` records, in
    order, "accepted" for each message (tests add their own events beside it)."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.events: list[str] = []
        self.delay = 0.0
        self.hold, self.hold_limit = False, 10.0
        self.released = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold:
            for _ in range(int(self.hold_limit * 100)):
                if self.released.is_set():
                    break
                await asyncio.sleep(0.01)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.events.append("accepted")
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    """Start, stop and restart (on the same port) an aiosmtpd server."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sink = Sink()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
