"""SMTP URL parsing, TLS/STARTTLS/AUTH against aiosmtpd, the .eml file backend and the rate limiter."""

from __future__ import annotations

import email
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from subscribers.drain import RateLimiter, TokenBucket, drain_sync
from subscribers.mailer import FileBackend, SmtpBackend, make_backend
from subscribers.smtp_url import SmtpConfig, SmtpUrlError, parse_smtp_url
from tests.support.outbox_data import queue
from tests.support.smtp_server import FaultySmtpServer
from watcher.settings import get_settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.eu", SmtpConfig(host="mail.example.eu", port=25)),
        (
            "smtp://user:pass@host:587?starttls=true",
            SmtpConfig(host="host", port=587, username="user", password="pass", start_tls=True),
        ),
        ("smtp://host?starttls=yes", SmtpConfig(host="host", port=587, start_tls=True)),
        ("smtps://host:465", SmtpConfig(host="host", port=465, use_tls=True)),
        ("smtps://host", SmtpConfig(host="host", port=465, use_tls=True)),
        (
            "smtps://u%40x.eu:p%3Ass%2Fw%40rd@host?verify=false",
            SmtpConfig(
                host="host",
                port=465,
                username="u@x.eu",
                password="p:ss/w@rd",
                use_tls=True,
                validate_certs=False,
            ),
        ),
    ],
)
def test_smtp_urls_parse(url: str, expected: SmtpConfig) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("http://host", "scheme"),
        ("mail.example.eu:25", "scheme"),
        ("smtp://", "no host"),
        ("smtp://host:99999", "port"),
        ("smtp://host:abc", "port"),
        ("smtp://host?tls=true", "unknown SMTP URL parameter"),
        ("smtp://host?starttls=maybe", "true or false"),
        ("smtps://host?starttls=true", "already TLS"),
        ("smtp://host/path", "path"),
        ("smtp://:secret@host", "no user name"),
    ],
)
def test_bad_smtp_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(SmtpUrlError, match=reason):
        parse_smtp_url(url)


def test_redacted_url_hides_the_password() -> None:
    config = parse_smtp_url("smtp://user:s3cret@host:587?starttls=true")
    assert "s3cret" not in config.redacted() and "s3cret" not in repr(config)
    assert config.redacted() == "smtp://user:***@host:587?starttls=true"


def test_backend_follows_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(make_backend(get_settings()), FileBackend)
    monkeypatch.setenv("WATCHER_SMTP_URL", "smtp://127.0.0.1:2525")
    get_settings.cache_clear()
    assert isinstance(make_backend(get_settings()), SmtpBackend)
    monkeypatch.setenv("WATCHER_SMTP_URL", "smtp://host?bogus=1")
    get_settings.cache_clear()
    with pytest.raises(SmtpUrlError):
        make_backend(get_settings())


def test_without_smtp_messages_become_eml_files(sqlite_engine: Engine) -> None:
    queue(sqlite_engine, to="anna@example.eu", key="digest:weekly:2026-W47")
    report = drain_sync(get_settings())
    assert (report.backend, report.sent) == ("file", 1)
    outbox = get_settings().outbox_dir
    [path] = list(outbox.iterdir())
    assert path.name.endswith("-1-digest_weekly_2026-W47.eml") and path.name[:15].replace("-", "").isdigit()
    parsed = email.message_from_bytes(path.read_bytes())
    assert parsed["To"] == "anna@example.eu" and parsed["Message-ID"]
    assert drain_sync(get_settings()).claimed == 0 and len(list(outbox.iterdir())) == 1


@pytest.fixture
def tls_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FaultySmtpServer]:
    server = FaultySmtpServer(tmp=tmp_path, **request.param)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("tls_server", "url_template"),
    [
        (
            {"tls": True, "auth": {"alice": "p@ss:word"}},
            "smtp://alice:p%40ss%3Aword@127.0.0.1:{port}?starttls=true&verify=false",
        ),
        ({"implicit_tls": True}, "smtps://127.0.0.1:{port}?verify=false"),
    ],
    indirect=["tls_server"],
)
def test_starttls_auth_and_implicit_tls(
    tls_server: FaultySmtpServer, url_template: str, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHER_SMTP_URL", url_template.format(port=tls_server.port))
    get_settings.cache_clear()
    for n in range(3):
        queue(sqlite_engine, to=f"u{n}@example.eu", key="k")
    report = drain_sync(get_settings())
    assert report.sent == 3, report.errors
    assert len(tls_server.received) == 3


def test_wrong_password_is_a_connection_failure_not_a_bounce(
    tmp_path: Path, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FaultySmtpServer(tmp=tmp_path, tls=True, auth={"alice": "right"})
    server.start()
    try:
        monkeypatch.setenv(
            "WATCHER_SMTP_URL", f"smtp://alice:wrong@127.0.0.1:{server.port}?starttls=true&verify=false"
        )
        monkeypatch.setenv("WATCHER_MAIL_CONCURRENCY", "1")
        get_settings.cache_clear()
        queue(sqlite_engine, to="a@example.eu", key="k")
        queue(sqlite_engine, to="b@example.eu", key="k")
        report = drain_sync(get_settings())
    finally:
        server.stop()
    assert report.failed == 0 and report.retry == 1 and report.stopped and "535" in report.stopped
    assert report.released == 1 and server.received == []


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10.0, capacity=10.0, tokens=0.0, clock=lambda: now[0])
    assert bucket.wait_s(5) == pytest.approx(0.5)
    now[0] = 0.3
    assert bucket.refill() == pytest.approx(3.0)
    now[0] = 100.0
    assert bucket.refill() == 10.0


async def test_rate_limiter_honours_the_hour_already_used() -> None:
    limiter = RateLimiter(per_second=1000.0, per_hour=100, sent_last_hour=95)
    assert await limiter.acquire(50) == 5
    limiter.refund(2)
    assert await limiter.acquire(50) == 2
    assert limiter.hour.wait_s() > 30  # the next message must wait for the hour bucket


def test_unwritable_file_outbox_retries_and_stops(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHER_MAIL_CONCURRENCY", "1")
    get_settings.cache_clear()
    outbox = get_settings().outbox_dir
    outbox.parent.mkdir(parents=True, exist_ok=True)
    outbox.write_text("a file where the outbox directory should be")
    queue(sqlite_engine, to="a@example.eu", key="k")
    queue(sqlite_engine, to="b@example.eu", key="k")
    report = drain_sync(get_settings())
    assert (report.sent, report.retry, report.released) == (0, 1, 1)
    assert report.stopped and "file outbox" in report.stopped


def test_a_spent_hourly_quota_pauses_the_drain_without_holding_rows(
    smtp_server: FaultySmtpServer, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHER_SMTP_URL", smtp_server.url)
    monkeypatch.setenv("WATCHER_MAIL_RATE_PER_HOUR", "3")
    get_settings.cache_clear()
    for n in range(5):
        queue(sqlite_engine, to=f"u{n}@example.eu", key="k")
    report = drain_sync(get_settings())
    assert (report.sent, report.claimed) == (3, 3) and report.paused and not report.stopped
    assert "paused: rate limit reached" in str(report)
    again = drain_sync(get_settings())  # the last hour's sends count against the quota
    assert again.claimed == 0 and again.paused and len(smtp_server.received) == 3
