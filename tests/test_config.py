"""Configuration: production refuses example or missing secrets, URLs are normalised."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from portal.config import ConfigError, EXAMPLE_SECRETS, database_url, load_config

ROOT = Path(__file__).resolve().parents[1]
GOOD = {"SECRET_KEY": "s3cr3t-" * 6, "SECURITY_PASSWORD_SALT": "salt-" * 8}


@pytest.mark.no_db
@pytest.mark.parametrize("environ,key,reason", [
    ({}, "SECRET_KEY", "is not set"),
    ({"SECRET_KEY": GOOD["SECRET_KEY"]}, "SECURITY_PASSWORD_SALT", "is not set"),
    ({**GOOD, "SECRET_KEY": EXAMPLE_SECRETS["SECRET_KEY"]}, "SECRET_KEY", "example value"),
    ({**GOOD, "SECURITY_PASSWORD_SALT": EXAMPLE_SECRETS["SECURITY_PASSWORD_SALT"]},
     "SECURITY_PASSWORD_SALT", "example value"),
])
def test_production_refuses_missing_or_example_secrets(environ, key, reason):
    with pytest.raises(ConfigError) as refused:
        load_config(environ={"APP_ENV": "production", **environ})
    assert str(refused.value).startswith(key) and reason in str(refused.value)


@pytest.mark.no_db
def test_production_with_real_secrets_has_secure_cookies():
    config = load_config(environ={"APP_ENV": "production", **GOOD})
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.no_db
@pytest.mark.parametrize("environ,message", [
    ({"APP_ENV": "staging"}, "APP_ENV must be one of"),
    ({"APP_ENV": "testing", "SLA_HIGH_HOURS": "eight"}, "SLA_HIGH_HOURS must be a whole number"),
    ({"APP_ENV": "testing", "PORTAL_TIMEZONE": "Mars/Olympus"}, "PORTAL_TIMEZONE must be an IANA"),
    ({"APP_ENV": "testing", "PORTAL_TIMEZONE": "../etc/passwd"}, "PORTAL_TIMEZONE must be an IANA"),
])
def test_bad_settings_name_the_key(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_config(environ=environ)


@pytest.mark.no_db
@pytest.mark.parametrize("raw,expected", [
    ("postgres://u:p@db/portal", "postgresql+psycopg://u:p@db/portal"),
    ("postgresql://u@db:5432/portal", "postgresql+psycopg://u@db:5432/portal"),
    ("postgresql+psycopg://u@db/portal", "postgresql+psycopg://u@db/portal"),
    ("sqlite:////srv/portal.db", "sqlite:////srv/portal.db"),
])
def test_database_urls(raw, expected):
    assert database_url(raw) == expected


@pytest.mark.no_db
def test_default_database_is_a_sqlite_file_under_data():
    assert database_url(None).endswith("/data/incident_portal.db")
    assert database_url(None).startswith("sqlite:///")


@pytest.mark.no_db
@pytest.mark.slow
def test_command_line_refusal_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "init-db"], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env={"PATH": "/usr/bin:/bin", "APP_ENV": "production",
                         "SECRET_KEY": EXAMPLE_SECRETS["SECRET_KEY"],
                         "SECURITY_PASSWORD_SALT": GOOD["SECURITY_PASSWORD_SALT"]})
    assert result.returncode == 1
    assert result.stderr.strip() == ("Error: SECRET_KEY is still the example value from "
                                     ".env.example: set a secret value")
