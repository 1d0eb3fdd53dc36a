"""A real SMTP server with fault modes, for the delivery tests (aiosmtpd on a free port).

``FaultSmtp.mode`` says how the next message is answered; ``rules`` overrides it per
recipient. Modes: ``accept`` (250), ``421``, ``451``, ``550`` (answered at DATA),
``drop`` (the message is received, then the connection dropped before the answer: the
sender cannot know it arrived), ``drop-every-N`` (every Nth message's connection dropped
before it is received), ``slow`` (``delay`` seconds before 250), ``hold`` (received, then
no answer until released: ``hold(recipient)``, ``release()``). ``silent()`` starts a
plain TCP listener that accepts and never speaks.
Every message received is kept with its ``Message-ID``; events are counted in order.
"""
from __future__ import annotations

import asyncio
import collections
import email
import email.policy
import socket
import threading

from aiosmtpd.controller import Controller

from harness.servers import free_port
from tests.waiting import DEADLINE, wait_until

ANSWERS = {"421": "421 4.3.2 Service not available, closing channel",
           "451": "451 4.3.0 Requested action aborted: try again later",
           "550": "550 5.1.1 Mailbox unavailable"}


class Hold:
    """One held answer: ``reached`` once the message is in, answered after ``release``."""

    def __init__(self) -> None:
        self.reached, self.released = threading.Event(), threading.Event()

    def release(self) -> None:
        self.released.set()


class FaultHandler:
    def __init__(self, server: FaultSmtp) -> None:
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        server = self.server
        recipient = envelope.rcpt_tos[0] if envelope.rcpt_tos else ""
        mode = server.rules.get(recipient, server.mode)
        with server.lock:
            server.data_commands += 1
            number = server.data_commands
        server.events.append(("data", recipient))
        if mode.startswith("drop-every-"):
            if number % int(mode.rsplit("-", 1)[1]) == 0:
                smtp.transport.close()
                return "421 dropped"
            mode = "accept"
        if mode in ANSWERS:
            return ANSWERS[mode]
        if mode == "slow":
            await asyncio.sleep(server.delay)
        if mode == "hold":
            # Received (queued, as a real server would) but not yet answered: a sender
            # that dies or times out now cannot know that it arrived.
            server.received(envelope)
            hold = server.holds.get(recipient) or server.default_hold
            hold.reached.set()
            while not hold.released.is_set():
                await asyncio.sleep(0.01)
            return "250 Message accepted for delivery"
        server.received(envelope)
        if mode == "drop":
            smtp.transport.close()
            return "421 dropped"
        return "250 Message accepted for delivery"


class FaultSmtp:
    """Start, stop and restart (same port) an aiosmtpd server with fault modes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mode = "accept"
        self.rules: dict[str, str] = {}
        self.delay = 0.0
        self.messages: list[email.message.EmailMessage] = []
        self.events: list[tuple[str, str]] = []
        self.data_commands = 0
        self.lock = threading.Lock()
        self.default_hold = Hold()
        self.holding = self.default_hold.reached
        self.holds: dict[str, Hold] = {}
        self.controller: Controller | None = None
        self._silent: socket.socket | None = None
        self.silent_connections: list[socket.socket] = []

    def received(self, envelope) -> None:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        self.events.append(("accepted", message["Message-ID"]))

    def hold(self, recipient: str) -> Hold:
        """Hold the answer to the next message for ``recipient`` (received, unanswered)."""
        self.holds[recipient] = Hold()
        self.rules[recipient] = "hold"
        return self.holds[recipient]

    def release(self) -> None:
        """Answer every held message (and any held later)."""
        self.default_hold.release()
        for hold in self.holds.values():
            hold.release()

    def start(self) -> FaultSmtp:
        self.controller = Controller(FaultHandler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.release()
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        if self._silent is not None:
            self._silent.close()
            for connection in self.silent_connections:
                connection.close()
            self._silent = None

    def silent(self) -> FaultSmtp:
        """Listen on the port, accept connections and never answer (no greeting)."""
        self._silent = socket.create_server(("127.0.0.1", self.port))

        def accept() -> None:
            while True:
                try:
                    connection, _ = self._silent.accept()
                except OSError:
                    return
                self.silent_connections.append(connection)
        threading.Thread(target=accept, daemon=True).start()
        return self

    def copies(self) -> collections.Counter:
        """How many times each Message-ID arrived."""
        with self.lock:
            return collections.Counter(m["Message-ID"] for m in self.messages)

    def wait_for(self, count: int, timeout: float = DEADLINE) -> bool:
        """Wait until ``count`` messages arrived (a bound, not a measurement)."""
        return wait_until(lambda: len(self.messages) >= count, timeout, interval=0.02)
