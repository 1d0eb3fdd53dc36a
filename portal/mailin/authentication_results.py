"""What the receiving mail server found: its ``Authentication-Results`` header (RFC 8601).

The server that took the message from the internet (Postfix with OpenDMARC, Rspamd,
Exim...) checks SPF, DKIM and DMARC and prepends one header naming itself (the
authserv-id) with the results. Every other such header — one with another authserv-id,
or one of the same authserv-id further down — came with the message, and anyone can write
those: only the **topmost** header of the trusted authserv-id is read.

It proves the ``From`` address when it says ``dmarc=pass`` for the From domain
(``header.from``), or ``dkim=pass`` for a signing domain (``header.d``) aligned with it
(``aligned``). Pure: header text in, a verdict out (in words, each value cut short: they
go into the quarantine's reason and the log).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage

HEADER = "authentication-results"


@dataclass(frozen=True)
class Result:
    """One ``method=result`` of a header, with its ``ptype.property=value`` pairs."""

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


def _tokens(value: str) -> list[str]:
    """Words, quoted strings (unquoted), ``;`` and ``=``, comments dropped."""
    tokens: list[str] = []
    word, depth, quoted, escaped = [], 0, False, False
    for char in value:
        if escaped:
            word.append(char)
            escaped = False
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            if char == '"':
                quoted = False
            else:
                word.append(char)
        elif depth:
            depth += {"(": 1, ")": -1}.get(char, 0)
        elif char == '"':
            quoted = True
        elif char == "(":
            depth = 1
        elif char in ";=" or char.isspace():
            if word:
                tokens.append("".join(word))
                word = []
            if not char.isspace():
                tokens.append(char)
        else:
            word.append(char)
    if word:
        tokens.append("".join(word))
    return tokens


def parse(value: str) -> tuple[str, list[Result]]:
    """A header's authserv-id (lower case) and its results; ("", []) when unreadable."""
    statements: list[list[str]] = [[]]
    for token in _tokens(value):
        if token == ";":
            statements.append([])
        else:
            statements[-1].append(token)
    head, *rest = statements
    if not head:
        return "", []
    results = []
    for statement in rest:
        pairs = _pairs(statement)
        if pairs:  # a statement that starts "method=result"
            (method, result), *properties = pairs
            results.append(Result(method.lower().partition("/")[0], result.lower(),
                                  {name.lower(): value for name, value in properties}))
    return head[0].lower(), results


def _pairs(statement: list[str]) -> list[tuple[str, str]]:
    """The ``name=value`` pairs of a statement; [] unless it starts with one."""
    if len(statement) < 3 or statement[1] != "=":
        return []
    return [(statement[index], statement[index + 2]) for index in range(len(statement) - 2)
            if statement[index + 1] == "=" and "=" not in (statement[index],
                                                             statement[index + 2])]


def topmost(message: EmailMessage, authserv_id: str) -> list[Result] | None:
    """The results of the first (topmost) header of ``authserv_id``; None when none is."""
    for name, value in message.raw_items():
        if name.lower() == HEADER:
            found, results = parse(value)
            if found == authserv_id.lower():
                return results
    return None


def aligned(signing_domain: str, from_domain: str) -> bool:
    """Whether a signature by ``signing_domain`` speaks for ``from_domain``: the same
    domain or a parent of it (DMARC's relaxed alignment, without the public-suffix
    list: a single-label domain such as ``com`` never counts)."""
    signing, author = signing_domain.lower().strip("."), from_domain.lower().strip(".")
    return "." in signing and (author == signing or author.endswith("." + signing))


def verdict(results: list[Result], from_domain: str) -> tuple[bool, str]:
    """Whether ``results`` prove an address at ``from_domain``, and in words why (not).
    A DMARC result for that domain decides when there is one (a ``dmarc=fail`` is not
    outvoted by a ``dkim=pass``); else an aligned ``dkim=pass`` proves it."""
    from_domain = from_domain.lower()
    dmarc = [result for result in results if result.method == "dmarc"]
    ours = [result for result in dmarc
            if result.properties.get("header.from", "").lower() == from_domain]
    if ours:
        return ours[0].result == "pass", f"dmarc={ours[0].result[:20]}"
    said = [f"dmarc={result.result[:20]} for "
            f"{result.properties.get('header.from', '')[:100] or 'no domain'}"
            for result in dmarc]
    for result in results:
        if result.method != "dkim":
            continue
        signer = result.properties.get("header.d", "").lower()
        if result.result == "pass" and aligned(signer, from_domain):
            return True, f"dkim=pass for {signer[:100]}"
        said.append(f"dkim={result.result[:20]} for {signer[:100] or 'no domain'}")
    return False, ", ".join(said[:4]) or "no DMARC or DKIM result"
