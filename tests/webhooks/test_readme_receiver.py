"""The README's ten-line receiver verifies what the portal sends, and refuses a forgery."""
from __future__ import annotations

import re
import time

from harness.servers import ROOT
from portal.webhooks import signing

MARKER = "<!-- webhook receiver example"


def readme_receiver(secret: str):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", text[text.index(MARKER):], re.S).group(1)
    assert len([line for line in block.splitlines() if line.strip()]) <= 11
    namespace: dict = {"__name__": "__main__"}  # as when run with python receiver.py
    exec(block.replace("whsec_…", secret), namespace)  # noqa: S102 - our own README
    return namespace["app"].test_client()


def test_the_readme_receiver_accepts_our_signature_and_refuses_a_forgery(capsys):
    secret = signing.new_secret()
    client = readme_receiver(secret)
    body = '{"id":"evt_1","type":"incident.created","timestamp":"2026-12-02T10:00:00Z",' \
           '"data":{"incident":{"id":42}}}'
    headers = signing.headers([secret], "msg_1", int(time.time()), body)
    accepted = client.post("/hooks", data=body, headers={
        **headers, "Content-Type": "application/json"})
    assert accepted.status_code == 204
    assert "msg_1 incident.created" in capsys.readouterr().out
    forged = client.post("/hooks", data=body.replace("42", "43"), headers=headers)
    assert forged.status_code == 400
    other = signing.headers([signing.new_secret()], "msg_2", int(time.time()), body)
    assert client.post("/hooks", data=body, headers=other).status_code == 400
