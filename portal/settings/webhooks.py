"""Webhook settings (``portal/webhooks``): how long a receiver may take, how deliveries are
retried, when a failing endpoint is switched off, and which addresses it may be at."""
from __future__ import annotations

from portal.settings.declare import FLAG, NETWORKS, NUMBER, WHOLE, Area, Setting, positive

AREA = Area("Webhooks", "deliveries to integrators' endpoints (see \"Webhooks\")", (
    Setting("WEBHOOK_TIMEOUT_SECONDS", "10", "seconds a receiver may take", NUMBER),
    Setting("WEBHOOK_RETRY_BASE_SECONDS", "30", "first retry after this many seconds, "
            "doubling, with jitter", WHOLE),
    Setting("WEBHOOK_RETRY_MAX_SECONDS", "3600", "...at most this long", WHOLE),
    Setting("WEBHOOK_GIVE_UP_HOURS", "24", "a delivery is given up after this long, and an "
            "endpoint failing this long is switched off (the admins are mailed)", NUMBER),
    Setting("WEBHOOK_POLL_SECONDS", "30", "how often the worker looks for due deliveries",
            WHOLE),
    Setting("WEBHOOK_CLAIM_TIMEOUT_SECONDS", "60", "a claim on a delivery not refreshed for "
            "this long (its worker died) is taken over", NUMBER, positive),
    Setting("WEBHOOK_PARALLEL_PER_ENDPOINT", "4", "requests in flight to one endpoint at "
            "once, per worker", WHOLE, positive),
    Setting("WEBHOOK_ROUND_PER_ENDPOINT", "100", "attempts at one endpoint in one round of "
            "a worker at most", WHOLE, positive),
    Setting("WEBHOOK_BREAKER_FAILURES", "5", "after this many failures in a row an endpoint "
            "is left alone (its deliveries wait, spending no attempt)", WHOLE, positive),
    Setting("WEBHOOK_BREAKER_SECONDS", "60", "...for this long, then one delivery tries it; "
            "each failed try doubles the wait, up to `WEBHOOK_RETRY_MAX_SECONDS`", WHOLE,
            positive),
    # Loopback, link-local and metadata addresses are refused regardless, except the
    # networks listed in WEBHOOK_ALLOW_ADDRESSES.
    Setting("WEBHOOK_ALLOW_PRIVATE", "0", "allow receivers at private addresses (10/8, "
            "172.16/12, 192.168/16, fc00::/7, 100.64/10)", FLAG),
    Setting("WEBHOOK_ALLOW_ADDRESSES", "", "networks allowed whatever they are (e.g. "
            "`127.0.0.1/32` for a receiver on this host)", NETWORKS),
))
