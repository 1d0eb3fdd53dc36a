"""A real IMAP server for the mail-in tests: a private dovecot on a free port, user
``helpdesk``, its Maildir in a temp folder (outside pytest's own, which only root may
enter: dovecot's processes must). The ``dovecot`` fixture (``tests/conftest.py``) runs one
a test."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from imap_tools import MailBoxUnencrypted

from harness.servers import free_port
from tests.components import missing
from tests.waiting import DEADLINE, wait_until

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

    def answers(self) -> bool:
        """Whether it takes a login (it is up)."""
        try:
            with self.mailbox():
                return True
        except Exception:  # noqa: BLE001 - not listening yet
            return False

    def append(self, raw: bytes) -> None:
        with self.mailbox() as box:
            box.append(raw, "INBOX")

    def uids(self, folder: str) -> list[str]:
        with self.mailbox() as box:
            if not box.folder.exists(folder):
                return []
            box.folder.set(folder)
            return box.uids()



@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """Start a private dovecot; stop it and remove its folder afterwards."""
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
        if not wait_until(server.answers, DEADLINE, interval=0.1):
            pytest.fail(f"dovecot did not start: {(home / 'dovecot.log').read_text()[-2000:]}")
        yield server
    finally:
        subprocess.run(["doveadm", "-c", str(conf), "stop"], check=False)
        shutil.rmtree(home, ignore_errors=True)
