"""The one shape of a refusal: the domain says no, why, and about which field.

Every domain raises a subclass of ``Refused`` (accounts, the lifecycle, attachments,
webhooks, decisions on quarantined mail): ``message`` is the sentence shown to the user,
``field`` names the input at fault (or None), and ``http_status`` is the kind of refusal
(403 not allowed, 404 not there, 409 not now, 422 not valid...), which the API answers
through its one handler and the portal shows as a form error or a flash. A refusal a
client may want to tell apart by machine carries a stable ``code`` (the API's problem
details show it), and ``location`` says where the field was sent (``json``, ``query``,
``form``: the API's ``errors`` are keyed by it).
"""
from __future__ import annotations


class Refused(Exception):
    """A change the domain refuses; nothing was changed (the caller rolls back).

    A subclass names its kind in its header (``class NotVisible(LifecycleError,
    http_status=404)``); one refusal may narrow it (``Refused(..., http_status=403)``).
    """

    #: The kind of refusal, as the API answers it.
    http_status = 422
    #: A stable, machine-readable name of the refusal (``control_characters``,
    #: ``changed_meanwhile``), or None: the API's ``error_code`` (``code`` in problem
    #: details).
    code: str | None = None
    #: Where ``field`` was sent.
    location = "json"

    def __init_subclass__(cls, *, http_status: int | None = None, code: str | None = None,
                          **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if http_status is not None:
            cls.http_status = http_status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, field: str | None = None,
                 http_status: int | None = None, code: str | None = None,
                 location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if http_status is not None:
            self.http_status = http_status
        if code is not None:
            self.code = code
        if location is not None:
            self.location = location
