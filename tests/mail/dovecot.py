"""A real Dovecot (IMAP + POP3) for the tests: an unprivileged process on loopback ports.

Its configuration, password file, maildirs and logs live in a temporary folder;
no system service is involved. As root (CI), it runs as the `dovecot` system
user the package creates, so nothing in it holds root rights.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tempodesk.embedded import free_port

CONFIG = """\
protocols = imap pop3
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {user}
default_internal_user = {user}
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
pop3_uidl_format = %08Xu%08Xv
# No "* OK Still here" while a client idles: it comes at a moment that depends on the
# user name and the clock, and the client reads whatever it left unread along with it,
# so it would hide a poller that missed an announcement, at random.
imap_idle_notify_interval = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s_port}
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
"""


TLS = """\
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
"""


@dataclass
class Dovecot:
    root: Path
    imap_port: int
    pop3_port: int
    user: str
    uid: int
    gid: int
    imaps_port: int = 0
    """IMAP over implicit TLS; 0 when the server runs without TLS."""
    pop3s_port: int = 0

    def add_account(self, name: str, password: str) -> None:
        line = f"{name}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{self.root}/home/{name}::\n"
        with open(self.root / "passwd", "a") as passwd:
            passwd.write(line)
        # Dovecot looks at its passwd-file at most once a second: a login in the same
        # second as the last look would not find the account yet.
        time.sleep(1.1)

    def deliver(self, account: str, raw: bytes) -> None:
        """Put a message straight into the account's maildir INBOX, as an MDA would."""
        new = self.root / "mail" / account / "new"
        for folder in ("new", "cur", "tmp"):
            (new.parent / folder).mkdir(parents=True, exist_ok=True)
        path = new / f"{time.time_ns()}.{os.getpid()}.test"
        path.write_bytes(raw)
        for item in (new.parent, *new.parent.iterdir(), path):
            os.chown(item, self.uid, self.gid)


def _wait(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"dovecot did not listen on {port}")


@contextlib.contextmanager
def dovecot(root: Path, tls: tuple[bytes, bytes] | None = None) -> Iterator[Dovecot]:
    """Run Dovecot in `root`; with `tls` (certificate chain and key, PEM), IMAPS and POP3S
    listen too and the plain ports offer STARTTLS."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(binary):
        raise RuntimeError("dovecot is missing: apt-get install dovecot-imapd dovecot-pop3d")
    entry = pwd.getpwnam("dovecot") if os.geteuid() == 0 else pwd.getpwuid(os.getuid())
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    server = Dovecot(root, free_port(), free_port(), entry.pw_name, entry.pw_uid, entry.pw_gid)
    ssl = "ssl = no"
    if tls is not None:
        server.imaps_port, server.pop3s_port = free_port(), free_port()
        (root / "cert.pem").write_bytes(tls[0])
        (root / "key.pem").write_bytes(tls[1])
        os.chmod(root / "key.pem", 0o600)
        ssl = TLS.format(cert=root / "cert.pem", key=root / "key.pem")
    (root / "passwd").touch()
    (root / "dovecot.conf").write_text(
        CONFIG.format(
            root=root,
            ssl=ssl,
            user=server.user,
            uid=server.uid,
            imap_port=server.imap_port,
            pop3_port=server.pop3_port,
            imaps_port=server.imaps_port,
            pop3s_port=server.pop3s_port,
        )
    )
    command = [binary, "-F", "-c", str(root / "dovecot.conf")]
    if os.geteuid() == 0:
        for path in (root, *root.rglob("*")):
            os.chown(path, server.uid, server.gid)
        command = [
            "setpriv",
            f"--reuid={server.uid}",
            f"--regid={server.gid}",
            "--clear-groups",
            *command,
        ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait(server.imap_port, proc, root / "dovecot.log")
        _wait(server.pop3_port, proc, root / "dovecot.log")
        for port in (server.imaps_port, server.pop3s_port):
            if port:
                _wait(port, proc, root / "dovecot.log")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
