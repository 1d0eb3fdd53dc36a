"""General settings: which environment runs, the portal's address and zone, and its log."""
from __future__ import annotations

from portal.settings.declare import PROJECT_ROOT, TEXT, ZONE, Area, Setting, Type

AREA = Area("General", "which environment runs, where the portal is, its log", (
    # load_config reads APP_ENV itself (overrides may name it) and refuses unknown ones.
    Setting("APP_ENV", "development",
            "`production` refuses to start without real `SECRET_KEY` and "
            "`SECURITY_PASSWORD_SALT`; `testing` is the test suite's",
            Type("development, production or testing", str, blank_is_default=False)),
    Setting("PORTAL_BASE_URL", "http://127.0.0.1:5000",
            "the portal's public address: every link in mail is built from it",
            Type("URL", lambda raw: raw.rstrip("/"), blank_is_default=False)),
    Setting("PORTAL_TIMEZONE", "UTC",
            "the zone pages show times in (named beside them); stored times stay UTC", ZONE),
    Setting("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR",
            Type("text", str.upper, blank_is_default=False)),
    Setting("LOG_DIR", lambda read: str(PROJECT_ROOT / "logs"),
            "where the rotating `incident_portal.log` goes (empty: stdout only)", TEXT,
            shown="`logs` in the project"),
))
