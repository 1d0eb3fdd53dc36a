"""Mail in: a second front door to the same lifecycle.

Two channels feed one pipeline (``pipeline.ingest``, raw bytes in, an ``Outcome`` out): the
IMAP poller (``imap``, a worker job) and ``manage.py ingest-mail`` (a mail server's pipe).
``reading`` reads a message as people write it, ``sender`` says what proves who wrote it
(``addresses``: the From read strictly; ``authentication_results``: the receiving
server's verdict), ``threads`` ties messages to incidents in both directions, ``models``
keeps every message with what became of it.
"""
