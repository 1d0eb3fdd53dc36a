"""Configuration read from the environment (and ``.env`` when present).

The settings themselves are declared per area in ``portal.settings`` (key, default, type,
check, README line). ``Config`` holds what every environment shares; ``TestingConfig`` and
``ProductionConfig`` adjust it. ``load_config`` picks the class from ``APP_ENV``, checks the
values (overrides included) and refuses, in production, to run with a missing or example
``SECRET_KEY`` / ``SECURITY_PASSWORD_SALT``.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
from typing import Any, Mapping

from dotenv import load_dotenv

from portal import settings
from portal.settings.database import SUPPORTED_DATABASES, database_url, engine_options
from portal.settings.declare import DATA_DIR, PROJECT_ROOT, ConfigError

__all__ = ["CONFIGS", "DATA_DIR", "EXAMPLE_SECRETS", "PROJECT_ROOT", "SUPPORTED_DATABASES",
           "TESTING_PASSWORD_SALT", "TESTING_SECRET_KEY", "Config", "ConfigError",
           "ProductionConfig", "TestingConfig", "database_url", "engine_options",
           "load_config"]

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


class Config:
    """Settings for every environment; read from ``environ`` when instantiated."""

    APP_ENV = "development"

    def __init__(self, environ: Mapping[str, str]) -> None:
        vars(self).update(settings.read(environ))

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

    :raises ConfigError: an unknown ``APP_ENV``, a value that does not parse or pass its
        check, or (production) a missing or example secret.
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
    settings.check(vars(config))
    config.secure()
    return {key: getattr(config, key) for key in dir(config) if key.isupper()}
