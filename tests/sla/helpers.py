"""The SLA tests' small world is seen on Monday 23 November 2026 (UTC), at 10:00."""
from __future__ import annotations

from datetime import datetime, timezone

MONDAY = datetime(2026, 11, 23, tzinfo=timezone.utc)
LOOKED_AT = MONDAY.replace(hour=10)
