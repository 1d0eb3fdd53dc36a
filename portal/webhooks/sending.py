"""One HTTP attempt at a webhook delivery, without the database: what to send
(``Outgoing``, signed beforehand) goes in, what happened (``Outcome``) comes out, so a round
can run many at once on threads that hold no database connection while they wait.

The name is resolved and checked at every attempt (``addresses.resolve``) and the request
goes to the address that was checked; ``WEBHOOK_TIMEOUT_SECONDS`` bounds connecting and
each read; redirects are not followed; the first KB of the answer is kept.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from flask import Flask

from portal.db_types import utcnow
from portal.webhooks import addresses
from portal.webhooks.models import RESPONSE_KEPT

USER_AGENT = "IncidentPortal-Webhooks/1.0"


@dataclass(frozen=True)
class Outgoing:
    """A delivery ready to go: the endpoint's URL, the signed headers, the exact body."""

    delivery_id: int
    url: str
    headers: dict[str, str]
    body: str


@dataclass(frozen=True)
class Outcome:
    """What one attempt found: the receiver's status and first KB, or why there was none."""

    attempted_at: datetime
    status: int | None = None
    body: str | None = None
    #: No answer (a timeout, a refused connection), or an address that may not be called.
    error: str | None = None
    refused: bool = False
    duration_ms: int | None = None
    redirect: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def client(timeout: float) -> httpx.Client:
    """The round's HTTP client (thread-safe; its pool serves every attempt at once)."""
    return httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)


def _read_some(response: httpx.Response) -> str:
    """The first KB of the answer (a receiver cannot make us read more)."""
    kept = b""
    for chunk in response.iter_raw():
        kept += chunk
        if len(kept) >= RESPONSE_KEPT:
            break
    return kept[:RESPONSE_KEPT].decode("utf-8", errors="replace")


def post(app: Flask, http: httpx.Client, outgoing: Outgoing) -> Outcome:
    """Send ``outgoing`` once (in ``app``'s context, for the address rules)."""
    attempted_at = utcnow()
    with app.app_context():
        try:
            target = addresses.resolve(outgoing.url)
        except addresses.AddressRefused as exc:
            return Outcome(attempted_at, error=f"refused: {exc}", refused=True)
    headers = {**outgoing.headers, "content-type": "application/json",
               "user-agent": USER_AGENT, "host": target.host_header}
    extensions = {"sni_hostname": target.host} if target.url.startswith("https:") else {}
    started = time.monotonic()
    try:
        with http.stream("POST", target.url, content=outgoing.body.encode(), headers=headers,
                         extensions=extensions) as response:
            status, body = response.status_code, _read_some(response)
            redirect = response.is_redirect
    except httpx.HTTPError as exc:
        return Outcome(attempted_at, error=f"{type(exc).__name__}: {exc}"[:500],
                       duration_ms=round((time.monotonic() - started) * 1000))
    return Outcome(attempted_at, status=status, body=body, redirect=redirect,
                   duration_ms=round((time.monotonic() - started) * 1000))
