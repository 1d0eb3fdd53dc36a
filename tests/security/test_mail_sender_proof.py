"""Issue 28, finding 1 (and finding 10's sub-addresses): mail in trusted ``From:``.

Each attack as the review ran it — a crafted message through ``manage.py ingest-mail``
(a subprocess: the real pipe a mail server runs) or through the real IMAP server the
suite runs (dovecot) — and each layer that proves a sender, its tables of cases through
``ingest`` (the pipeline both channels call): the receiving server's
``Authentication-Results`` (only its topmost header of the trusted authserv-id), DKIM
verified here (signed with a key made in the test and published through dkimpy's
``dnsfunc`` resolver argument), and reply addresses that prove receipt.
"""
from __future__ import annotations

import base64
import itertools
import re
from dataclasses import dataclass

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from portal.auth.models import User
from portal.extensions import db
from portal.incidents.enums import Status
from portal.incidents.models import Comment, Incident
from portal.mailin.imap import Poller
from portal.mailin.models import InboundMail
from portal.mailin.pipeline import ingest
from portal.notifications.models import OutboxMessage
from tests.clients import bearer, log_in
from tests.factories import make_incident, make_user
from tests.mailin.helpers import ingest_by_pipe, reply_address_of

INBOX = "helpdesk@example.com"
#: The authserv-id of the tests' receiving mail server.
MTA = "mx.test.example"
#: The intake as an operator configures it, for the app here and the pipe's process.
INTAKE = {"MAIL_INBOX_ADDRESS": INBOX, "MAIL_INBOX_ALLOWED_DOMAINS": "example.com",
          "MAIL_INBOX_TRUSTED_AUTHSERV_ID": MTA}
#: app.extensions key of the TXT lookup DKIM verification uses (dkimpy's ``dnsfunc``).
DKIM_LOOKUP = "mailin.dkim_lookup"
PHISH = "Your mailbox is full: confirm your password at http://evil.test/login"

_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def intake(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_INBOX_ADDRESS", INBOX)
    monkeypatch.setitem(app.config, "MAIL_INBOX_ALLOWED_DOMAINS", frozenset({"example.com"}))
    monkeypatch.setitem(app.config, "MAIL_INBOX_TRUSTED_AUTHSERV_ID", MTA)


@dataclass
class Desk:
    admin: User            # adm1@example.com, as in the review
    technician: User       # tom
    rita: User             # a reporter
    incident: Incident     # Rita's, assigned to tom
    resolved: Incident     # Rita's, resolved


@pytest.fixture
def desk() -> Desk:
    admin = make_user("admin", username="adm1")
    tom = make_user("technician", username="tom")
    rita = make_user("reporter", username="rita")
    incident = make_incident(reporter=rita, admin=admin, technician=tom,
                             status=Status.assigned, title="VPN drops")
    resolved = make_incident(reporter=rita, admin=admin, technician=tom,
                             status=Status.resolved, title="Printer jam")
    return Desk(admin, tom, rita, incident, resolved)


def mail(from_header: str, subject: str, body: str = PHISH, *, to: str = INBOX,
         above: tuple[str, ...] = (), more: tuple[str, ...] = ()) -> bytes:
    """A message with ``From: from_header``; ``above``: headers on top (the receiving
    server's), ``more``: headers below the others (the sender's own)."""
    headers = [*above, f"From: {from_header}", f"To: {to}", f"Subject: {subject}",
               f"Message-ID: <attack-{next(_serial)}@client.example.com>", *more,
               "Content-Type: text/plain; charset=utf-8"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def results(verdict: str, authserv_id: str = MTA) -> str:
    """An ``Authentication-Results`` header line."""
    return f"Authentication-Results: {authserv_id}; {verdict}"


DMARC_PASS = results("spf=pass smtp.mailfrom=example.com; dmarc=pass (p=reject) "
                     "header.from=example.com")


@pytest.fixture
def pipe(database_url):
    """``manage.py ingest-mail`` in its own process, configured as ``INTAKE`` says."""
    return lambda raw, **env: ingest_by_pipe(database_url, raw, **INTAKE, **env)


def state() -> tuple[int, int, int, int]:
    """(comments, outbox messages, incidents, users): what a refused message leaves."""
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count(model.id)))
                 for model in (Comment, OutboxMessage, Incident, User))


def last_inbound() -> InboundMail:
    db.session.expire_all()
    return db.session.scalars(select(InboundMail).order_by(InboundMail.id.desc())).first()


def assert_quarantined(before, *, because: str) -> InboundMail:
    """The last message was quarantined for ``because`` and changed nothing else."""
    row = last_inbound()
    assert (row.status, row.incident_id) == ("quarantined", None)
    assert because in row.reason
    assert state() == before  # no comment, nobody told, no incident, no account
    return row


# --- the review's attacks through the pipe ------------------------------------------------

def test_a_forged_admin_cannot_comment_on_a_reporters_incident(desk, pipe):
    before = state()
    pipe(mail("Ada Admin <adm1@example.com>", f"Re: [INC-{desk.incident.id}] VPN drops"))
    assert_quarantined(before, because="not verified")
    assert PHISH not in [comment.body for comment in desk.incident.comments]


def test_a_forged_reporter_cannot_reopen_a_resolved_incident(desk, pipe):
    before = state()
    pipe(mail("rita@example.com", f"Re: [INC-{desk.resolved.id}] Resolved: Printer jam",
              "Still jams."))
    assert_quarantined(before, because="not verified")
    assert db.session.get(Incident, desk.resolved.id).status is Status.resolved


def test_a_forged_staff_address_cannot_open_an_incident(desk, pipe):
    before = state()
    pipe(mail("adm1@example.com", "Please install this update", "See the attachment."))
    assert_quarantined(before, because="a staff member")


@pytest.mark.parametrize("from_header, extra, because", [
    ("adm1@example.com", ("From: mallory@evil.test",), "2 From headers"),
    ("<@evil.test:adm1@example.com>", (), "obsolete route"),
    ("grp: adm1@example.com;", (), "a group, not a mailbox"),
    ("adm1@example.com, mallory@evil.test", (), "more than one address"),
    ("adm1@example.com <mallory@evil.test>", (), "invalid address"),
    ("=?utf-8?q?adm1=40example.com?=", (), "no domain"),
    ("<adm1@example.com", (), "missing trailing '>'"),
], ids=["two From headers", "route syntax", "group syntax", "two addresses",
        "address as display name", "encoded address", "unclosed angle bracket"])
def test_a_malformed_from_is_quarantined_even_with_a_dmarc_pass(
        desk, pipe, from_header, extra, because):
    before = state()
    pipe(mail(from_header, f"Re: [INC-{desk.incident.id}] VPN drops", above=(DMARC_PASS,),
              more=extra))
    row = assert_quarantined(before, because=because)
    assert row.sender == ""  # never read "best effort"


def test_a_case_variant_of_an_address_is_the_same_account_and_needs_the_same_proof(
        desk, pipe):
    before = state()
    pipe(mail("ADM1@EXAMPLE.COM", f"Re: [INC-{desk.incident.id}] VPN drops"))
    assert_quarantined(before, because="unverified mail never acts as adm1")
    pipe(mail("ADM1@EXAMPLE.COM", f"Re: [INC-{desk.incident.id}] VPN drops",
              "Restarted the concentrator.", above=(DMARC_PASS,)))
    assert last_inbound().action == "commented"
    assert db.session.get(Incident, desk.incident.id).comments[-1].author_id == desk.admin.id


# --- layer 1: the receiving server's Authentication-Results --------------------------------

#: What the receiving server stamps on a message from a domain without DMARC or DKIM.
NOTHING_FOUND = results("spf=pass smtp.mailfrom=evil.test; dkim=none; dmarc=none")


@pytest.mark.parametrize("above, more", [
    ((NOTHING_FOUND,), (DMARC_PASS,)),                            # the sender wrote a pass
    ((NOTHING_FOUND, DMARC_PASS), ()),                            # ...on top of theirs
    ((results("dmarc=fail (p=none) header.from=example.com"),), (DMARC_PASS,)),
    ((results("dmarc=pass header.from=example.com", "mx.evil.test"),), ()),  # another id
    ((results("dkim=pass header.d=evil.test"),), ()),             # not aligned
    ((results("dkim=pass header.d=com"),), ()),                   # a top-level domain
    ((results("dmarc=pass header.from=evil.test"),), ()),         # another domain passed
    ((results("none"),), (DMARC_PASS,)),                          # ours found nothing
    ((results("dmarc=fail header.from=example.com; dkim=pass header.d=example.com"),), ()),
], ids=["forged below ours", "forged first in the message", "forged below a fail",
        "another authserv-id", "dkim of another domain", "dkim of a top-level domain",
        "dmarc of another domain", "ours says none", "dmarc fail outvotes dkim"])
def test_authentication_results_other_than_the_servers_own_topmost_prove_nothing(
        desk, above, more):
    before = state()
    ingest(mail("tom@example.com", f"Re: [INC-{desk.incident.id}] VPN drops", above=above,
                more=more))
    assert_quarantined(before, because="not verified")


def test_a_pass_forged_below_the_servers_own_header_proves_nothing_through_the_pipe(
        desk, pipe):
    before = state()
    pipe(mail("tom@example.com", f"Re: [INC-{desk.incident.id}] VPN drops",
              above=(NOTHING_FOUND,), more=(DMARC_PASS,)))
    assert_quarantined(before, because=f"{MTA} says dmarc=none")


@pytest.mark.parametrize("verdict", [
    "dmarc=pass (p=reject) header.from=example.com",
    "dkim=pass (2048-bit key) header.d=example.com header.s=sel",
    "dkim=pass header.d=example.com; dmarc=none",
], ids=["dmarc pass", "aligned dkim pass", "aligned dkim, no dmarc policy"])
def test_the_servers_topmost_pass_proves_the_sender(desk, verdict):
    forged = results("dmarc=fail header.from=example.com")  # below: the sender's own
    ingest(mail("tom@example.com", f"Re: [INC-{desk.incident.id}] VPN drops",
                "Replaced the router.", above=(results(verdict),), more=(forged,)))
    row = last_inbound()
    assert (row.status, row.action) == ("processed", "commented")
    assert row.sender_proof.startswith(f"{MTA} says")
    assert db.session.get(Incident, desk.incident.id).comments[-1].author_id == \
        desk.technician.id


# --- layer 2: DKIM verified here ----------------------------------------------------------

class PublishedKeys:
    """DNS for DKIM keys: dkimpy's ``dnsfunc`` (``lookup(name, timeout)``) answering the
    TXT records the test published."""

    def __init__(self) -> None:
        self.records: dict[bytes, bytes] = {}

    def publish(self, domain: str, public_key, selector: str = "sel") -> None:
        der = public_key.public_bytes(serialization.Encoding.DER,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
        self.records[f"{selector}._domainkey.{domain}.".encode()] = \
            b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | None:
        return self.records.get(name)


@pytest.fixture(scope="module")
def signing_keys():
    """A 2048-bit RSA key each for the desk's domain and the attacker's."""
    return {domain: rsa.generate_private_key(public_exponent=65537, key_size=2048)
            for domain in ("example.com", "evil.test")}


@pytest.fixture
def dkim_here(app, monkeypatch, signing_keys):
    """DKIM verified here, no trusted server header, both domains' keys published."""
    keys = PublishedKeys()
    for domain, key in signing_keys.items():
        keys.publish(domain, key.public_key())
    monkeypatch.setitem(app.config, "MAIL_INBOX_TRUSTED_AUTHSERV_ID", "")
    monkeypatch.setitem(app.config, "MAIL_INBOX_VERIFY_DKIM", True)
    monkeypatch.setitem(app.extensions, DKIM_LOOKUP, keys)
    return keys


def signed(raw: bytes, keys, domain: str, *, length: bool = False) -> bytes:
    """``raw`` with a DKIM signature by ``domain`` on top (dkimpy, the test's key)."""
    pem = keys[domain].private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption())
    return dkim.sign(raw, b"sel", domain.encode(), pem, length=length,
                     include_headers=[b"from", b"to", b"subject", b"message-id"]) + raw


def test_an_aligned_dkim_signature_verified_here_proves_the_sender(
        desk, dkim_here, signing_keys):
    raw = mail("tom@example.com", f"Re: [INC-{desk.incident.id}] VPN drops", "On it.")
    outcome = ingest(signed(raw, signing_keys, "example.com"))
    assert outcome.action == "commented"
    assert last_inbound().sender_proof == "a DKIM signature of example.com verified here"


@pytest.mark.parametrize("case", ["the attacker's own domain", "body changed after signing",
                                  "only part of the body signed", "no signature"])
def test_a_dkim_signature_that_does_not_prove_the_from_address_is_unverified(
        desk, dkim_here, signing_keys, case):
    raw = mail("adm1@example.com", f"Re: [INC-{desk.incident.id}] VPN drops")
    if case == "the attacker's own domain":
        raw = signed(raw, signing_keys, "evil.test")
    elif case == "body changed after signing":
        raw = signed(raw, signing_keys, "example.com").replace(b"confirm", b"CONFIRM")
    elif case == "only part of the body signed":  # l=: the attacker appends the rest
        raw = signed(raw, signing_keys, "example.com", length=True) + \
            f"{PHISH}\r\n".encode()
    before = state()
    assert ingest(raw).status == "quarantined"
    assert_quarantined(before, because="not verified")


def test_dkim_is_checked_on_the_bytes_the_imap_server_keeps(
        desk, dkim_here, signing_keys, dovecot, app, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "MAIL_INBOX_URL", dovecot.url)
    subject = f"Re: [INC-{desk.incident.id}] VPN drops"
    dovecot.append(signed(mail("tom@example.com", subject, "Signed."), signing_keys,
                          "example.com"))
    dovecot.append(signed(mail("adm1@example.com", subject), signing_keys, "evil.test"))
    assert Poller().poll(app) == 2
    db.session.expire_all()
    rows = db.session.scalars(select(InboundMail).order_by(InboundMail.id)).all()
    assert [(row.sender, row.status) for row in rows] == [
        ("tom@example.com", "processed"), ("adm1@example.com", "quarantined")]
    assert [c.body for c in db.session.get(Incident, desk.incident.id).comments] == ["Signed."]


# --- layer 3: reply addresses that prove receipt ------------------------------------------

def test_a_reply_to_ones_own_reply_address_proves_the_sender(desk, pipe):
    address = reply_address_of(desk.technician, desk.incident)  # "Assigned to you"
    assert re.fullmatch(rf"helpdesk\+{desk.incident.id}\.[0-9a-f]{{20}}@example\.com",
                        address)
    pipe(mail("Tom <tom@example.com>", "Re: Assigned to you", "Router replaced.", to=address))
    row = last_inbound()
    assert (row.status, row.action, row.incident_id) == ("processed", "commented",
                                                         desk.incident.id)
    assert row.sender_proof == f"a reply to its reply address for INC-{desk.incident.id}"


@pytest.mark.parametrize("case", ["someone else's reply address", "a guessed code",
                                  "another incident's code"])
def test_a_reply_address_proves_nothing_for_anyone_else(desk, case):
    ritas = reply_address_of(desk.rita, desk.incident)
    number, code = re.fullmatch(r"helpdesk\+(\d+)\.([0-9a-f]+)@example\.com", ritas).groups()
    address = {"someone else's reply address": ritas,
               "a guessed code": f"helpdesk+{number}.{'0' * len(code)}@example.com",
               "another incident's code": f"helpdesk+{desk.resolved.id}.{code}@example.com",
               }[case]
    before = state()
    ingest(mail("adm1@example.com", "Re: VPN drops", to=address))
    row = assert_quarantined(before, because="not verified")
    assert code not in row.reason


# --- what unverified mail may do ------------------------------------------------------------

def test_with_reporter_comment_a_reporters_unverified_reply_is_a_flagged_comment_only(
        desk, pipe, client):
    pipe(mail("rita@example.com", f"Re: [INC-{desk.resolved.id}] Printer jam", "It jams."),
         MAIL_INBOX_UNVERIFIED="reporter-comment")
    resolved = db.session.get(Incident, desk.resolved.id)
    comment = resolved.comments[-1]
    assert (comment.body, comment.author_id, comment.unverified_sender) == \
        ("It jams.", desk.rita.id, True)
    assert resolved.status is Status.resolved  # not reopened
    log_in(client, desk.technician)
    page = client.get(f"/admin/queue/details/?id={resolved.id}").get_data(as_text=True)
    assert re.search(r"<strong>rita</strong> replied <span class=\"badge badge-unverified\"",
                     page)
    [listed] = [c for c in client.get(f"/api/v1/incidents/{resolved.id}/comments",
                                      headers=bearer(desk.technician)).get_json()
                if c["id"] == comment.id]
    assert listed["unverified_sender"] is True
    told = db.session.scalars(select(OutboxMessage.subject).where(
        OutboxMessage.incident_id == resolved.id, OutboxMessage.event_kind == "commented"))
    assert list(told) == [f"[INC-{resolved.id}] New comment by rita (unverified sender): "
                          "Printer jam"]


def test_with_reporter_comment_staff_addresses_are_still_quarantined(desk, pipe):
    before = state()
    pipe(mail("adm1@example.com", f"Re: [INC-{desk.incident.id}] VPN drops"),
         MAIL_INBOX_UNVERIFIED="reporter-comment")
    assert_quarantined(before, because="unverified mail never acts as adm1")


def test_an_unverified_reporter_still_reports_new_incidents(desk, pipe):
    pipe(mail("rita@example.com", "Monitor flickers", "Since this morning."))
    row = last_inbound()
    assert (row.status, row.action, row.sender_proof) == ("processed", "created", None)
    assert db.session.get(Incident, row.incident_id).reporter_id == desk.rita.id


# --- finding 10: sub-addresses ---------------------------------------------------------------

def test_merged_sub_addresses_are_the_base_account_and_make_no_new_one(desk, pipe):
    before = state()
    pipe(mail("adm1+x@example.com", "Please install this update"),
         MAIL_INBOX_MERGE_SUBADDRESSES="1")
    assert_quarantined(before, because="unverified mail never acts as adm1")
    assert db.session.scalar(select(User).where(User.username == "adm1x")) is None
    pipe(mail("rita+desk@example.com", "Docking station", "No picture.", above=(
        results("dmarc=pass header.from=example.com"),)), MAIL_INBOX_MERGE_SUBADDRESSES="1")
    row = last_inbound()
    assert db.session.get(Incident, row.incident_id).reporter_id == desk.rita.id
    assert db.session.scalar(select(func.count(User.id))) == before[3]
