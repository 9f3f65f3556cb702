"""Back-off schedule and Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.fetch.conftest import make_settings
from watcher.fetch.backoff import next_poll_delay_s, parse_retry_after

SETTINGS = make_settings(
    fetch_backoff_base_s=300.0, fetch_backoff_max_s=3600.0, fetch_retry_after_max_s=7200.0
)


def delay(interval: float, failures: int, retry_after: float | None = None) -> float:
    return next_poll_delay_s(
        interval_s=interval, consecutive_failures=failures, retry_after_s=retry_after, settings=SETTINGS
    )


def test_healthy_source_keeps_its_interval() -> None:
    assert delay(900, 0) == 900


@pytest.mark.parametrize(("failures", "expected"), [(1, 300), (2, 600), (3, 1200), (4, 2400), (5, 3600)])
def test_failures_double_from_the_base_up_to_the_cap(failures: int, expected: float) -> None:
    assert delay(60, failures) == expected


def test_huge_failure_count_stays_at_the_cap() -> None:
    assert delay(60, 10_000) == 3600


def test_a_daily_source_is_retried_soon_after_one_failure_then_backs_off_to_its_interval() -> None:
    assert delay(86_400, 1) == 300
    assert delay(86_400, 6) == 9600
    assert delay(86_400, 50) == 86_400


def test_retry_after_is_a_floor_healthy_or_failing() -> None:
    assert delay(60, 0, retry_after=1000) == 1000
    assert delay(60, 1, retry_after=1000) == 1000
    assert delay(60, 4, retry_after=10) == 2400


def test_retry_after_is_capped() -> None:
    assert delay(60, 0, retry_after=10**9) == 7200


def test_parse_retry_after_delta_seconds() -> None:
    assert parse_retry_after("120", cap_s=3600) == 120
    assert parse_retry_after(" 5 ", cap_s=3600) == 5
    assert parse_retry_after("999999", cap_s=3600) == 3600
    assert parse_retry_after("-4", cap_s=3600) == 0


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    earlier = format_datetime(now - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(later, cap_s=3600, now=now) == 90
    assert parse_retry_after(earlier, cap_s=3600, now=now) == 0


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "nan", "Mon, 99 Foo 2026"])
def test_parse_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, cap_s=3600) is None
