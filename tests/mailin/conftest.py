"""Mail-in fixtures: a desk with people and one incident, reading corpus messages (as a
trusted receiving mail server passes them on), piping them through ``manage.py
ingest-mail``, and a real IMAP server (dovecot). The helpers
(the corpus, counts, the last inbound message) are in ``helpers.py``."""
from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

from harness.servers import free_port
from portal.incidents.enums import Status
from portal.notifications.threads import thread_root
from tests.components import missing
from tests.factories import make_incident, make_user
from tests.mailin.helpers import AUTHSERV_ID, CORPUS, INBOX_ADDRESS, proven


@pytest.fixture(autouse=True)
def inbox_settings(app, monkeypatch):
    """The desk's intake settings for every mail-in test (the session app's config)."""
    monkeypatch.setitem(app.config, "MAIL_INBOX_ADDRESS", INBOX_ADDRESS)
    monkeypatch.setitem(app.config, "MAIL_INBOX_ALLOWED_DOMAINS", frozenset({"example.jp"}))
    monkeypatch.setitem(app.config, "MAIL_DEFAULT_SENDER", "incident-portal@localhost")
    monkeypatch.setitem(app.config, "MAIL_INBOX_TRUSTED_AUTHSERV_ID", AUTHSERV_ID)


@dataclass
class Desk:
    admin: object
    technician: object
    rita: object           # a reporter, with an incident assigned to the technician
    incident: object

    def message(self, name: str, *, incident=None) -> bytes:
        """Corpus message ``name``, answering ``incident`` (default: Rita's), as the
        trusted mail server passes it on (its DMARC pass on top) when it has a From."""
        incident = incident or self.incident
        raw = (CORPUS / name).read_bytes()
        root = thread_root(incident.id) or "<none@example.invalid>"
        raw = (raw.replace(b"%INCIDENT%", str(incident.id).encode())
               .replace(b"%ROOT%", root.strip("<>").encode()))
        return proven(raw) if re.search(rb"^From:", raw, re.MULTILINE) else raw


@pytest.fixture
def desk() -> Desk:
    admin = make_user("admin", username="ada")
    technician = make_user("technician", username="tom")
    rita = make_user("reporter", username="rita")
    make_user("reporter", username="zoe")
    incident = make_incident(reporter=rita, admin=admin, technician=technician,
                             status=Status.assigned, title="VPN drops every 10 minutes")
    return Desk(admin, technician, rita, incident)


@pytest.fixture
def pipe(runner):
    """``manage.py ingest-mail`` with ``raw`` on standard input: (exit code, output)."""
    def run(raw: bytes):
        result = runner.invoke(args=["ingest-mail"], input=raw)
        return result.exit_code, result.output
    return run


# --- dovecot ------------------------------------------------------------------------------

DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{dir}/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 100
passdb {{
  driver = passwd-file
  args = {dir}/users
}}
userdb {{
  driver = passwd-file
  args = {dir}/users
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
}}
"""


@dataclass
class Dovecot:
    port: int
    user: str = "helpdesk"
    password: str = "secret"

    @property
    def url(self) -> str:
        return f"imap://{self.user}:{self.password}@127.0.0.1:{self.port}/INBOX?tls=none"

    def mailbox(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted("127.0.0.1", self.port, timeout=10).login(
            self.user, self.password)

    def append(self, raw: bytes) -> None:
        with self.mailbox() as box:
            box.append(raw, "INBOX")

    def uids(self, folder: str) -> list[str]:
        with self.mailbox() as box:
            if not box.folder.exists(folder):
                return []
            box.folder.set(folder)
            return box.uids()


@pytest.fixture
def dovecot():
    """A private dovecot on a free port: user ``helpdesk``, Maildir in a temp folder
    (outside pytest's own, which only root may enter: dovecot's processes must)."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(binary):
        missing("dovecot is not installed (apt-get install dovecot-imapd)")
    try:
        owner = pwd.getpwnam("dovecot")
    except KeyError:
        missing("dovecot's system user is missing (apt-get install dovecot-imapd)")
    home = Path(tempfile.mkdtemp(prefix="portal-dovecot-"))
    home.chmod(0o755)
    port = free_port()
    (home / "mail").mkdir()
    os.chown(home / "mail", owner.pw_uid, owner.pw_gid)
    (home / "users").write_text(
        f"helpdesk:{{PLAIN}}secret:{owner.pw_uid}:{owner.pw_gid}::{home}/mail/helpdesk::\n")
    conf = home / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(dir=home, port=port))
    subprocess.run([binary, "-c", str(conf)], check=True)
    server = Dovecot(port=port)
    try:
        deadline = time.monotonic() + 20
        while True:  # until it answers a login
            try:
                with server.mailbox():
                    break
            except Exception:  # noqa: BLE001 - not listening yet
                if time.monotonic() > deadline:
                    pytest.fail("dovecot did not start: "
                                f"{(home / 'dovecot.log').read_text()[-2000:]}")
                time.sleep(0.1)
        yield server
    finally:
        subprocess.run(["doveadm", "-c", str(conf), "stop"], check=False)
        shutil.rmtree(home, ignore_errors=True)
