"""The local gateway reports the caller's address as API Gateway would, so per-client limits can be tested."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.gateway import caller_address


def request_from(peer: str, forwarded: str | None = None) -> Request:
    headers = [("X-Forwarded-For", forwarded)] if forwarded is not None else []
    return Request(EnvironBuilder(path="/logins", headers=headers, environ_base={"REMOTE_ADDR": peer}).get_environ())


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("127.0.0.1", "203.0.113.7, 198.51.100.1", "203.0.113.7"),  # the client, not the proxies after it
        ("127.0.0.1", "2001:db8::1", "2001:db8::1"),
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "not an address", "127.0.0.1"),
        ("198.51.100.4", "203.0.113.7", "198.51.100.4"),  # a remote peer cannot choose its address
    ],
)
def test_a_loopback_peer_names_its_client_in_x_forwarded_for(peer: str, forwarded: str | None, expected: str) -> None:
    assert caller_address(request_from(peer, forwarded)) == expected
