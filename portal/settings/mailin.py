"""Mail in settings (``portal/mailin``): the IMAP mailbox the worker polls, where processed
mail goes, who may write in, and how a sender is proven (README "Mail in")."""
from __future__ import annotations

from portal.settings.declare import FLAG, TEXT, WHOLE, Area, Setting, Type, choice, items

DOMAINS = Type("domains, comma-separated",
               lambda raw: frozenset(word.lower().lstrip("@") for word in items(raw)))

AREA = Area("Mail in", "incidents and replies by mail (see \"Mail in\")", (
    Setting("MAIL_INBOX_URL", "", "the IMAP mailbox the worker polls, e.g. "
            "`imaps://user:pass@imap.example.com:993/INBOX` (empty: no polling; the "
            "`ingest-mail` pipe works regardless)", TEXT),
    Setting("MAIL_INBOX_POLL_SECONDS", "60", "how often the worker polls it", WHOLE),
    Setting("MAIL_INBOX_DONE_FOLDER", "Processed", "processed mail is moved here (created "
            "if missing)", TEXT),
    Setting("MAIL_INBOX_ADDRESS", "", "the intake address: plus-addressed with each "
            "recipient's code, the Reply-To of every notification; mail from it is ignored", Type("address", lambda raw: raw.strip().lower(),
                                            blank_is_default=False)),
    Setting("MAIL_INBOX_ALLOWED_DOMAINS", "", "senders in these domains who are not users "
            "get a reporter account; other unknown senders are quarantined", DOMAINS),
    Setting("MAIL_INBOX_MAX_PER_HOUR", "20", "new incidents one sender may open by mail in "
            "an hour; beyond: quarantined", WHOLE),
    Setting("MAIL_INBOX_MAX_REPLIES_PER_HOUR", "30", "replies (comments, reopenings) one "
            "sender may send by mail in an hour; beyond: quarantined (ends auto-responder "
            "loops)", WHOLE),
    Setting("MAIL_INBOX_MAX_BYTES", "26214400", "larger messages are quarantined with "
            "their headers only", WHOLE),
    Setting("MAIL_REPLY_REOPENS", "1", "a reporter's reply to a resolved incident reopens "
            "it (0: only a comment)", FLAG),
    Setting("MAIL_INBOX_TRUSTED_AUTHSERV_ID", "", "the authserv-id of the receiving mail "
            "server's `Authentication-Results` (e.g. `mx.example.com`): its topmost header "
            "saying `dmarc=pass`, or an aligned `dkim=pass`, proves the sender (empty: none "
            "is trusted)", Type("authserv-id", lambda raw: raw.strip().lower(),
                                blank_is_default=False)),
    Setting("MAIL_INBOX_VERIFY_DKIM", "0", "verify DKIM signatures here (DNS lookups) when "
            "no trusted `Authentication-Results` applies: a signature aligned with the "
            "From domain proves the sender", FLAG),
    Setting("MAIL_INBOX_UNVERIFIED", "quarantine", "what an unproven reply does: "
            "`quarantine`, or `reporter-comment` (a reporter's reply becomes a public "
            "comment flagged \"unverified sender\"; staff addresses are quarantined "
            "regardless)", choice("quarantine", "reporter-comment")),
    Setting("MAIL_INBOX_MERGE_SUBADDRESSES", "0", "`name+tag@domain` is the account of "
            "`name@domain` (when no account has the whole address)", FLAG),
))
