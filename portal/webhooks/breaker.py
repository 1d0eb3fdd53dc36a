"""Each webhook endpoint's circuit breaker, kept on its row so that every worker sees it.

- **Closed** while attempts succeed: every failed attempt counts
  (``consecutive_failures``), a success resets the count.
- **Open** after ``WEBHOOK_BREAKER_FAILURES`` failures in a row: no worker tries the
  endpoint, nor reads its backlog, until ``breaker_open_until``
  (``WEBHOOK_BREAKER_SECONDS``). Its deliveries wait without spending attempts.
- **Half-open** once that moment has passed: one worker takes the one trial
  (``take_trial``, which moves the moment on first, so no other worker tries meanwhile);
  a success closes the breaker, a failure opens it again for twice as long, up to
  ``WEBHOOK_RETRY_MAX_SECONDS``.

An admin switching the endpoint on again, or changing its URL, closes it (``reset``).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from portal.db_types import utcnow
from portal.extensions import db
from portal.webhooks.models import WebhookEndpoint

log = logging.getLogger(__name__)


def limit() -> int:
    return current_app.config["WEBHOOK_BREAKER_FAILURES"]


def not_open(now: datetime):
    """The condition of an endpoint that may be tried at ``now`` (closed or half-open)."""
    return or_(WebhookEndpoint.breaker_open_until.is_(None),
               WebhookEndpoint.breaker_open_until <= now)


def tripped(endpoint: WebhookEndpoint) -> bool:
    """Whether the endpoint failed often enough that only a trial may try it."""
    return endpoint.consecutive_failures >= limit()


def attempts_left(endpoint: WebhookEndpoint) -> int:
    """How many more failures a closed breaker takes before it opens (at least 1)."""
    return max(1, limit() - endpoint.consecutive_failures)


def open_for(failures: int) -> timedelta:
    """How long the breaker stays open after ``failures`` failures in a row."""
    config = current_app.config
    seconds = config["WEBHOOK_BREAKER_SECONDS"] * 2 ** max(failures - limit(), 0)
    return timedelta(seconds=min(seconds, max(config["WEBHOOK_RETRY_MAX_SECONDS"],
                                              config["WEBHOOK_BREAKER_SECONDS"])))


def take_trial(endpoint: WebhookEndpoint) -> bool:
    """Claim the one trial of a half-open breaker; commits. False when the breaker is
    open, or another worker took the trial first."""
    now = utcnow()
    taken = db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.consecutive_failures >= limit(),
               not_open(now))
        .values(breaker_open_until=now + open_for(endpoint.consecutive_failures))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return taken == 1


def give_back_trial(endpoint: WebhookEndpoint) -> None:
    """The trial found nothing to send: the next round may try again at once; commits."""
    db.session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)
                       .values(breaker_open_until=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.commit()


def record(endpoint: WebhookEndpoint, *, succeeded: bool) -> None:
    """Count one attempt's outcome (atomically, beside other workers' counts); the caller
    commits."""
    table = WebhookEndpoint
    if succeeded:
        db.session.execute(update(table).where(table.id == endpoint.id)
                           .values(consecutive_failures=0, breaker_open_until=None)
                           .execution_options(synchronize_session=False))
        return
    failures = db.session.scalar(
        update(table).where(table.id == endpoint.id)
        .values(consecutive_failures=table.consecutive_failures + 1)
        .returning(table.consecutive_failures).execution_options(synchronize_session=False))
    if failures is not None and failures >= limit():
        until = utcnow() + open_for(failures)
        db.session.execute(update(table).where(table.id == endpoint.id)
                           .values(breaker_open_until=until)
                           .execution_options(synchronize_session=False))
        log.warning("webhook endpoint %s failed %d times in a row: left alone until %s",
                    endpoint.id, failures, until.isoformat())


def state(endpoint_id: int) -> tuple[int, datetime | None]:
    """The stored count and open-until moment (read afresh)."""
    return tuple(db.session.execute(
        select(WebhookEndpoint.consecutive_failures, WebhookEndpoint.breaker_open_until)
        .where(WebhookEndpoint.id == endpoint_id)).one())


def reset(endpoint: WebhookEndpoint) -> None:
    """Close the breaker (an admin switched the endpoint on, or gave it a new URL)."""
    endpoint.consecutive_failures = 0
    endpoint.breaker_open_until = None
