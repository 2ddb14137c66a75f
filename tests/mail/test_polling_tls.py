"""Mailboxes are polled over TLS (implicit and STARTTLS) from a real Dovecot with a test CA."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.conftest import MAILBOX_PASSWORD, MAILBOX_PASSWORD_ENV
from tests.factories import Person
from tests.mail.conftest import mail, unique
from tests.mail.dovecot import Dovecot, dovecot
from tests.mail.test_polling import seen_flags, tickets, wait_for


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server(ca: trustme.CA) -> Iterator[Dovecot]:
    # The certificate names the address the desk connects to, so host names are checked.
    issued = ca.issue_cert("127.0.0.1", "localhost")
    pem = (issued.private_key_and_cert_chain_pem.bytes(), issued.private_key_pem.bytes())
    with tempfile.TemporaryDirectory(prefix="dovecot-tls-") as folder:
        os.chmod(folder, 0o755)
        with dovecot(Path(folder), pem) as running:
            yield running


def tls_mailbox(admin: Person, account: str, protocol: str, port: int, **fields: Any) -> Any:
    body = {
        "name": unique("tls-mailbox"),
        "address": f"{account}@desk.example",
        "protocol": protocol,
        "host": "127.0.0.1",
        "port": port,
        "username": account,
        "password_env": MAILBOX_PASSWORD_ENV,
        "poll_seconds": 2,
        **fields,
    }
    return admin.api.ok("POST", "/mailboxes", 201, json=body)


@pytest.mark.parametrize(
    ("protocol", "mode"),
    [("imap", "tls"), ("imap", "starttls"), ("pop3", "tls"), ("pop3", "starttls")],
)
def test_mail_is_polled_over_tls_trusting_the_mailbox_s_own_ca(
    server: Dovecot, ca: trustme.CA, admin: Person, agent: Person, protocol: str, mode: str
) -> None:
    account = unique(f"{protocol}-{mode}")
    server.add_account(account, MAILBOX_PASSWORD)
    word = unique("secured")
    server.deliver(account, mail("kim@customer.example", f"{word} mail", "Private.").as_bytes())
    ports = {
        ("imap", "tls"): server.imaps_port,
        ("imap", "starttls"): server.imap_port,
        ("pop3", "tls"): server.pop3s_port,
        ("pop3", "starttls"): server.pop3_port,
    }
    created = tls_mailbox(
        admin,
        account,
        protocol,
        ports[(protocol, mode)],
        tls=mode == "tls",
        starttls=mode == "starttls",
        ca_certificate=ca.cert_pem.bytes().decode(),
    )
    assert created["tls_verify"] is True
    assert created["ca_certificate"].startswith("-----BEGIN CERTIFICATE-----")

    wait_for(lambda: tickets(agent, word), message=f"{protocol} over {mode} fetched nothing")
    expected: list[bool] = [True] if protocol == "imap" else []  # flagged, or deleted by POP3
    assert wait_for(lambda: seen_flags(server, account) == expected)
    state = admin.api.ok("GET", f"/mailboxes/{created['id']}")
    assert state["last_error"] is None
    admin.api.ok("DELETE", f"/mailboxes/{created['id']}", 204)


def test_a_certificate_the_desk_does_not_trust_is_refused_and_nothing_is_lost(
    server: Dovecot, ca: trustme.CA, admin: Person, agent: Person
) -> None:
    account = unique("untrusted")
    server.add_account(account, MAILBOX_PASSWORD)
    word = unique("waiting")
    server.deliver(account, mail("lee@customer.example", f"{word} mail", "Still here?").as_bytes())

    # Without the CA, the system's store does not vouch for the test server.
    created = tls_mailbox(admin, account, "imap", server.imaps_port, tls=True)
    error = wait_for(
        lambda: admin.api.ok("GET", f"/mailboxes/{created['id']}")["last_error"],
        message="no error recorded",
    )
    assert "TLS certificate is not trusted" in error
    assert "add that CA's certificate" in error
    assert seen_flags(server, account) == [False]  # left unread on the server
    assert tickets(agent, word) == []

    # The admin adds the CA: the waiting message comes in, the error goes.
    fields = {k: v for k, v in created.items() if k in ("name", "address", "protocol", "host",
              "port", "tls", "username", "password_env", "poll_seconds")}  # fmt: skip
    admin.api.ok(
        "PUT",
        f"/mailboxes/{created['id']}",
        json={**fields, "ca_certificate": ca.cert_pem.bytes().decode()},
    )
    wait_for(lambda: tickets(agent, word), message="the message did not come in after the fix")
    assert wait_for(lambda: seen_flags(server, account) == [True])
    assert wait_for(
        lambda: admin.api.ok("GET", f"/mailboxes/{created['id']}")["last_error"] is None
    )
    admin.api.ok("DELETE", f"/mailboxes/{created['id']}", 204)


def test_tls_settings_that_cannot_work_are_refused_with_the_field(
    server: Dovecot, admin: Person
) -> None:
    cases = [
        ({"tls": True, "starttls": True}, "starttls"),
        ({"tls": True, "ca_certificate": "not a certificate"}, "ca_certificate"),
        (
            {"tls": False, "ca_certificate": trustme.CA().cert_pem.bytes().decode()},
            "ca_certificate",
        ),
    ]
    for fields, field in cases:
        body = {
            "name": unique("bad-tls"),
            "address": "desk@desk.example",
            "protocol": "imap",
            "host": "127.0.0.1",
            "port": server.imaps_port,
            "username": "nobody",
            "password_env": MAILBOX_PASSWORD_ENV,
            "active": False,
            **fields,
        }
        refused = admin.api.post("/mailboxes", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == field
