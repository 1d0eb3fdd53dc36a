"""Which mail a machine wrote (``auto_replies.machine_reason``), as a table of subjects
and headers: the responders' and a person's that merely look like them."""
from __future__ import annotations

import pytest

from portal.mailin.auto_replies import machine_reason
from portal.mailin.reading import read

pytestmark = pytest.mark.no_db


def letter(subject: str, headers: str = ""):
    return read((f"From: rita@example.com\r\nSubject: {subject}\r\n{headers}"
                 "Message-ID: <x@example.com>\r\n\r\nAway.\r\n").encode())


@pytest.mark.parametrize("subject", [
    "Out of office: [INC-5] Assigned to tom", "OUT OF OFFICE", "Out of the office: VPN",
    "Out of Office AutoReply: VPN", "Automatic reply: Re: [INC-5] New comment",
    "Auto-Reply: x", "AutoReply: x", "Auto: [INC-5] Resolved", "Auto Response: x",
    "Abwesenheitsnotiz: [INC-5] Gelöst", "Automatische Antwort: x",
    "=?utf-8?q?R=C3=A9ponse_automatique_=3A_x?=", "Absence du bureau : x",
    "Respuesta automática: x", "Fuera de la oficina: x", "Resposta automática: x",
    "Risposta automatica: x", "Fuori ufficio: x", "Automatisch antwoord: x", "Afwezig: x",
    "Autosvar: x", "Frånvaro: x", "Automaattinen vastaus: x",
])
def test_out_of_office_subjects(subject):
    assert machine_reason(letter(subject)).startswith("an out-of-office reply")


@pytest.mark.parametrize("subject", [
    "Out of office VPN is down", "Automatic replies stopped working in Outlook",
    "Auto-renewal of the certificate failed", "Autos in the car park: barrier stuck",
    "Re: Out of office: my laptop", "Abwesenheitsnotiz lässt sich nicht einschalten",
    "[INC-5] Printer jammed",
])
def test_a_persons_subjects_that_only_look_like_one(subject):
    assert machine_reason(letter(subject)) is None


@pytest.mark.parametrize("headers,words", [
    ("Auto-Submitted: auto-replied\r\n", "Auto-Submitted: auto-replied"),
    ("Auto-Submitted: auto-generated\r\n", "Auto-Submitted: auto-generated"),
    ("Precedence: auto_reply\r\n", "Precedence: auto_reply"),
    ("Precedence: bulk\r\n", "Precedence: bulk"), ("Precedence: list\r\n", "Precedence: list"),
    ("X-Autoreply: yes\r\n", "X-Autoreply"),
    ("X-Auto-Response-Suppress: All\r\n", "X-Auto-Response-Suppress"),
    ("List-Id: <it-news.example.com>\r\n", "List-Id: <it-news.example.com>"),
])
def test_headers_that_say_a_machine_wrote_it(headers, words):
    assert words in machine_reason(letter("Re: [INC-5] VPN", headers))


@pytest.mark.parametrize("headers", ["", "Auto-Submitted: no\r\n", "Precedence: normal\r\n"])
def test_a_person_replying(headers):
    assert machine_reason(letter("Re: [INC-5] VPN", headers)) is None
