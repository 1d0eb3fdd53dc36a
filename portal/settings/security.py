"""Security settings: secrets, registration, tokens, sessions, throttling, hosts and
request size, and the Flask-Security options the portal fixes (README "Security")."""
from __future__ import annotations

from datetime import timedelta

from portal.settings.declare import FLAG, LIST, TEXT, WHOLE, Area, Setting, Type

#: A list of host names, or None: Flask's TRUSTED_HOSTS then lets any host through.
HOSTS = Type("host names, comma-separated", lambda raw: list(LIST.parse(raw)) or None)

#: Flask-Security and cookie options that are the portal's design, not the operator's.
FIXED = {
    "SECURITY_SEND_REGISTER_EMAIL": True,
    "SECURITY_CHANGEABLE": True,
    "SECURITY_RECOVERABLE": True,
    "SECURITY_USERNAME_ENABLE": True,
    # A registration proves its address before the account is anyone's: it cannot log
    # in, own mail or receive notifications until its link is followed (README
    # "Accounts and registration", portal/auth/confirmation.py). Following the link does
    # not log in: the address is proved by the link, the person by their password.
    "SECURITY_CONFIRMABLE": True,
    "SECURITY_LOGIN_WITHOUT_CONFIRMATION": False,
    "SECURITY_AUTO_LOGIN_AFTER_CONFIRM": False,
    "SECURITY_CONFIRM_EMAIL_WITHIN": timedelta(days=2),
    "SECURITY_EMAIL_SUBJECT_CONFIRM": "Confirm your address for Incident Portal",
    # Both the new registration's mail (with its link) and the note to the owner of a
    # taken address use this subject.
    "SECURITY_EMAIL_SUBJECT_REGISTER": "Your Incident Portal registration",
    "SECURITY_MSG_CONFIRM_REGISTRATION": (
        "Thank you. We have mailed a link to %(email)s: follow it to confirm the "
        "address, then log in.", "success"),
    # The same words whether or not a registration of the address waits (generic
    # answers: the page names no account).
    "SECURITY_MSG_CONFIRMATION_REQUEST": (
        "If a registration of %(email)s is waiting for its confirmation, a new link is on "
        "its way to that address.", "info"),
    "SECURITY_MSG_EMAIL_CONFIRMED": (
        "Thank you: your address is confirmed. Log in with your password.", "success"),
    "SECURITY_MSG_INVALID_CONFIRMATION_TOKEN": (
        "This confirmation link is not valid (a newer registration of the address may "
        "have replaced it): ask for a new one below, or register again.", "error"),
    # Load a user's roles with a second indexed query instead of joining them into the
    # user's: SQLite (3.40) materializes that join, reading all of roles_users on every
    # request (0.8 ms with 2,000 users, against 0.1 ms for the two queries).
    "SECURITY_JOIN_USER_ROLES": False,
    "SECURITY_USERNAME_REQUIRED": True,
    "SECURITY_USERNAME_MIN_LENGTH": 3,
    "SECURITY_PASSWORD_HASH": "argon2",
    "SECURITY_TOKEN_AUTHENTICATION_HEADER": "Authentication-Token",
    "SECURITY_EMAIL_VALIDATOR_ARGS": {"check_deliverability": False},
    "SECURITY_POST_LOGIN_VIEW": "/",
    "SECURITY_POST_LOGOUT_VIEW": "/",
    # CSRF for forms, session API calls and token API calls together: Flask-WTF checks
    # forms, Flask-Security checks session calls (X-CSRF-Token); token calls need none.
    "WTF_CSRF_CHECK_DEFAULT": False,
    "SECURITY_CSRF_PROTECT_MECHANISMS": ["session", "basic"],
    # Login and registration forms are CSRF-protected too; the API's token endpoint is
    # exempted where it is defined.
    "SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS": False,
    "SECURITY_CSRF_HEADER": "X-CSRF-Token",
    # Two-factor (TOTP authenticator apps) for everyone, with recovery codes.
    "SECURITY_TWO_FACTOR": True,
    "SECURITY_TWO_FACTOR_ENABLED_METHODS": ["authenticator"],
    "SECURITY_TWO_FACTOR_RESCUE_EMAIL": False,
    "SECURITY_MULTI_FACTOR_RECOVERY_CODES": True,
    "SECURITY_TOTP_ISSUER": "Incident Portal",
    # Passwords: at least 12 characters and not guessable (zxcvbn, offline).
    "SECURITY_PASSWORD_LENGTH_MIN": 12,
    "SECURITY_PASSWORD_COMPLEXITY_CHECKER": "zxcvbn",
    "SECURITY_PASSWORD_CHECK_BREACHED": False,  # needs the internet
    # Sessions: server-side registry, idle expiry, cookies not readable by scripts.
    "SESSION_REFRESH_EACH_REQUEST": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "SECURITY_DEFAULT_REMEMBER_ME": False,
    # No account enumeration: the same answers for known and unknown accounts, and a
    # registration of a taken address mails its owner instead of saying so.
    "SECURITY_RETURN_GENERIC_RESPONSES": True,
    # Authenticator codes: one 30 s step either side, each code once (auth/totp.py).
    "SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY": 30,
    # Recovery codes and 2FA setup need a password typed in the last 15 minutes, in a
    # browser session: an API token is never "fresh".
    "SECURITY_FRESHNESS": timedelta(minutes=15),
    "SECURITY_FRESHNESS_GRACE_PERIOD": timedelta(minutes=5),
    "SECURITY_FRESHNESS_ALLOW_AUTH_TOKEN": False,
    # Tokens come from headers only, never from the query string or a JSON body
    # (Flask-Security reads both under this key; None names neither).
    "SECURITY_TOKEN_AUTHENTICATION_KEY": None,
    # Flask-Security's default ({"private": True, ...}) reaches the header as
    # "private=True, no-store=True"; None writes the bare directives.
    "SECURITY_CACHE_CONTROL": {"private": None, "no-store": None},
}

AREA = Area("Security", "secrets, accounts, tokens, sessions, throttling (see \"Security\")", (
    Setting("SECRET_KEY", "", "signs sessions and tokens: set it in production (the "
            "example value is refused)", shown="generated in development "
            "(`data/.dev-secrets.json`)"),
    Setting("SECURITY_PASSWORD_SALT", "", "salt for password-reset and login tokens: set "
            "it in production (the example value is refused)",
            shown="generated in development"),
    Setting("REGISTRATION_OPEN", "1", "anyone may register, as a reporter (0: admins "
            "create accounts)", FLAG, also=("SECURITY_REGISTERABLE",)),
    Setting("API_TOKEN_MAX_AGE_HOURS", "24", "hours a login API token stays valid",
            Type("whole number", lambda raw: WHOLE.parse(raw) * 3600),
            name="SECURITY_TOKEN_MAX_AGE"),
    # Below 1 is taken as 1: a personal access token lives at least a day.
    Setting("API_TOKEN_MAX_DAYS", "365", "longest life of a personal access token, in "
            "days (one made without an expiry lives 90 days, or this if shorter)",
            Type("whole number", lambda raw: max(1, WHOLE.parse(raw)))),
    Setting("REQUIRE_2FA_FOR_ADMINS", "0", "admins must set up an authenticator app (TOTP) "
            "before they can work", FLAG),
    Setting("SESSION_LIFETIME_MINUTES", "480", "a portal session ends after this many "
            "minutes without use (and at logout)", WHOLE),
    Setting("SESSION_MAX_HOURS", "24", "...and this many hours after login, however "
            "active", WHOLE),
    Setting("LOGIN_RATE_LIMIT", "5 per minute", "failed attempts per account on login, "
            "2FA, `/verify` and `/change`; every request for a password reset or a new "
            "confirmation link (`/confirm`)", TEXT),
    Setting("LOGIN_FAILURE_IP_LIMIT", "50 per minute", "failed attempts from one address, "
            "all accounts together (room for an office behind one NAT)", TEXT),
    Setting("REGISTER_RATE_LIMIT", "10 per hour", "registrations from one address", TEXT),
    Setting("RATELIMIT_STORAGE_URI", "portal-db://", "where attempt counts live: the app's "
            "database, shared by every worker (`portal/auth/limiter_storage.py`), or "
            "`redis://host:6379`; `memory://` counts per process", TEXT),
    Setting("RATELIMIT_ENABLED", "1", "0 turns throttling off (never in production)", FLAG),
    Setting("TRUSTED_HOSTS", "", "host names the portal answers to; others get 400 (links "
            "in mail come from `PORTAL_BASE_URL` whatever the host)", HOSTS,
            shown="production: `PORTAL_BASE_URL`'s host and localhost; else any host"),
    Setting("MAX_CONTENT_LENGTH", "2097152", "largest request body in bytes; larger ones "
            "answer 413 (a description is at most 20,000 characters)", WHOLE),
), fixed=FIXED)
