"""The SSRF gate as every fetch meets it: refused before any connection, redirects re-checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fetch.conftest import make_settings
from tests.support.http_server import LoopbackServer
from watcher.fetch import BlockedAddress, Fetcher
from watcher.fetch.ssrf import parse_address
from watcher.settings import Settings, get_settings

# Hosts that reach this machine or a private network, however they are spelled.
LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "localhost",
    "LocalHost",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "017700000001",
    "0x7f.0.0.1",
    "127.255.255.254",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[64:ff9b::127.0.0.1]",
    "[2002:7f00:1::1]",
]
ELSEWHERE = [
    "0.0.0.0",
    "[::]",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "198.18.0.1",
    "192.0.2.10",
    "224.0.0.1",
    "255.255.255.255",
    "[fe80::1]",
    "[fc00::1]",
    "[fd00:ec2::254]",
    "[fec0::1]",
    "[ff02::1]",
    "[2001:db8::1]",
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
]


def closed_settings(**overrides: object) -> Settings:
    return make_settings(allow_private_networks=False, **overrides)


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
async def test_loopback_in_any_spelling_is_refused_before_connecting(
    http_server: LoopbackServer, host: str
) -> None:
    http_server.route("/", b"secret")
    url = f"http://{host}:{http_server.server.server_address[1]}/"
    async with Fetcher(closed_settings()) as fetcher:
        with pytest.raises(BlockedAddress, match="SSRF gate") as caught:
            await fetcher.get(url)
    assert "refused" in str(caught.value)
    assert http_server.requests == []


@pytest.mark.parametrize("host", ELSEWHERE)
@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_private_and_special_addresses_are_refused(host: str, scheme: str) -> None:
    """Refused without trying: a connect attempt to these would hang until the connect timeout."""
    async with Fetcher(closed_settings(fetch_connect_timeout_s=5.0)) as fetcher:
        with pytest.raises(BlockedAddress, match=re.escape(str(parse_address(host)))):
            await fetcher.get(f"{scheme}://{host}/latest/meta-data/")


async def test_the_environment_switch_is_honoured(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = http_server.route("/", b"ok")
    monkeypatch.setenv("WATCHER_ALLOW_PRIVATE_NETWORKS", "false")
    get_settings.cache_clear()
    async with Fetcher() as fetcher:
        with pytest.raises(BlockedAddress):
            await fetcher.get(url)
    monkeypatch.setenv("WATCHER_ALLOW_PRIVATE_NETWORKS", "true")
    get_settings.cache_clear()
    async with Fetcher() as fetcher:
        assert (await fetcher.get(url)).body == b"ok"


async def test_post_and_download_pass_the_same_gate(http_server: LoopbackServer, tmp_path: Path) -> None:
    url = http_server.route("/", b"ok")
    async with Fetcher(closed_settings()) as fetcher:
        with pytest.raises(BlockedAddress):
            await fetcher.post(url, data={"a": "b"})
        with pytest.raises(BlockedAddress):
            await fetcher.download(url, tmp_path / "x")
    assert http_server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://127.0.0.1:6379/_INFO",
        "dict://127.0.0.1:11211/stat",
        "http://user:pass@example.com/",
        "http://example.com@127.0.0.1/",
    ],
)
async def test_other_schemes_and_credentials_are_refused(url: str) -> None:
    async with Fetcher(make_settings()) as fetcher:  # refused even with private networks allowed
        with pytest.raises(BlockedAddress):
            await fetcher.get(url)


# The first hop is allowed through the operator allowlist (127.0.0.1/32 only); what it redirects to is not.
def gate_with_first_hop_allowed() -> Settings:
    return closed_settings(fetch_allowed_networks=["127.0.0.1/32"])


async def test_allowlisted_first_hop_is_fetched(http_server: LoopbackServer) -> None:
    url = http_server.route("/start", b"fine")
    async with Fetcher(gate_with_first_hop_allowed()) as fetcher:
        assert (await fetcher.get(url)).body == b"fine"


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/admin",
        "http://[::1]:{port}/admin",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://10.0.0.5/",
        "https://192.168.1.1/",
        "http://0x7f000002:{port}/",
        "http://[::ffff:10.0.0.1]/",
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1:{port}/start",
    ],
)
async def test_redirect_to_a_blocked_target_is_refused(http_server: LoopbackServer, target: str) -> None:
    port = http_server.server.server_address[1]
    start = http_server.route("/start", status=302, headers={"Location": target.format(port=port)})
    http_server.route("/admin", b"secret")
    async with Fetcher(gate_with_first_hop_allowed()) as fetcher:
        with pytest.raises(BlockedAddress):
            await fetcher.get(start)
    assert [request.path for request in http_server.requests] == ["/start"]


async def test_redirect_chain_is_checked_at_every_hop(http_server: LoopbackServer) -> None:
    http_server.route("/one", status=301, headers={"Location": "/two"})
    http_server.route("/two", status=302, headers={"Location": "http://169.254.169.254/"})
    async with Fetcher(gate_with_first_hop_allowed()) as fetcher:
        with pytest.raises(BlockedAddress, match=r"169\.254\.169\.254.*link-local"):
            await fetcher.get(http_server.url("/one"))
    assert [request.path for request in http_server.requests] == ["/one", "/two"]


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "HTTPS_PROXY"])
async def test_proxy_environment_is_ignored(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """A proxy would be the only address the gate sees, so the environment never picks one."""
    url = http_server.route("/", b"direct")
    monkeypatch.setenv(variable, "http://127.0.0.1:9/")
    async with Fetcher(make_settings()) as fetcher:
        assert (await fetcher.get(url)).body == b"direct"
