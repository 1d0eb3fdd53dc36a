"""Worker settings (``portal/worker.py``): how ``manage.py worker`` hears of new work and
how long one round of a job may last before the job looks at its work afresh."""
from __future__ import annotations

from portal.settings.declare import NUMBER, Area, Setting, positive

AREA = Area("Worker", "`manage.py worker`, each job in a thread of its own (see "
            "\"Reliability\")", (
    Setting("WORKER_WAKE_POLL_SECONDS", "0.5", "SQLite: how often `manage.py worker` looks "
            "for new work (PostgreSQL notifies it)", NUMBER, positive),
    Setting("WORKER_ROUND_SECONDS", "15", "a job's round ends after this long (the batch "
            "in hand is finished), and the next begins at once if work is left", NUMBER,
            positive),
))
