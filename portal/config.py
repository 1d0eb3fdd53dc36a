"""Configuration read from the environment (and ``.env`` when present).

``Config`` holds what every environment shares; ``TestingConfig`` and ``ProductionConfig``
adjust it. ``load_config`` picks the class from ``APP_ENV`` and refuses, in production, to
run with a missing or example ``SECRET_KEY`` / ``SECURITY_PASSWORD_SALT``.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"

#: Values shipped in ``.env.example``; production refuses to run with them.
EXAMPLE_SECRETS = {
    "SECRET_KEY": "change-me-to-a-long-random-string",
    "SECURITY_PASSWORD_SALT": "change-me-to-another-long-random-string",
}
REQUIRED_SECRETS = tuple(EXAMPLE_SECRETS)
#: The test suite's fixed secrets (servers it starts use them too, so hashes match).
TESTING_SECRET_KEY = "testing-secret-key"
TESTING_PASSWORD_SALT = "testing-salt"

log = logging.getLogger(__name__)


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message names the key to fix."""


def _flag(environ: Mapping[str, str], key: str, default: bool) -> bool:
    value = environ.get(key)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(environ: Mapping[str, str], key: str, default: int) -> int:
    value = environ.get(key)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, not {value!r}") from None


def _zone(environ: Mapping[str, str], key: str, default: str) -> str:
    value = environ.get(key, "") or default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{key} must be an IANA time zone such as Europe/Berlin, "
                          f"not {value!r}") from None
    return value


def _float(environ: Mapping[str, str], key: str, default: float) -> float:
    value = environ.get(key)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{key} must be a number, not {value!r}") from None


def _suffixes(environ: Mapping[str, str], key: str, default: tuple[str, ...]) -> frozenset[str]:
    """A comma-separated list of extensions or types, lower-cased, leading dots dropped
    (an empty value keeps the default)."""
    words = _items(environ.get(key) or "")
    return frozenset(word.lower().lstrip(".") for word in words) if words else frozenset(default)


ATTACHMENT_STORAGES = ("filesystem", "database")
#: Executables and scripts: refused by name (extension) and by detected type.
DENIED_EXTENSIONS = ("exe", "dll", "com", "bat", "cmd", "msi", "msp", "scr", "pif", "cpl",
                     "ps1", "psm1", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "jar",
                     "sh", "bash", "zsh", "csh", "ksh", "py", "pl", "rb", "php", "elf",
                     "app", "apk", "deb", "rpm", "dmg", "lnk", "reg")
DENIED_TYPES = ("application/x-msdownload", "application/x-executable",
                "application/x-mach-binary", "application/x-sharedlib",
                "application/vnd.microsoft.portable-executable", "application/x-dosexec",
                "application/java-archive", "application/x-deb", "application/x-rpm",
                "application/x-shellscript", "text/x-shellscript")


def _networks(environ: Mapping[str, str], key: str) -> tuple:
    """A comma-separated list of IP networks (``127.0.0.1/32``, ``fd00::/8``)."""
    try:
        return tuple(ipaddress.ip_network(item, strict=False)
                     for item in _items(environ.get(key, "")))
    except ValueError as exc:
        raise ConfigError(f"{key} must list IP networks such as 127.0.0.1/32: {exc}") from None


#: The databases the app is built and tested for (SQLAlchemy dialect+driver).
SUPPORTED_DATABASES = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")


def _items(text: str) -> tuple[str, ...]:
    """A comma-separated setting as its items, blanks dropped."""
    return tuple(word.strip() for word in text.split(",") if word.strip())


def database_url(raw: str | None, key: str = "DATABASE_URL") -> str:
    """Return the SQLAlchemy URL: the SQLite default, or PostgreSQL through psycopg 3.

    :raises ConfigError: a malformed URL or a database other than SQLite and PostgreSQL.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not raw:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DATA_DIR / 'incident_portal.db'}"
    url = raw.strip()
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a port that is not a number raises here
    except (ArgumentError, ValueError):
        # The URL may hold a password: name the setting, never echo the value.
        raise ConfigError(f"{key} is not a database URL (expected sqlite:///PATH or "
                          "postgresql://USER:PASSWORD@HOST/NAME)") from None
    if parsed.drivername not in SUPPORTED_DATABASES:
        raise ConfigError(f"{key} names {parsed.drivername!r}: Incident Portal runs on "
                          "SQLite (sqlite:///PATH) or PostgreSQL (postgresql://...)")
    return url


def engine_options(config: Any) -> dict[str, Any]:
    """Pool and driver options: a stale pooled connection is replaced (pre-ping), and on
    PostgreSQL a server that accepts TCP but never answers fails the connection after
    ``DATABASE_CONNECT_TIMEOUT`` seconds, a statement after ``DATABASE_STATEMENT_TIMEOUT``
    (SQLite waits at most its busy timeout, see ``SQLITE_PRAGMAS`` in ``portal``)."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if config.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
        statement_ms = int(config.DATABASE_STATEMENT_TIMEOUT * 1000)
        options["connect_args"] = {
            "connect_timeout": max(1, int(config.DATABASE_CONNECT_TIMEOUT)),
            "options": f"-c statement_timeout={statement_ms}",
        }
        options["pool_timeout"] = config.DATABASE_POOL_TIMEOUT
    return options


class Config:
    """Settings for every environment; read from ``environ`` when instantiated."""

    APP_ENV = "development"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.SECRET_KEY = environ.get("SECRET_KEY", "")
        self.SECURITY_PASSWORD_SALT = environ.get("SECURITY_PASSWORD_SALT", "")
        self.SQLALCHEMY_DATABASE_URI = database_url(environ.get("DATABASE_URL"))
        self.PORTAL_BASE_URL = environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
        self.LOG_LEVEL = environ.get("LOG_LEVEL", "INFO").upper()
        self.LOG_DIR = environ.get("LOG_DIR", str(PROJECT_ROOT / "logs"))
        # Behind a TLS reverse proxy: trust X-Forwarded-* (ProxyFix) for scheme and client IP.
        self.BEHIND_PROXY = _flag(environ, "BEHIND_PROXY", False)
        self.PREFERRED_URL_SCHEME = environ.get("PREFERRED_URL_SCHEME", "http")
        # The zone every page shows times in (named beside them); stored times stay UTC.
        self.PORTAL_TIMEZONE = _zone(environ, "PORTAL_TIMEZONE", "UTC")

        # SLA targets: due_at = created_at + the priority's target.
        self.SLA_HOURS = {
            "critical": _int(environ, "SLA_CRITICAL_HOURS", 4),
            "high": _int(environ, "SLA_HIGH_HOURS", 8),
            "medium": _int(environ, "SLA_MEDIUM_HOURS", 72),
            "low": _int(environ, "SLA_LOW_HOURS", 168),
        }
        # The SLA clock (portal/sla): first-response targets in minutes, the business
        # calendar the targets are counted in, which priorities run around the clock,
        # the statuses that stop the resolution clock, and when to warn (a fraction).
        self.SLA_RESPONSE_MINUTES = {
            "critical": _int(environ, "SLA_CRITICAL_RESPONSE_MINUTES", 30),
            "high": _int(environ, "SLA_HIGH_RESPONSE_MINUTES", 120),
            "medium": _int(environ, "SLA_MEDIUM_RESPONSE_MINUTES", 480),
            "low": _int(environ, "SLA_LOW_RESPONSE_MINUTES", 1440),
        }
        self.SLA_TIMEZONE = environ.get("SLA_TIMEZONE", "UTC")
        self.SLA_BUSINESS_HOURS = environ.get("SLA_BUSINESS_HOURS", "mon-fri 08:00-18:00")
        self.SLA_24X7_PRIORITIES = _items(environ.get("SLA_24X7_PRIORITIES", "critical"))
        self.SLA_PAUSED_STATUSES = _items(environ.get("SLA_PAUSED_STATUSES", "on_hold"))
        self.SLA_WARN_AT = _float(environ, "SLA_WARN_AT", 0.8)
        self.SLA_CHECK_SECONDS = _int(environ, "SLA_CHECK_SECONDS", 60)
        # The ITIL matrix: impact/urgency=priority, comma-separated; the pairs given here
        # replace those of the default (portal/sla/policy.py DEFAULT_MATRIX reads them).
        self.SLA_PRIORITY_MATRIX = _items(environ.get("SLA_PRIORITY_MATRIX", ""))
        # Public holidays of this country (ISO code, e.g. DE; the ``holidays`` package) join
        # the admins' holidays in the business calendar; empty: only the admins'.
        self.SLA_HOLIDAY_COUNTRY = environ.get("SLA_HOLIDAY_COUNTRY", "").strip().upper()

        # Flask-Security: logins, roles, tokens.
        self.REGISTRATION_OPEN = _flag(environ, "REGISTRATION_OPEN", True)
        self.SECURITY_REGISTERABLE = self.REGISTRATION_OPEN
        self.SECURITY_SEND_REGISTER_EMAIL = False
        self.SECURITY_CHANGEABLE = True
        self.SECURITY_RECOVERABLE = True
        self.SECURITY_USERNAME_ENABLE = True
        # Load a user's roles with a second indexed query instead of joining them into the
        # user's: SQLite (3.40) materializes that join, reading all of roles_users on every
        # request (0.8 ms with 2,000 users, against 0.1 ms for the two queries).
        self.SECURITY_JOIN_USER_ROLES = False
        self.SECURITY_USERNAME_REQUIRED = True
        self.SECURITY_USERNAME_MIN_LENGTH = 3
        self.SECURITY_PASSWORD_HASH = "argon2"
        self.SECURITY_TOKEN_MAX_AGE = _int(environ, "API_TOKEN_MAX_AGE_HOURS", 24) * 3600
        self.SECURITY_TOKEN_AUTHENTICATION_HEADER = "Authentication-Token"
        #: Longest life of a personal access token (issue 18), in days (one made without
        #: an expiry lives 90 days, or this, if shorter).
        self.API_TOKEN_MAX_DAYS = max(1, _int(environ, "API_TOKEN_MAX_DAYS", 365))
        self.SECURITY_EMAIL_VALIDATOR_ARGS = {"check_deliverability": False}
        self.SECURITY_POST_LOGIN_VIEW = "/"
        self.SECURITY_POST_LOGOUT_VIEW = "/"
        # CSRF for forms, session API calls and token API calls together: Flask-WTF checks
        # forms, Flask-Security checks session calls (X-CSRF-Token); token calls need none.
        self.WTF_CSRF_CHECK_DEFAULT = False
        self.SECURITY_CSRF_PROTECT_MECHANISMS = ["session", "basic"]
        # Login and registration forms are CSRF-protected too; the API's token endpoint is
        # exempted where it is defined.
        self.SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS = False
        self.SECURITY_CSRF_HEADER = "X-CSRF-Token"

        # Two-factor (TOTP authenticator apps) for everyone, with recovery codes.
        self.SECURITY_TWO_FACTOR = True
        self.SECURITY_TWO_FACTOR_ENABLED_METHODS = ["authenticator"]
        self.SECURITY_TWO_FACTOR_RESCUE_EMAIL = False
        self.SECURITY_MULTI_FACTOR_RECOVERY_CODES = True
        self.SECURITY_TOTP_ISSUER = "Incident Portal"
        self.REQUIRE_2FA_FOR_ADMINS = _flag(environ, "REQUIRE_2FA_FOR_ADMINS", False)
        # Passwords: at least 12 characters and not guessable (zxcvbn, offline).
        self.SECURITY_PASSWORD_LENGTH_MIN = 12
        self.SECURITY_PASSWORD_COMPLEXITY_CHECKER = "zxcvbn"
        self.SECURITY_PASSWORD_CHECK_BREACHED = False  # needs the internet
        # Sessions: server-side registry, idle expiry, cookies not readable by scripts.
        self.SESSION_LIFETIME_MINUTES = _int(environ, "SESSION_LIFETIME_MINUTES", 480)
        self.SESSION_MAX_HOURS = _int(environ, "SESSION_MAX_HOURS", 24)  # however active
        self.SESSION_REFRESH_EACH_REQUEST = True
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.SECURITY_DEFAULT_REMEMBER_ME = False
        # Brute-force throttling (Flask-Limiter): per IP and per account.
        self.LOGIN_RATE_LIMIT = environ.get("LOGIN_RATE_LIMIT", "5 per minute")
        # Failed attempts from one address (all accounts together): room for an office.
        self.LOGIN_FAILURE_IP_LIMIT = environ.get("LOGIN_FAILURE_IP_LIMIT", "50 per minute")
        self.REGISTER_RATE_LIMIT = environ.get("REGISTER_RATE_LIMIT", "10 per hour")
        # The app's database, shared by every worker (portal/auth/limiter_storage.py).
        self.RATELIMIT_STORAGE_URI = environ.get("RATELIMIT_STORAGE_URI", "portal-db://")
        self.RATELIMIT_ENABLED = _flag(environ, "RATELIMIT_ENABLED", True)
        # Bodies above this answer 413 (a description is at most 20,000 characters).
        self.MAX_CONTENT_LENGTH = _int(environ, "MAX_CONTENT_LENGTH", 2 * 1024 * 1024)

        # Engine options follow from these (``engine_options``, after overrides).
        self.DATABASE_CONNECT_TIMEOUT = _int(environ, "DATABASE_CONNECT_TIMEOUT", 5)
        self.DATABASE_STATEMENT_TIMEOUT = _float(environ, "DATABASE_STATEMENT_TIMEOUT", 30)
        self.DATABASE_POOL_TIMEOUT = _int(environ, "DATABASE_POOL_TIMEOUT", 10)
        # A database error answers 503 with this Retry-After (seconds).
        self.DATABASE_RETRY_AFTER = _int(environ, "DATABASE_RETRY_AFTER", 5)

        # Security, second pass (issue 21).
        # Requests for any other host answer 400 (Flask's TRUSTED_HOSTS); links in mail
        # come from PORTAL_BASE_URL whatever the Host. Empty: any host (development).
        hosts = [h.strip() for h in environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]
        self.TRUSTED_HOSTS = hosts or None
        # No account enumeration: the same answers for known and unknown accounts, and a
        # registration of a taken address mails its owner instead of saying so.
        self.SECURITY_RETURN_GENERIC_RESPONSES = True
        self.SECURITY_SEND_REGISTER_EMAIL = True
        # Authenticator codes: one 30 s step either side, each code once (auth/totp.py).
        self.SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY = 30
        # Recovery codes and 2FA setup need a password typed in the last 15 minutes, in a
        # browser session: an API token is never "fresh".
        self.SECURITY_FRESHNESS = timedelta(minutes=15)
        self.SECURITY_FRESHNESS_GRACE_PERIOD = timedelta(minutes=5)
        self.SECURITY_FRESHNESS_ALLOW_AUTH_TOKEN = False
        # Tokens come from headers only, never from the query string or a JSON body
        # (Flask-Security reads both under this key; None names neither).
        self.SECURITY_TOKEN_AUTHENTICATION_KEY = None
        # Flask-Security's default ({"private": True, ...}) reaches the header as
        # "private=True, no-store=True"; None writes the bare directives.
        self.SECURITY_CACHE_CONTROL = {"private": None, "no-store": None}

        # Mail (Flask-Mailman): delivery is off while MAIL_SERVER is empty.
        self.MAIL_SERVER = environ.get("MAIL_SERVER", "")
        self.MAIL_PORT = _int(environ, "MAIL_PORT", 25)
        self.MAIL_USE_TLS = _flag(environ, "MAIL_USE_TLS", False)
        self.MAIL_USE_SSL = _flag(environ, "MAIL_USE_SSL", False)
        self.MAIL_USERNAME = environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = environ.get("MAIL_PASSWORD") or None
        self.MAIL_DEFAULT_SENDER = environ.get("MAIL_DEFAULT_SENDER", "incident-portal@localhost")
        # Seconds to reach the server (TCP, greeting, login), then to wait for each answer.
        self.MAIL_CONNECT_TIMEOUT = _float(environ, "MAIL_CONNECT_TIMEOUT", 5)
        self.MAIL_TIMEOUT = _float(environ, "MAIL_TIMEOUT", 10)
        # The outbox: attempts before a message is marked failed, backoff between them,
        # an optional send rate, and the in-process delivery thread.
        self.MAIL_MAX_ATTEMPTS = _int(environ, "MAIL_MAX_ATTEMPTS", 8)
        self.MAIL_RETRY_BASE_SECONDS = _int(environ, "MAIL_RETRY_BASE_SECONDS", 30)
        self.MAIL_RETRY_MAX_SECONDS = _int(environ, "MAIL_RETRY_MAX_SECONDS", 3600)
        self.MAIL_MAX_PER_MINUTE = _int(environ, "MAIL_MAX_PER_MINUTE", 0)
        self.MAIL_POLL_SECONDS = _int(environ, "MAIL_POLL_SECONDS", 30)
        self.MAIL_DELIVERY_THREAD = _flag(environ, "MAIL_DELIVERY_THREAD", True)
        # A claim not refreshed for this long (its deliverer died) is taken over.
        self.MAIL_CLAIM_TIMEOUT_SECONDS = _float(environ, "MAIL_CLAIM_TIMEOUT_SECONDS", 60)
        # The worker on SQLite looks for new mail this often (PostgreSQL is notified).
        self.WORKER_WAKE_POLL_SECONDS = _float(environ, "WORKER_WAKE_POLL_SECONDS", 0.5)

        # Mail in (portal/mailin): the IMAP mailbox polled by the worker (empty: no
        # polling; the ingest-mail pipe works regardless), where processed mail goes,
        # and who may write in.
        self.MAIL_INBOX_URL = environ.get("MAIL_INBOX_URL", "")
        self.MAIL_INBOX_POLL_SECONDS = _int(environ, "MAIL_INBOX_POLL_SECONDS", 60)
        self.MAIL_INBOX_DONE_FOLDER = environ.get("MAIL_INBOX_DONE_FOLDER", "Processed")
        # The intake address: Reply-To of every notification; mail from it is ignored.
        self.MAIL_INBOX_ADDRESS = environ.get("MAIL_INBOX_ADDRESS", "").strip().lower()
        # Senders in these domains (comma-separated) who are not users get a reporter
        # account; other unknown senders are quarantined.
        self.MAIL_INBOX_ALLOWED_DOMAINS = frozenset(
            d.strip().lower().lstrip("@") for d in
            environ.get("MAIL_INBOX_ALLOWED_DOMAINS", "").split(",") if d.strip())
        # New incidents one sender may open by mail in an hour; beyond: quarantined.
        self.MAIL_INBOX_MAX_PER_HOUR = _int(environ, "MAIL_INBOX_MAX_PER_HOUR", 20)
        # Larger messages are quarantined with their headers only.
        self.MAIL_INBOX_MAX_BYTES = _int(environ, "MAIL_INBOX_MAX_BYTES", 25 * 1024 * 1024)
        # A reply by the reporter to a resolved incident reopens it.
        self.MAIL_REPLY_REOPENS = _flag(environ, "MAIL_REPLY_REOPENS", True)

        # Webhooks (issue 18, portal/webhooks): how long a receiver may take, how
        # deliveries are retried, when a failing endpoint is switched off, and which
        # addresses it may be at.
        self.WEBHOOK_TIMEOUT_SECONDS = _float(environ, "WEBHOOK_TIMEOUT_SECONDS", 10)
        self.WEBHOOK_RETRY_BASE_SECONDS = _int(environ, "WEBHOOK_RETRY_BASE_SECONDS", 30)
        self.WEBHOOK_RETRY_MAX_SECONDS = _int(environ, "WEBHOOK_RETRY_MAX_SECONDS", 3600)
        # A delivery is given up, and an endpoint failing this long is disabled.
        self.WEBHOOK_GIVE_UP_HOURS = _float(environ, "WEBHOOK_GIVE_UP_HOURS", 24)
        self.WEBHOOK_POLL_SECONDS = _int(environ, "WEBHOOK_POLL_SECONDS", 30)
        # Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10) are refused
        # unless this is on; loopback, link-local and metadata addresses always are,
        # except the networks listed in WEBHOOK_ALLOW_ADDRESSES (e.g. 127.0.0.1/32 for a
        # receiver on the same host).
        self.WEBHOOK_ALLOW_PRIVATE = _flag(environ, "WEBHOOK_ALLOW_PRIVATE", False)
        self.WEBHOOK_ALLOW_ADDRESSES = _networks(environ, "WEBHOOK_ALLOW_ADDRESSES")

        # Attachments (issue 14): where blobs live, and what may be uploaded.
        self.ATTACHMENT_STORAGE = environ.get("ATTACHMENT_STORAGE", "filesystem").strip()
        if self.ATTACHMENT_STORAGE not in ATTACHMENT_STORAGES:
            raise ConfigError(f"ATTACHMENT_STORAGE must be one of "
                              f"{', '.join(ATTACHMENT_STORAGES)}, not "
                              f"{self.ATTACHMENT_STORAGE!r}")
        # A relative folder is the project's (the image's /app), whatever the cwd.
        self.ATTACHMENTS_DIR = str(PROJECT_ROOT / environ.get("ATTACHMENTS_DIR",
                                                              "data/attachments"))
        self.ATTACHMENT_MAX_BYTES = _int(environ, "ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
        self.ATTACHMENT_MAX_PER_INCIDENT = _int(environ, "ATTACHMENT_MAX_PER_INCIDENT", 50)
        # A form may carry several files: its body may be this large (then 413).
        self.ATTACHMENT_MAX_REQUEST_BYTES = _int(environ, "ATTACHMENT_MAX_REQUEST_BYTES",
                                                 5 * self.ATTACHMENT_MAX_BYTES + 1024 * 1024)
        self.ATTACHMENT_DENIED_EXTENSIONS = _suffixes(
            environ, "ATTACHMENT_DENIED_EXTENSIONS", DENIED_EXTENSIONS)
        self.ATTACHMENT_DENIED_TYPES = _suffixes(environ, "ATTACHMENT_DENIED_TYPES", DENIED_TYPES)
        # gc-attachments leaves blobs younger than this: an upload writes its blob before
        # its row commits, and the collector must not take it in between.
        self.ATTACHMENT_GC_GRACE_SECONDS = _int(environ, "ATTACHMENT_GC_GRACE_SECONDS", 3600)
        # The worker's attachments-gc job runs this often (0: not at all; use cron).
        self.ATTACHMENT_GC_INTERVAL_SECONDS = _int(environ, "ATTACHMENT_GC_INTERVAL_SECONDS", 0)

    def secure(self) -> None:
        """Fill in missing secrets for development: stored under ``data/`` and warned about."""
        missing = [key for key in REQUIRED_SECRETS if not getattr(self, key)]
        if not missing:
            return
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path = DATA_DIR / ".dev-secrets.json"
        try:
            # O_EXCL: when several gunicorn workers start at once, one writes, all read it.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                json.dump({key: secrets.token_urlsafe(32) for key in REQUIRED_SECRETS}, out)
        stored = json.loads(path.read_text() or "{}")
        for key in missing:
            setattr(self, key, stored[key])
        log.warning(
            "%s not set: using throwaway development values from %s. "
            "Set them in .env before deploying.", ", ".join(missing), path)


class TestingConfig(Config):
    """The test suite: a fast password hash, fixed secrets, no delivery threads."""

    APP_ENV = "testing"

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__(environ)
        self.TESTING = True
        self.LOG_DIR = environ.get("TEST_LOG_DIR", "")  # stdout only, unless a test asks
        self.SECRET_KEY = self.SECRET_KEY or TESTING_SECRET_KEY
        self.SECURITY_PASSWORD_SALT = self.SECURITY_PASSWORD_SALT or TESTING_PASSWORD_SALT
        self.SQLALCHEMY_DATABASE_URI = database_url(
            environ.get("TEST_DATABASE_URL") or "sqlite://", "TEST_DATABASE_URL")
        # Tests deliver explicitly (or start the thread themselves).
        self.MAIL_DELIVERY_THREAD = False
        # The suite logs in hundreds of times from one address; throttling tests enable it.
        self.RATELIMIT_ENABLED = False
        # argon2 at its cheapest: the suite hashes hundreds of passwords.
        self.SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS = {
            "argon2__rounds": 1, "argon2__memory_cost": 8, "argon2__parallelism": 1}

    def secure(self) -> None:
        """Testing needs nothing more: its secrets are fixed above."""


class ProductionConfig(Config):
    """Production: secrets must be set, cookies are secure."""

    APP_ENV = "production"

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__(environ)
        self.SESSION_COOKIE_SECURE = True
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = True
        self.PREFERRED_URL_SCHEME = environ.get("PREFERRED_URL_SCHEME", "https")
        # TRUSTED_HOSTS defaults to PORTAL_BASE_URL's host here (portal/hosts.py).

    def secure(self) -> None:
        """Refuse to start without real secrets, naming the key to set.

        :raises ConfigError: a secret is missing or still the example value.
        """
        for key in REQUIRED_SECRETS:
            value = getattr(self, key)
            if not value:
                raise ConfigError(f"{key} is not set: production needs a secret value in .env")
            if value == EXAMPLE_SECRETS[key]:
                raise ConfigError(
                    f"{key} is still the example value from .env.example: set a secret value")


CONFIGS = {cls.APP_ENV: cls for cls in (Config, TestingConfig, ProductionConfig)}


def load_config(overrides: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the settings for ``APP_ENV``, with ``overrides`` applied last.

    :raises ConfigError: an unknown ``APP_ENV``, a malformed number, or (production) a
        missing or example secret.
    """
    if environ is None:
        load_dotenv(PROJECT_ROOT / ".env")
        environ = os.environ
    overrides = dict(overrides or {})
    app_env = overrides.get("APP_ENV") or ("testing" if overrides.get("TESTING") else None) \
        or environ.get("APP_ENV", "development")
    try:
        config_class = CONFIGS[app_env]
    except KeyError:
        raise ConfigError(
            f"APP_ENV must be one of {', '.join(CONFIGS)}, not {app_env!r}") from None
    config = config_class(environ)
    for key, value in overrides.items():
        setattr(config, key, value)
    if "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
        config.SQLALCHEMY_ENGINE_OPTIONS = engine_options(config)
    config.APP_ENV = app_env
    config.secure()
    return {key: getattr(config, key) for key in dir(config) if key.isupper()}
