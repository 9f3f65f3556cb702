"""Mail backends: SMTP through aiosmtplib (pooled connections) and .eml files when no SMTP is set.

A backend turns one leased outbox row into an :class:`~subscribers.outbox.Outcome`; it never touches
the database. The SMTP backend runs the transaction step by step (MAIL, RCPT, DATA) because *where*
a failure happens decides what is safe:

- a reply code is definitive: 250 sent; 4xx and 552 retry later; other 5xx at RCPT/DATA failed and
  a hard bounce; 5xx at MAIL is our sender's problem, failed without blaming the subscriber;
- a dropped connection or timeout before DATA means nothing was handed over: retry;
- once DATA is under way the payload may have reached the server even if its reply is lost, so the
  outcome is ``unknown``: resending could deliver twice, so an admin decides.
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

import aiosmtplib

from subscribers.outbox import Claimed, Outcome
from subscribers.smtp_url import SmtpConfig, parse_smtp_url
from watcher.settings import Settings

TEMPORARY_5XX = {552}  # RFC 5321 §4.5.3.1.10: "too much mail data"/storage, historically retried
_SAFE_KEY = re.compile(r"[^A-Za-z0-9._-]+")


class Backend(Protocol):
    name: str

    async def send(self, message: Claimed) -> Outcome: ...

    async def close(self) -> None: ...


def envelope_sender(settings: Settings) -> str:
    """The bare address of ``mail_from`` (``Name <a@b>`` → ``a@b``), used as MAIL FROM."""
    address = parseaddr(settings.mail_from)[1]
    if "@" not in address:
        raise ValueError(f"WATCHER_MAIL_FROM has no usable address: {settings.mail_from!r}")
    return address


def make_backend(settings: Settings) -> Backend:
    """SMTP when ``smtp_url`` is set (a bad URL raises SmtpUrlError), else .eml files in the outbox dir."""
    if settings.smtp_url.strip():
        return SmtpBackend(
            config=parse_smtp_url(settings.smtp_url),
            sender=envelope_sender(settings),
            concurrency=settings.mail_concurrency,
            timeout_s=settings.mail_timeout_s,
        )
    return FileBackend(settings.outbox_dir)


class FileBackend:
    """Writes each message to ``<dir>/<YYYYmmdd-HHMMSS>-<id>-<key>.eml`` (tmp file + rename: atomic)."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, message: Claimed, now: datetime) -> Path:
        key = _SAFE_KEY.sub("_", message.message_key).strip("_")[:80] or "message"
        return self.directory / f"{now:%Y%m%d-%H%M%S}-{message.id}-{key}.eml"

    def _write(self, message: Claimed) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.path_for(message, datetime.now(UTC))
        tmp = final.with_name(f".{final.name}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(message.raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        return final

    async def send(self, message: Claimed) -> Outcome:
        try:
            path = await asyncio.to_thread(self._write, message)
        except OSError as error:
            return Outcome("retry", None, f"file outbox: {error}", stage="connect")
        return Outcome("sent", 250, str(path))

    async def close(self) -> None:
        return None


def wire_form(raw: bytes) -> bytes | None:
    """``raw`` as DATA carries it (dot-stuffed, ending in ``.<CRLF>``), or None when ``raw`` has a
    bare CR or LF or does not end with CRLF: then aiosmtplib's own normalisation is needed.

    Equal to what ``aiosmtplib`` writes for such a message (``tests/subscribers/mailer`` checks it).
    """
    line_feeds = raw.count(b"\n")
    if not raw.endswith(b"\r\n") or raw.count(b"\r\n") != line_feeds or raw.count(b"\r") != line_feeds:
        return None
    if b"\n." in raw:
        raw = raw.replace(b"\n.", b"\n..")
    if raw.startswith(b"."):
        raw = b"." + raw
    return raw + b".\r\n"


def _classify_reply(code: int, message: str, *, stage: str) -> Outcome:
    detail = f"{stage}: {code} {message}".strip()
    if 400 <= code < 500 or code in TEMPORARY_5XX:
        return Outcome("retry", code, detail, stage=stage)
    if stage == "mail" or not 500 <= code < 600:
        return Outcome("failed", code, detail, stage=stage)
    return Outcome("failed", code, detail, bounce=True, stage=stage)


class SmtpBackend:
    """Sends over up to ``concurrency`` reused aiosmtplib connections; reconnects after any failure."""

    name = "smtp"

    def __init__(self, *, config: SmtpConfig, sender: str, concurrency: int, timeout_s: float) -> None:
        self.config = config
        self.sender = sender
        self.timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._idle: list[aiosmtplib.SMTP] = []
        self._tls_context: ssl.SSLContext | None = None
        if not config.validate_certs:
            self._tls_context = ssl.create_default_context()
            self._tls_context.check_hostname = False
            self._tls_context.verify_mode = ssl.CERT_NONE

    def _new_client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.config.host,
            port=self.config.port,
            username=self.config.username,
            password=self.config.password,
            use_tls=self.config.use_tls,
            start_tls=self.config.start_tls,
            validate_certs=self.config.validate_certs,
            tls_context=self._tls_context,
            timeout=self.timeout_s,
        )

    async def send(self, message: Claimed) -> Outcome:
        async with self._slots:
            client = self._idle.pop() if self._idle else self._new_client()
            try:
                outcome = await self._transaction(client, message)
            except asyncio.CancelledError:
                client.close()
                raise
            if client.is_connected:
                self._idle.append(client)
            else:
                client.close()
            return outcome

    async def _connect(self, client: aiosmtplib.SMTP) -> Outcome | None:
        """Connect (TLS, STARTTLS, AUTH as configured); an Outcome only when that failed."""
        try:
            await client.connect()
        except aiosmtplib.SMTPResponseException as error:
            client.close()
            return Outcome("retry", error.code, f"connect: {error.code} {error.message}", stage="connect")
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as error:
            client.close()
            return Outcome("retry", None, f"connect to {self.config.redacted()}: {error!r}", stage="connect")
        return None

    async def _transaction(self, client: aiosmtplib.SMTP, message: Claimed) -> Outcome:
        reused = client.is_connected
        if not reused and (failure := await self._connect(client)):
            return failure
        try:
            await client.mail(self.sender)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError):
            client.close()
            if not reused:
                return Outcome("retry", None, "mail: connection lost", stage="mail")
            # A pooled connection the server closed while idle: nothing was sent, reconnect once.
            return await self._transaction(client, message)
        except aiosmtplib.SMTPResponseException as error:
            return await self._reset(client, _classify_reply(error.code, error.message, stage="mail"))
        return await self._rcpt_and_data(client, message)

    async def _rcpt_and_data(self, client: aiosmtplib.SMTP, message: Claimed) -> Outcome:
        try:
            await client.rcpt(message.recipient)
        except aiosmtplib.SMTPResponseException as error:
            return await self._reset(client, _classify_reply(error.code, error.message, stage="rcpt"))
        except ValueError as error:  # an address SMTP cannot carry (e.g. non-ASCII without SMTPUTF8)
            return await self._reset(client, Outcome("failed", None, f"rcpt: {error}", stage="rcpt"))
        except (aiosmtplib.SMTPException, OSError) as error:
            client.close()
            return Outcome("retry", None, f"rcpt: {error!r}", stage="rcpt")
        try:
            response = await self._data(client, message.raw)
        except aiosmtplib.SMTPResponseException as error:
            return await self._reset(client, _classify_reply(error.code, error.message, stage="data"))
        except (aiosmtplib.SMTPException, OSError) as error:
            client.close()
            detail = f"data: connection lost or timed out after the message was handed over: {error!r}"
            return Outcome("unknown", None, detail, stage="data")
        return Outcome("sent", response.code, f"{response.code} {response.message}"[:500], stage="data")

    async def _data(self, client: aiosmtplib.SMTP, raw: bytes) -> aiosmtplib.SMTPResponse:
        """DATA with ``raw`` written as it goes on the wire (``client.data`` when it is not CRLF-only).

        ``client.data`` rewrites every line ending and dot-stuffs with two regular expressions over
        the whole message: a fifth of a drain's CPU for our ~40 KiB digests. Our composer writes
        CRLF-only messages, for which dot-stuffing is one ``bytes.replace`` (:func:`wire_form`).
        The replies are checked as ``client.data`` checks them: 354 to DATA, 250 after the payload.
        """
        wire = wire_form(raw)
        if wire is None:
            return await client.data(raw)
        response = await client.execute_command(b"DATA")
        if response.code != 354:
            raise aiosmtplib.SMTPDataError(response.code, response.message)
        if client.protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        client.protocol.write(wire)  # no await in between: the reply cannot arrive unread
        response = await client.protocol.read_response(timeout=self.timeout_s)
        if response.code != 250:
            raise aiosmtplib.SMTPDataError(response.code, response.message)
        return response

    async def _reset(self, client: aiosmtplib.SMTP, outcome: Outcome) -> Outcome:
        """Clear the refused transaction so the connection can be reused; drop it if that fails."""
        if client.is_connected:
            try:
                await client.rset()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
        return outcome

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
