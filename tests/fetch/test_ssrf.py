"""The SSRF gate on its own: address rules, resolution, and connections pinned to checked addresses."""

from __future__ import annotations

import ipaddress

import pytest

from tests.support.http_server import LoopbackServer
from watcher.fetch.errors import BlockedAddress, ConnectionFailed
from watcher.fetch.ssrf import GuardedBackend, check_address, parse_address, parse_networks, resolve_and_check

BLOCKED = [
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.169.254", "link-local"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.0.0.8", "IETF"),
    ("192.0.2.1", "documentation"),
    ("192.88.99.1", "6to4 relay"),
    ("192.168.1.1", "private"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1, loopback"),
    ("64:ff9b::a00:1", "NAT64 of 10.0.0.1, private"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("100::1", "discard"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001:2::1", "benchmarking"),
    ("2001:db8::1", "documentation"),
    ("2002:7f00:1::1", "6to4"),
    ("2002:808:808::1", "6to4"),
    ("3fff::1", "documentation"),
    ("fc00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("4000::1", "not global unicast"),
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "151.101.1.140",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "64:ff9b::808:808",
]


@pytest.mark.parametrize(("address", "reason"), BLOCKED)
def test_blocked_addresses(address: str, reason: str) -> None:
    with pytest.raises(BlockedAddress, match=reason) as caught:
        check_address(address)
    assert str(parse_address(address)) in str(caught.value)


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address: str) -> None:
    check_address(address)


def test_operator_allowlist_exempts_only_its_networks() -> None:
    allowed = parse_networks(["10.1.0.0/16", "fd00::/8"])
    check_address("10.1.2.3", allowed_networks=allowed)
    check_address("fd00::5", allowed_networks=allowed)
    with pytest.raises(BlockedAddress):
        check_address("10.2.0.1", allowed_networks=allowed)
    with pytest.raises(BlockedAddress):
        check_address("127.0.0.1", allowed_networks=allowed)


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "127.1",
        "2130706433",
        "0x7f000001",
        "017700000001",
        "0x7f.1",
        "[::1]",
        "::ffff:127.0.0.1",
        "LOCALHOST",
    ],
)
async def test_names_and_odd_spellings_resolving_to_loopback_are_refused(host: str) -> None:
    with pytest.raises(BlockedAddress, match=r"loopback|IPv4-mapped") as caught:
        await resolve_and_check(host, 80, False)
    assert "refused" in str(caught.value)


async def test_allow_private_lets_everything_through() -> None:
    assert await resolve_and_check("localhost", 80, True) == ["127.0.0.1"]
    assert await resolve_and_check("10.0.0.1", 80, True) == ["10.0.0.1"]


async def test_one_private_answer_among_public_ones_refuses_the_name() -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(BlockedAddress, match=r"evil\.example.*10\.0\.0\.7"):
        await resolve_and_check("evil.example", 443, False, resolver=mixed)


async def test_public_answers_are_returned() -> None:
    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]

    assert await resolve_and_check("example.com", 443, False, resolver=public) == [
        "93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
    ]


async def test_unresolvable_name_is_a_connection_failure() -> None:
    with pytest.raises(ConnectionFailed, match=r"DNS lookup failed for nothing\.invalid"):
        await resolve_and_check("nothing.invalid", 80, False)


async def test_backend_connects_to_the_address_it_checked(http_server: LoopbackServer) -> None:
    """A name only our resolver knows: the connection can only succeed by using the checked IP."""
    http_server.route("/", b"ok")
    port = http_server.server.server_address[1]
    seen: list[str] = []

    async def resolver(host: str, _port: int) -> list[str]:
        seen.append(host)
        return ["127.0.0.1"]

    backend = GuardedBackend(
        allow_private=False, allowed_networks=[ipaddress.ip_network("127.0.0.1/32")], resolver=resolver
    )
    stream = await backend.connect_tcp("only-our-resolver-knows.invalid", port, timeout=2)
    await stream.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (await stream.read(65536)).startswith(b"HTTP/1.1 200")
    await stream.aclose()
    assert seen == ["only-our-resolver-knows.invalid"]


async def test_backend_refuses_before_connecting(http_server: LoopbackServer) -> None:
    backend = GuardedBackend(allow_private=False)
    with pytest.raises(BlockedAddress, match=r"localhost.*127\.0\.0\.1"):
        await backend.connect_tcp("localhost", http_server.server.server_address[1], timeout=2)
    assert http_server.requests == []


async def test_backend_refuses_unix_sockets() -> None:
    with pytest.raises(BlockedAddress, match="unix socket"):
        await GuardedBackend(allow_private=True).connect_unix_socket("/var/run/docker.sock")
