"""What a test does when a real component it needs (Chromium, dovecot, podman, Redis, a
private PostgreSQL, Node tools) is not on this machine: under ``CI=true`` it fails, since
CI installs everything; locally it skips and says what is missing."""
from __future__ import annotations

import os

import pytest


def missing(reason: str):
    """Fail under CI, skip (saying why) elsewhere; ``reason`` names the component."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI needs it)")
    pytest.skip(reason)
