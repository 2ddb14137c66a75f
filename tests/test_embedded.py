"""Ports for the servers the tests and the benchmark start."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tempodesk import embedded

RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


@pytest.mark.skipif(not RANGE.exists(), reason="the kernel's ephemeral range is Linux's")
def test_a_free_port_lies_below_the_range_outgoing_connections_take() -> None:
    # A port from bind(0) lies in that range: an outgoing connection of another
    # process could take it before our server binds (a CI run failed so).
    low = int(RANGE.read_text().split()[0])
    ports = [embedded.free_port() for _ in range(50)]
    assert all(1024 <= port < low for port in ports), ports


def test_a_port_is_never_handed_out_twice_and_is_free() -> None:
    ports = [embedded.free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))
