"""The one SSRF gate: which addresses an outbound fetch may reach.

Sources are configured by admins and feeds contain links, so any URL we fetch may point into our own
network (the cloud metadata service, the database, an admin panel on loopback). Hostnames are checked
*after* DNS resolution, because a public-looking name can resolve to 127.0.0.1, and the connection is
then made to the checked address itself (``GuardedBackend``), so a second lookup cannot answer
differently (DNS rebinding). If any address a name resolves to is refused, the whole name is refused:
an attacker who controls a zone must not win by mixing one public and one private answer.

Python's ``ipaddress.is_global`` changed between releases (3.11 still calls 224.0.0.1 and fec0::1
global), so the ranges are listed here explicitly, with ``is_global`` only as a last safety net.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import anyio
import httpcore

from watcher.fetch.errors import BlockedAddress, ConnectionFailed
from watcher.fetch.streams import AsyncioBackend

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

_BLOCKED_V4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified ('this network')"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT (shared address space)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (cloud metadata lives here)"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved (incl. broadcast)"),
)

_BLOCKED_V6: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("::/96", "IPv4-compatible (deprecated)"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/32", "Teredo tunnel"),
    ("2001:2::/48", "benchmarking"),
    ("2001:db8::/32", "documentation"),
    ("2001::/23", "IETF protocol assignments"),
    ("2002::/16", "6to4 tunnel"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing (SRv6)"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")

_V4_TABLE = [(ipaddress.IPv4Network(net), why) for net, why in _BLOCKED_V4]
_V6_TABLE = [(ipaddress.IPv6Network(net), why) for net, why in _BLOCKED_V6]


def parse_address(ip: str | IPAddress) -> IPAddress:
    """Parse an address as getaddrinfo or a URL gives it (IPv6 zone ids like ``%eth0`` dropped)."""
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ip
    return ipaddress.ip_address(ip.split("%", 1)[0].strip("[]"))


def blocked_reason(ip: str | IPAddress) -> str | None:
    """Why ``ip`` must not be fetched, or None when it is a public unicast address."""
    address = parse_address(ip)
    if isinstance(address, ipaddress.IPv4Address):
        for network, why in _V4_TABLE:
            if address in network:
                return why
    else:
        if address in _NAT64:  # well-known NAT64 prefix: judge the IPv4 address it carries
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            inner_reason = blocked_reason(inner)
            return f"NAT64 of {inner}, {inner_reason}" if inner_reason else None
        for network6, why in _V6_TABLE:
            if address in network6:
                return why
        if address not in _GLOBAL_UNICAST_V6:
            return "not global unicast"
    if not address.is_global:  # safety net for ranges a newer Python knows about
        return "not globally routable"
    return None


def check_address(ip: str | IPAddress, *, allowed_networks: Iterable[IPNetwork] = ()) -> None:
    """Raise BlockedAddress unless ``ip`` is public (or inside an operator-allowed network)."""
    address = parse_address(ip)
    if any(address in network for network in allowed_networks if network.version == address.version):
        return
    reason = blocked_reason(address)
    if reason:
        raise BlockedAddress(f"address {address} is {reason}")


def parse_networks(cidrs: Iterable[str]) -> list[IPNetwork]:
    """Parse operator-given CIDRs (``fetch_allowed_networks``); a bad entry is a config error."""
    return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order (numeric forms like 127.1 too)."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


async def resolve_and_check(
    host: str,
    port: int,
    allow_private: bool,
    *,
    allowed_networks: Sequence[IPNetwork] = (),
    resolver: Resolver | None = None,
) -> list[str]:
    """Resolve ``host`` and return its addresses if every one passes the gate.

    Raises BlockedAddress naming the host and the refused address, or ConnectionFailed when the
    name does not resolve. With ``allow_private`` everything resolvable is allowed.
    """
    host = host.strip("[]")
    try:
        addresses = [str(parse_address(host))]
    except ValueError:
        try:
            addresses = await (resolver or system_resolver)(host, port)
        except OSError as error:
            raise ConnectionFailed(f"DNS lookup failed for {host}: {error}") from error
    if not addresses:
        raise ConnectionFailed(f"DNS lookup for {host} returned no address")
    if allow_private:
        return addresses
    for address in addresses:
        try:
            check_address(address, allowed_networks=allowed_networks)
        except BlockedAddress as error:
            raise BlockedAddress(f"refused {host}: {error} (SSRF gate)") from None
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that resolves, checks, then connects to the checked IP only.

    TLS is unaffected: httpcore wraps the returned stream with ``server_hostname`` taken from the
    request URL, so certificates are still verified against the hostname.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        allowed_networks: Sequence[IPNetwork] = (),
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._allowed_networks = list(allowed_networks)
        self._resolver = resolver
        self._inner = inner or AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await resolve_and_check(
                    host,
                    port,
                    self._allow_private,
                    allowed_networks=self._allowed_networks,
                    resolver=self._resolver,
                )
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"DNS lookup for {host} timed out") from error
        last_error: Exception | None = None
        for address in addresses:  # plain IP literals: the inner backend does no second lookup
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress(f"unix socket {path} refused (SSRF gate)")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
