"""Reading a message as people write it: the text they typed, without the quoted previous
message or their signature, in whatever charset and transfer encoding it came in.

Everything here is pure (bytes in, values out) and treats the message as hostile: a header
or part that cannot be decoded is read leniently or left out, never raised, and control
characters (``portal.plain_text``'s rule) are stripped from headers and text.
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser

from portal import plain_text
from portal.mailin.addresses import MalformedFrom, author

#: ``Re:``, ``AW:``, ``Fwd:`` and their cousins (English, German, Nordic, Dutch, French,
#: Italian), with Outlook's counters (``Re[2]:``); repeated prefixes all go.
_PREFIX = re.compile(r"^\s*(?:re|aw|fw|fwd|wg|sv|vs|antw|tr|rif|r)\s*(?:\[\d+\])?\s*[:：]\s*",
                     re.IGNORECASE)
TAG = re.compile(r"\[INC-(\d{1,18})\]", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")

#: Where a reply's own words end: the attribution line of the quoted message (Gmail,
#: Apple Mail, Thunderbird in English, German, French), Outlook's header block or rule,
#: a signature delimiter, a mobile client's footer.
_REPLY_ENDS = [re.compile(pattern, re.MULTILINE | re.IGNORECASE) for pattern in (
    r"^[ \t]*On\b[^\n]{0,300}(?:\n[^\n]{0,300})?\bwrote:[ \t]*$",
    r"^[ \t]*Am\b[^\n]{0,300}(?:\n[^\n]{0,300})?\bschrieb\b[^\n]{0,100}:[ \t]*$",
    r"^[ \t]*Le\b[^\n]{0,300}(?:\n[^\n]{0,300})?\ba écrit[ \t]*:[ \t]*$",
    r"^[ \t]*-{2,}[ \t]*(?:Original Message|Ursprüngliche Nachricht|Message d'origine)",
    r"^[ \t]*(?:From|Von|De)[ \t]*:[^\n]*\n(?:[^\n]*\n){0,3}?[ \t]*(?:Sent|Date|Gesendet|"
    r"Envoyé)[ \t]*:",
    r"^[ \t]*_{20,}[ \t]*$",
    r"^-- ?$",
    r"^[ \t]*(?:Sent from my \w+|Sent from (?:Mail|Outlook) for \w+|Get Outlook for \w+|"
    r"Von meinem \w+ gesendet)",
)]


@dataclass
class Part:
    """A file that came with the message (an attachment or an inline image)."""

    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class Letter:
    """What the pipeline needs from one message."""

    message_id: str
    sender: str                 # the From address, lower case; "" when none or malformed
    subject: str                # decoded, one line
    references: list[str]       # the Message-IDs of In-Reply-To and References
    text: str                   # the body as text (HTML converted), whole
    headers: EmailMessage = field(repr=False)
    parts: list[Part] = field(default_factory=list)

    @property
    def reply_text(self) -> str:
        """The sender's own words: the text without the quote and signature."""
        return strip_reply(self.text)

    @property
    def title(self) -> str:
        return clean_title(self.subject)

    @property
    def tagged_incident(self) -> int | None:
        """The incident the subject's ``[INC-<id>]`` tag names, if any."""
        match = TAG.search(self.subject)
        return int(match.group(1)) if match else None


def parse(raw: bytes) -> EmailMessage:
    """The message object (the parser is lenient: defects are noted, not raised)."""
    return email.message_from_bytes(raw, policy=email.policy.default)


def header(message: EmailMessage, name: str) -> str:
    """A header decoded (RFC 2047) to one line; "" when absent or unreadable."""
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a malformed header reads as absent
        return ""
    # Control characters (NUL: PostgreSQL text cannot hold it): no person typed them.
    return re.sub(r"\s+", " ", plain_text.strip(str(value or ""))).strip()


def message_id_of(message: EmailMessage, raw: bytes) -> str:
    """The ``Message-ID``, or one made from the message's digest when it has none (so a
    second delivery of the same bytes is still recognised)."""
    found = _MESSAGE_ID.search(header(message, "Message-ID"))
    if found:
        return f"<{found.group(1)}>"
    return f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.invalid>"


def sender_of(message: EmailMessage) -> str:
    """The ``From`` address, lower case; "" when there is none, or it is not one plain
    mailbox (``addresses.author`` says why)."""
    try:
        return author(message)
    except MalformedFrom:
        return ""


def references_of(message: EmailMessage) -> list[str]:
    ids = _MESSAGE_ID.findall(header(message, "In-Reply-To") + " " +
                              header(message, "References"))
    return list(dict.fromkeys(f"<{found}>" for found in ids))[:50]


def read(raw: bytes) -> Letter:
    """Read ``raw`` into a ``Letter``."""
    message = parse(raw)
    return Letter(message_id=message_id_of(message, raw), sender=sender_of(message),
                  subject=header(message, "Subject")[:500], references=references_of(message),
                  text=body_text(message), headers=message, parts=files_of(message))


def _content(part) -> str:
    """A text part decoded from its charset and transfer encoding, leniently."""
    try:
        return part.get_content()
    except (LookupError, UnicodeError, AssertionError, ValueError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def body_text(message: EmailMessage) -> str:
    """The body as text: ``text/plain`` preferred, else HTML converted to text."""
    try:
        body = message.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001 - a broken MIME tree: no body
        body = None
    if body is None:
        return ""
    text = _content(body)
    if body.get_content_subtype() == "html":
        text = html_to_text(text)
    return normalise(text)


def normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = plain_text.strip(text)  # mail cannot be asked again: they go, the text stays
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def files_of(message: EmailMessage) -> list[Part]:
    """The attachments and inline images (not the body's own text parts)."""
    try:
        body = message.get_body(preferencelist=("plain", "html"))
        candidates = list(message.walk())
    except Exception:  # noqa: BLE001
        return []
    found = []
    for part in candidates:
        if part.is_multipart() or part is body:
            continue
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        is_image = part.get_content_maintype() == "image"
        if disposition != "attachment" and not filename and not is_image:
            continue
        if part.get_content_type() == "application/ms-tnef":
            continue  # Outlook's winmail.dat: formatting for Outlook, no file for people
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001
            continue
        name = filename or f"inline-{len(found) + 1}.{part.get_content_subtype()}"
        found.append(Part(filename=name, content_type=part.get_content_type(), data=data,
                          inline=disposition == "inline" or (not disposition and is_image)))
    return found


class _TextFromHTML(HTMLParser):
    """HTML to readable text: blocks on their own lines, list items marked, quoted
    replies (``blockquote``, Gmail's ``gmail_quote``, Outlook's ``divRplyFwdMsg``) and
    everything after Outlook's reply header left out, scripts and styles dropped."""

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
              "ul", "ol", "pre", "hr"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: list[str] = []   # the open tags whose content is left out
        self.done = False

    def handle_starttag(self, tag, attrs):
        if self.done:
            return
        attributes = dict(attrs)
        quoted = (tag == "blockquote" or "gmail_quote" in (attributes.get("class") or "")
                  or attributes.get("id") in ("divRplyFwdMsg", "appendonsend"))
        if attributes.get("id") in ("divRplyFwdMsg", "appendonsend"):
            self.done = True  # Outlook: everything below is the previous message
        if self.skipping or tag in self.SKIP or quoted:
            if tag not in ("br", "hr", "img", "meta", "link", "input"):
                self.skipping.append(tag)
            return
        if tag == "li":
            self.out.append("\n- ")
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if self.skipping:
            if self.skipping[-1] == tag:
                self.skipping.pop()
            return
        if tag in self.BLOCKS and tag != "li":
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skipping and not self.done:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _TextFromHTML()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    return normalise("\n".join(lines))


def strip_reply(text: str) -> str:
    """The new words of a reply: up to the first quote attribution, Outlook header,
    signature or mobile footer, without ``>`` lines. Whole text when that leaves nothing
    (someone who answered only inline)."""
    cut = len(text)
    for pattern in _REPLY_ENDS:
        match = pattern.search(text)
        if match:
            cut = min(cut, match.start())
    own = "\n".join(line for line in text[:cut].split("\n")
                    if not line.lstrip().startswith(">"))
    own = normalise(own)
    return own or text


def clean_title(subject: str) -> str:
    """A subject as an incident title: no ``Re:``/``AW:``/``Fwd:``, no ``[INC-n]`` tag."""
    title = TAG.sub(" ", subject)
    while True:
        stripped = _PREFIX.sub("", title, count=1)
        if stripped == title:
            break
        title = stripped
    title = re.sub(r"\s+", " ", TAG.sub(" ", title)).strip()
    return title or "(no subject)"
