"""A real SMTP server (aiosmtpd) on loopback whose misbehaviour each test scripts.

``smtp_server.script("a@x.eu", Fault("rcpt", code=451), Fault("data", "drop"))`` makes the next RCPT
for that address answer 451 and the DATA after that drop the connection; faults are consumed in
order, then the server accepts. ``smtp_server.script_all(...)`` queues faults for whatever
transaction comes next (per message count). Every accepted message is recorded in
``smtp_server.received`` (Message-ID, recipient, bytes) so tests can assert "no message twice".

Actions: ``reply`` (answer ``code``), ``drop`` (close without a reply: at ``data`` after the whole
payload arrived), ``drop-mid`` (``data`` only: answer 354, read a little, close), ``stall`` (never
answer; clients must time out). ``tls=True`` adds STARTTLS, ``implicit_tls=True`` serves TLS from the
first byte, ``auth={"user": "pass"}`` requires AUTH — all with a throwaway self-signed certificate.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

STALL_S = 120.0


@dataclass(frozen=True)
class Fault:
    stage: str  # "rcpt" | "data"
    action: str = "reply"  # reply | drop | drop-mid | stall
    code: int = 451
    message: str = "injected fault"


@dataclass(frozen=True)
class Received:
    message_id: str
    recipient: str
    data: bytes


class FaultHandler:
    """aiosmtpd handler: applies scripted faults, records what it accepted."""

    def __init__(self) -> None:
        self.per_recipient: dict[str, deque[Fault]] = {}
        self.any: deque[Fault] = deque()
        self.received: list[Received] = []
        self.transactions = 0
        self.connections = 0
        self.lock = threading.Lock()

    def take(self, recipient: str, stage: str, *, mid_data: bool = False) -> Fault | None:
        """Pop the next fault for this recipient (else the next "any" fault) if it is for ``stage``."""
        with self.lock:
            for queue in (self.per_recipient.get(recipient.lower()), self.any):
                if queue and queue[0].stage == stage and (queue[0].action == "drop-mid") == mid_data:
                    return queue.popleft()
        return None

    async def apply(self, server: SMTP, fault: Fault) -> str | None:
        if fault.action == "reply":
            return f"{fault.code} {fault.message}"
        if fault.action == "stall":
            await asyncio.sleep(STALL_S)
            return f"{fault.code} {fault.message}"
        if server.transport is not None:  # drop
            server.transport.close()
        return "421 closing"  # never reaches the client

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        with self.lock:
            self.connections += 1  # one EHLO per plain connection (two with STARTTLS)
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        fault = self.take(address, "rcpt")
        if fault is not None:
            return await self.apply(server, fault) or "451 injected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        recipient = envelope.rcpt_tos[0] if envelope.rcpt_tos else ""
        with self.lock:
            self.transactions += 1
        fault = self.take(recipient, "data")
        if fault is not None:
            return await self.apply(server, fault) or "451 injected"
        data = envelope.original_content or b""
        headers = BytesHeaderParser().parsebytes(data)
        with self.lock:
            self.received.append(Received(str(headers.get("Message-ID", "")).strip(), recipient, data))
        return "250 Message accepted for delivery"


class _FaultySMTP(SMTP):
    """Adds the one fault a handler cannot produce: a connection dropped in the middle of DATA."""

    async def smtp_DATA(self, arg: str) -> None:
        handler: FaultHandler = self.event_handler
        recipients = self.envelope.rcpt_tos if self.envelope else []
        fault = handler.take(recipients[0], "data", mid_data=True) if recipients else None
        if fault is None:
            await super().smtp_DATA(arg)
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.read(64)
        if self.transport is not None:
            self.transport.close()


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _FaultySMTP(self.handler, **self.SMTP_kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server SSL context with a fresh self-signed certificate for 127.0.0.1 (needs openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed; TLS tests need it to make a certificate")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class FaultySmtpServer:
    """Owns the aiosmtpd controller thread; see the module docstring for the scripting API."""

    def __init__(
        self,
        *,
        tmp: Path | None = None,
        tls: bool = False,
        implicit_tls: bool = False,
        auth: dict[str, str] | None = None,
    ) -> None:
        self.handler = FaultHandler()
        self.port = _free_port()
        kwargs: dict[str, Any] = {}
        context = self_signed_context(tmp or Path(".")) if (tls or implicit_tls) else None
        if tls:
            kwargs.update(tls_context=context, require_starttls=True)
        if auth is not None:
            kwargs.update(authenticator=_Authenticator(auth), auth_require_tls=tls, auth_required=True)
        self.implicit_tls = implicit_tls
        self.controller = _Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=context if implicit_tls else None,
            **kwargs,
        )

    @property
    def url(self) -> str:
        return f"{'smtps' if self.implicit_tls else 'smtp'}://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def message_ids(self) -> Counter[str]:
        return Counter(message.message_id for message in self.handler.received)

    def duplicates(self) -> list[str]:
        return [mid for mid, count in self.message_ids().items() if count > 1]

    def script(self, recipient: str, *faults: Fault) -> None:
        with self.handler.lock:
            self.handler.per_recipient.setdefault(recipient.lower(), deque()).extend(faults)

    def script_all(self, *faults: Fault) -> None:
        with self.handler.lock:
            self.handler.any.extend(faults)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


class _Authenticator:
    def __init__(self, accounts: dict[str, str]) -> None:
        self.accounts = accounts

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.accounts.get(user) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[FaultySmtpServer]:
    server = FaultySmtpServer()
    server.start()
    yield server
    server.stop()
