"""gunicorn's access log, held to the app's rules (``portal.log_hygiene``): token path
segments and query values redacted, control characters escaped in every field.

``gunicorn.conf.py`` names it as ``logger_class``; the format stays in that file.
"""
from __future__ import annotations

from gunicorn.glogging import Logger
from urllib.parse import urlsplit

from portal.log_hygiene import escape, redact_path, redact_query, redact_target


class PortalAccessLogger(Logger):
    """gunicorn's logger, with every access-log atom made safe to log."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = "%s %s %s" % (environ["REQUEST_METHOD"],
                                   redact_target(environ.get("RAW_URI", "")),
                                   environ["SERVER_PROTOCOL"])
        atoms["U"] = redact_path(environ.get("PATH_INFO", ""))
        atoms["q"] = redact_query(environ.get("QUERY_STRING", ""))
        referer = environ.get("HTTP_REFERER")
        if referer:
            parts = urlsplit(referer)
            atoms["f"] = f"{parts.scheme}://{parts.netloc}" + redact_target(
                parts.path + (f"?{parts.query}" if parts.query else ""))
        # Header atoms ({name}i, {name}o, {name}e) may carry credentials: none of ours
        # logs them but the request id, and every value is escaped all the same.
        return {key: escape(value) if isinstance(value, str) else value
                for key, value in atoms.items()}
