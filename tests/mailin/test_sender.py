"""The rules that read a sender, as tables: which ``From`` is one plain mailbox, what a
receiving server's ``Authentication-Results`` say, which addresses an address stands
for, and reply addresses. The attacks that use them are in
``tests/security/test_mail_sender_proof.py``."""
from __future__ import annotations

import pytest

from portal.mailin.addresses import MalformedFrom, author, identities
from portal.mailin.authentication_results import parse, verdict
from portal.mailin.reading import parse as parse_message
from portal.notifications.reply_addresses import made_for, reply_address, reply_tag

pytestmark = pytest.mark.no_db


def message(*headers: str) -> object:
    return parse_message(("\r\n".join(headers) + "\r\n\r\nbody\r\n").encode("utf-8"))


@pytest.mark.parametrize("header, address", [
    ("From: rita@example.com", "rita@example.com"),
    ("From: Rita Reporter <Rita@Example.COM>", "rita@example.com"),
    ("From: \"Müller, Zoë\" <zoe@example.com> (office)", "zoe@example.com"),
    ("From: =?utf-8?q?Zo=C3=AB?= <zoe@example.com>", "zoe@example.com"),
    ("From: \"adm1@example.com\" <mallory@evil.test>", "mallory@evil.test"),
])
def test_one_plain_mailbox_is_read(header, address):
    assert author(message(header)) == address


@pytest.mark.parametrize("headers, reason", [
    ((), "no From address"),
    (("From: ",), "no From address"),
    (("From: nobody",), "malformed"),
    (("From: Ada <>",), "malformed"),
    (("From: adm1@",), "cannot be read"),
    (("From: undisclosed-recipients:;",), "a group"),
    (("From: adm1@[127.0.0.1]",), "domain literal"),
    (("From: a@example.com", "From: b@example.com"), "2 From headers"),
    (("From: adm1@example.com\x00",), "malformed"),
])
def test_anything_else_is_refused_with_the_reason(headers, reason):
    with pytest.raises(MalformedFrom, match=reason):
        author(message(*headers))


@pytest.mark.parametrize("address, merge, expected", [
    ("Rita+Desk@Example.com", False, ("rita+desk@example.com",)),
    ("Rita+Desk@Example.com", True, ("rita+desk@example.com", "rita@example.com")),
    ("rita@example.com", True, ("rita@example.com",)),
    ("+x@example.com", True, ("+x@example.com",)),
])
def test_an_address_stands_for_its_base_only_when_sub_addresses_merge(address, merge,
                                                                       expected):
    assert identities(address, merge_subaddresses=merge) == expected


@pytest.mark.parametrize("value, proven, words", [
    ("mx.example.com; dmarc=pass (p=reject) header.from=example.com", True, "dmarc=pass"),
    ("mx.example.com 1; dkim=pass (2048-bit) header.d=example.com header.s=s1", True,
     "dkim=pass for example.com"),
    ("mx.example.com; dkim = pass header.d = Example.COM", True, "dkim=pass for example.com"),
    ('mx.example.com; dkim=pass reason="good; key" header.d=mail.example.com', False,
     "dkim=pass for mail.example.com"),   # a subdomain does not speak for its parent
    ("mx.example.com; dkim=fail header.d=example.com; dmarc=fail header.from=example.com",
     False, "dmarc=fail"),
    ("mx.example.com; none", False, "no DMARC or DKIM result"),
    ("mx.example.com; spf=pass smtp.mailfrom=example.com", False, "no DMARC or DKIM result"),
])
def test_what_a_servers_results_prove_for_example_com(value, proven, words):
    authserv_id, results = parse(value)
    assert authserv_id == "mx.example.com"
    assert verdict(results, "example.com") == (proven, words)


def test_a_parent_domains_signature_speaks_for_its_subdomain():
    _, results = parse("mx; dkim=pass header.d=example.com")
    assert verdict(results, "mail.example.com") == (True, "dkim=pass for example.com")


@pytest.fixture
def intake(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_INBOX_ADDRESS", "Desk@Example.com")
    with app.app_context():
        yield


def test_a_reply_address_names_its_incident_and_its_recipient(intake):
    address = reply_address(42, "Rita@example.com")
    incident_id, mac = reply_tag(address)
    assert address == f"desk+42.{mac}@example.com" and incident_id == 42
    assert made_for(42, mac, ["rita@example.com"])
    assert not made_for(42, mac, ["tom@example.com"]) and not made_for(43, mac,
                                                                      ["rita@example.com"])
    assert reply_tag(address.upper()) == (42, mac)   # servers may fold the case
    assert reply_address(None, "rita@example.com") == "Desk@Example.com"


@pytest.mark.parametrize("address", [
    "desk@example.com", "desk+42@example.com", "desk+42.abc@example.com",
    "other+42.0123456789abcdef0123@example.com", "desk+42.0123456789abcdef0123@evil.test"])
def test_other_addresses_are_no_reply_addresses(intake, address):
    assert reply_tag(address) is None


def test_what_a_header_says_is_cut_short_in_the_words_kept():
    _, results = parse("mx; dkim=fail header.d=" + "a" * 5000 + ".test; dmarc=" + "x" * 5000)
    proven, words = verdict(results, "example.com")
    assert not proven and len(words) < 300
