"""When to poll a source next, and what a server's Retry-After asks for.

A failing source is retried soon after a first failure (a DNS blip must not cost a daily source a
whole day of calls), then less and less often (exponential back-off) so a dead or overloaded site is
not hammered; a long-failing source ends up polled no more often than the larger of its interval and
the back-off cap, and never sooner than the server itself asked with Retry-After.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from watcher.settings import Settings

# 2**64 times any base is far beyond every cap; stops float overflow for absurd failure counts.
_MAX_EXPONENT = 64


def next_poll_delay_s(
    *, interval_s: float, consecutive_failures: int, retry_after_s: float | None, settings: Settings
) -> float:
    """Seconds until the next poll of a source.

    Healthy: ``interval_s``. After n failures: ``fetch_backoff_base_s * 2**(n-1)``, capped by the
    larger of ``fetch_backoff_max_s`` and the interval. A Retry-After (capped by
    ``fetch_retry_after_max_s``) is a floor in every case.
    """
    delay = max(interval_s, 0.0)
    if consecutive_failures > 0:
        exponent = min(consecutive_failures - 1, _MAX_EXPONENT)
        cap = max(settings.fetch_backoff_max_s, delay)
        delay = min(settings.fetch_backoff_base_s * 2.0**exponent, cap)
    if retry_after_s is not None and retry_after_s > 0:
        delay = max(delay, min(retry_after_s, settings.fetch_retry_after_max_s))
    return delay


def parse_retry_after(value: str | None, *, cap_s: float, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from delta-seconds or an HTTP-date; None when absent or unreadable.

    A date in the past means "now" (0); anything beyond ``cap_s`` is cut to it, so a hostile or
    broken server cannot park a source for a year.
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap_s)
