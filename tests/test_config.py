"""Configuration: production refuses example or missing secrets, URLs are normalised, a bad
value names its key, and the README and ``.env.example`` list every declared setting."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from portal import settings
from portal.config import ConfigError, EXAMPLE_SECRETS, database_url, load_config
from portal.settings import readme

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
@pytest.mark.parametrize("key,value,reason", [
    ("MAIL_PORT", "smtp", "must be a whole number, not 'smtp'"),
    ("SESSION_MAX_HOURS", "1.5", "must be a whole number, not '1.5'"),
    ("API_TOKEN_MAX_AGE_HOURS", "a day", "must be a whole number, not 'a day'"),
    ("MAIL_TIMEOUT", "ten", "must be a number, not 'ten'"),
    ("WEBHOOK_GIVE_UP_HOURS", "1d", "must be a number, not '1d'"),
    ("SLA_TIMEZONE", "Europe/Atlantis", "must be an IANA time zone"),
    ("SLA_CRITICAL_HOURS", "0", "must be more than 0, not 0"),
    ("SLA_LOW_RESPONSE_MINUTES", "-5", "must be more than 0, not -5"),
    ("SLA_WARN_AT", "1.5", "must be a fraction between 0 and 1, not 1.5"),
    ("SLA_WARN_AT", "0", "must be a fraction between 0 and 1, not 0.0"),
    ("ATTACHMENT_STORAGE", "s3", "must be one of filesystem, database, not 's3'"),
    ("ATTACHMENT_MAX_BYTES", "10MB", "must be a whole number, not '10MB'"),
    ("WEBHOOK_ALLOW_ADDRESSES", "localhost", "must list IP networks such as 127.0.0.1/32"),
    ("DATABASE_URL", "mysql://u:secret@db/portal", "names 'mysql'"),
    ("DATABASE_URL", "postgresql://u:secret@db:port/portal", "is not a database URL"),
])
def test_a_bad_value_stops_start_up_naming_its_key_and_the_reason(key, value, reason):
    # DATABASE_URL is read in development (testing reads TEST_DATABASE_URL instead).
    with pytest.raises(ConfigError) as refused:
        load_config(environ={"APP_ENV": "development", **GOOD, key: value})
    message = str(refused.value)
    assert message.startswith(f"{key} ") and reason in message
    assert "\n" not in message and "secret" not in message  # one line, no password echoed


@pytest.mark.no_db
@pytest.mark.parametrize("overrides,message", [
    ({"SLA_WARN_AT": 1.0}, "SLA_WARN_AT must be a fraction between 0 and 1, not 1.0"),
    ({"SLA_HOURS": {"critical": 0, "high": 8, "medium": 72, "low": 168}},
     "SLA_CRITICAL_HOURS must be more than 0, not 0"),
])
def test_overrides_pass_the_same_checks(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config({"TESTING": True, **overrides}, environ={})


@pytest.mark.no_db
def test_blank_numbers_and_flags_mean_the_default_blank_text_stays_blank():
    config = load_config(environ={"APP_ENV": "testing", "MAIL_PORT": " ", "MAIL_USE_TLS": "",
                                  "SLA_24X7_PRIORITIES": "", "MAIL_INBOX_URL": ""})
    assert (config["MAIL_PORT"], config["MAIL_USE_TLS"]) == (25, False)
    assert config["SLA_24X7_PRIORITIES"] == () and config["MAIL_INBOX_URL"] == ""


@pytest.mark.no_db
def test_each_setting_is_declared_once_and_reaches_the_app():
    keys = [setting.key for setting in settings.SETTINGS]
    assert len(keys) == len(set(keys))
    places = [(setting.name, setting.item) for setting in settings.SETTINGS]
    assert len(places) == len(set(places))
    config = load_config(environ={"APP_ENV": "testing"})
    for setting in settings.SETTINGS:
        if setting.reader:  # gunicorn's, the container's: not the app's
            assert setting.name not in config, setting.key
        elif setting.item:
            assert setting.item in config[setting.name], setting.key
        else:
            assert setting.name in config, setting.key


@pytest.mark.no_db
def test_the_readme_table_is_written_from_the_declarations():
    assert readme.section((ROOT / "README.md").read_text()) == readme.table(), \
        "the README's configuration table is stale: run python -m portal.settings"
    for setting in settings.SETTINGS:
        assert f"| `{setting.key}` |" in readme.table()


@pytest.mark.no_db
def test_writing_the_table_replaces_only_what_stands_between_the_markers(tmp_path):
    stale = tmp_path / "README.md"
    stale.write_text(f"# Title\n\n{readme.BEGIN}\n| `OLD_KEY` | |\n{readme.END}\n\nAfter.\n")
    assert readme.write(stale) is True
    text = stale.read_text()
    assert readme.section(text) == readme.table() and "OLD_KEY" not in text
    assert text.startswith("# Title\n\n") and text.endswith(f"{readme.END}\n\nAfter.\n")
    assert readme.write(stale) is False


@pytest.mark.no_db
def test_env_example_lists_every_declared_key_and_only_those():
    example = dotenv_values(ROOT / ".env.example")
    declared = {setting.key for setting in settings.SETTINGS}
    assert sorted(declared - set(example)) == [], "missing from .env.example"
    assert sorted(set(example) - declared) == [], "in .env.example but not declared"


@pytest.mark.no_db
def test_env_example_values_read():
    example = {key: value for key, value in dotenv_values(ROOT / ".env.example").items()
               if value is not None}
    config = load_config(environ={**example, "APP_ENV": "testing"})
    assert config["SLA_HOURS"] == {"critical": 4, "high": 8, "medium": 72, "low": 168}
    assert config["SECURITY_TOKEN_MAX_AGE"] == 24 * 3600


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
