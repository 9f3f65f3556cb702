"""Parse ``WATCHER_SMTP_URL`` into the connection options aiosmtplib needs.

One URL carries the whole SMTP configuration so operators set a single variable:

- ``smtp://host:25``                          plain (no STARTTLS unless asked for)
- ``smtp://user:pass@host:587?starttls=true`` STARTTLS, then AUTH
- ``smtps://user:pass@host:465``              implicit TLS from the first byte
- ``?verify=false``                           accept a self-signed certificate (Mailpit, lab relays)

Credentials are percent-decoded (``p%40ss`` is ``p@ss``). Anything else is refused with a message that
says what is wrong, so a typo fails at start-up instead of silently sending in clear text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_KNOWN_PARAMS = {"starttls", "verify"}


class SmtpUrlError(ValueError):
    """The SMTP URL cannot be used; the message says why (never echoes the password)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_tls: bool = False
    start_tls: bool = False
    validate_certs: bool = True

    def redacted(self) -> str:
        """The URL without the password, for logs and CLI output."""
        scheme = "smtps" if self.use_tls else "smtp"
        user = f"{self.username}:***@" if self.username else ""
        query = "?starttls=true" if self.start_tls else ""
        return f"{scheme}://{user}{self.host}:{self.port}{query}"


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SmtpUrlError(f"SMTP URL parameter {name}={value!r} must be true or false")


def parse_smtp_url(url: str) -> SmtpConfig:
    """Parse and validate ``url``; raise :class:`SmtpUrlError` with a clear reason when unusable."""
    if not url or not url.strip():
        raise SmtpUrlError("SMTP URL is empty")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtps"}:
        raise SmtpUrlError(f"SMTP URL scheme must be smtp:// or smtps://, not {parts.scheme or 'missing'!r}")
    if not parts.hostname:
        raise SmtpUrlError("SMTP URL has no host (expected smtp://[user:pass@]host[:port])")
    if parts.path not in {"", "/"} or parts.fragment:
        raise SmtpUrlError("SMTP URL must not have a path or fragment")
    params: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() not in _KNOWN_PARAMS:
            raise SmtpUrlError(f"unknown SMTP URL parameter {key!r} (known: starttls, verify)")
        params[key.lower()] = value
    start_tls = _flag("starttls", params["starttls"]) if "starttls" in params else False
    verify = _flag("verify", params["verify"]) if "verify" in params else True
    use_tls = scheme == "smtps"
    if use_tls and start_tls:
        raise SmtpUrlError("smtps:// is already TLS; starttls=true only applies to smtp://")
    try:
        port = parts.port
    except ValueError as error:
        raise SmtpUrlError(f"SMTP URL port is not a valid number: {error}") from None
    if port is None:
        port = 465 if use_tls else 587 if start_tls else 25
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise SmtpUrlError("SMTP URL has a password but no user name")
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        username=username,
        password=password,
        use_tls=use_tls,
        start_tls=start_tls,
        validate_certs=verify,
    )
