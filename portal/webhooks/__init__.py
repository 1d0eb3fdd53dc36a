"""Webhooks: other systems told of incident changes, by signed HTTP POSTs.

- ``events``: which change is which event type (``incident.assigned``, ...), declared once;
- ``models``: the endpoints admins register and one delivery row per event and endpoint;
- ``hooks``: session hooks that write those rows in the transaction of the change;
- ``signing``: the Standard Webhooks signature, and the secrets (kept encrypted);
- ``addresses``: where a delivery may go (no loopback, link-local or metadata addresses);
- ``deliver``: the worker's job that sends them, retries, and disables dead endpoints;
- ``service``: what the portal and the API do to endpoints (create, rotate, test, resend).
"""
