"""One Settings object for the whole service.

Every limit lives here with a default and a description, so operators can read what a knob does
(README "Configuration" lists them) and nothing is a literal buried in code. Values come from the
environment with the ``WATCHER_`` prefix, or from a ``.env`` file.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration; see README "Configuration" for the full table."""

    model_config = SettingsConfigDict(env_prefix="WATCHER_", env_file=".env", extra="ignore")

    # --- storage and paths -------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Where the SQLite database, outbox and locks live.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means sqlite:///<data_dir>/watcher.db (WAL mode)."
    )
    cache_dir: Path | None = Field(
        None, description="Compiled vocabulary, parsed sources file; empty: $XDG_CACHE_HOME/cluster-watch."
    )
    sources: Path = Field(PROJECT_ROOT / "config" / "sources.yaml", description="Sources file to poll.")
    ecosystems: Path = Field(
        PROJECT_ROOT / "config" / "ecosystems.yaml", description="Taxonomy and vocabularies file."
    )

    # --- web and identity --------------------------------------------------------------------
    secret_key: str = Field(
        "change-me-in-production", description="Signs tokens and session cookies. Set it in production."
    )
    base_url: str = Field("http://127.0.0.1:8000", description="Public URL used in emails and feeds.")
    host: str = Field("127.0.0.1", description="Address `watcher serve`/`run` bind to.")
    port: int = Field(8000, description="Port `watcher serve`/`run` listen on.")
    timezone: str = Field("Europe/Rome", description="Default timezone for schedules and subscribers.")
    web_max_body_bytes: int = Field(1024 * 1024, description="Largest request body accepted (413 above).")
    csrf_max_age_s: int = Field(12 * 3600, description="Lifetime of a CSRF token embedded in a form.")
    admin_session_max_age_s: int = Field(8 * 3600, description="Admin login lifetime (signed cookie).")
    login_rate_per_minute: int = Field(5, description="Admin login attempts per client IP per minute.")
    subscribe_rate_per_minute: int = Field(10, description="Subscribe requests per client IP per minute.")
    token_rate_per_minute: int = Field(30, description="Confirm/unsubscribe link requests per IP a minute.")
    admin_page_size: int = Field(50, description="Rows per page in the admin console's lists.")
    review_low_confidence_margin: float = Field(
        1.5, description="Review queue: items whose best score is under classify_threshold × this."
    )
    web_page_size: int = Field(20, description="Items per page of the public archive and the JSON API.")
    web_count_cap: int = Field(200, description="Archive counts stop here (\"more than N\") to stay cheap.")
    web_facet_cache_s: float = Field(300.0, description="Seconds the archive filter menus are cached.")
    web_max_page: int = Field(500, description="Deepest archive/API page served (OFFSET stays bounded).")
    web_query_max_chars: int = Field(200, description="Longest free-text search or filter value accepted.")
    feed_max_entries: int = Field(50, description="Entries in an Atom feed.")
    calendar_max_events: int = Field(10_000, description="Events in one iCalendar feed at most.")
    calendar_past_days: int = Field(90, description="Calendar feeds include deadlines/events this far back.")
    calendar_cache_s: float = Field(300.0, description="Seconds a public calendar feed is cached.")
    form_text_max_chars: int = Field(1000, description="Longest text field accepted in public forms.")

    # --- fetching ----------------------------------------------------------------------------
    allow_private_networks: bool = Field(
        False, description="Allow fetching loopback/private addresses (tests and the offline demo)."
    )
    user_agent: str = Field(
        "ClusterWatch/0.1 (+https://github.com/cluster-watch; EU funding and cluster news monitor)",
        description="Honest User-Agent sent with every request.",
    )
    fetch_concurrency: int = Field(64, description="Requests in flight across all hosts.")
    fetch_per_host_concurrency: int = Field(4, description="Requests in flight to one host.")
    fetch_connect_timeout_s: float = Field(10.0, description="TCP/TLS connect timeout.")
    fetch_read_timeout_s: float = Field(30.0, description="Timeout between two reads of the body.")
    fetch_total_timeout_s: float = Field(120.0, description="Wall-clock cap per fetch, redirects included.")
    fetch_max_body_bytes: int = Field(
        20 * 1024 * 1024, description="Cap on the decompressed body of an ordinary fetch."
    )
    fetch_max_stream_bytes: int = Field(
        512 * 1024 * 1024, description="Cap on a streamed body (grantsTenders.json is ~130 MB)."
    )
    fetch_max_redirects: int = Field(5, description="Redirects followed, each re-checked by the SSRF gate.")
    fetch_backoff_base_s: float = Field(300.0, description="First back-off after a failed round.")
    fetch_backoff_max_s: float = Field(24 * 3600.0, description="Longest back-off for a failing source.")
    fetch_retry_after_max_s: float = Field(6 * 3600.0, description="Longest Retry-After honoured.")
    fetch_allowed_networks: list[str] = Field(
        default_factory=list, description="CIDRs exempt from the SSRF gate (JSON list), e.g. an intranet."
    )
    poll_jitter_s: float = Field(60.0, description="Random delay added to each scheduled poll.")
    health_batch_size: int = Field(50, description="Sources' health rows written per commit in a round.")

    # --- scheduler ---------------------------------------------------------------------------
    scheduler_tick_s: float = Field(30.0, description="How often the scheduler looks for due sources.")
    digest_check_s: float = Field(300.0, description="How often due digests are looked for.")
    alerts_flush_s: float = Field(60.0, description="How often instant alerts are flushed.")
    reminders_scan_s: float = Field(3600.0, description="How often deadline reminders are looked for.")
    outbox_drain_s: float = Field(30.0, description="How often the outbox is drained.")
    poll_on_start: bool = Field(True, description="`watcher run` polls due sources as soon as it starts.")
    pipeline_processes: int = Field(
        2, description="Processes that poll, classify and store during big rounds; 0 keeps it in-process."
    )
    pipeline_process_min_sources: int = Field(
        20, description="Pool only when this many sources lack ETag/Last-Modified (likely full bodies)."
    )
    pipeline_fork_min_sources: int = Field(
        200, description="Pool rounds of this many sources too when workers start at once (forked/running)."
    )
    pipeline_chunk_sources: int = Field(
        50, ge=1, description="Sources a pool process polls end to end per task during big rounds."
    )

    # --- classification ----------------------------------------------------------------------
    classify_threshold: float = Field(3.0, description="Minimum score for an ecosystem to be assigned.")
    classify_relative_threshold: float = Field(
        0.3, description="An ecosystem must score at least this share of the best one."
    )
    classify_max_ecosystems: int = Field(4, description="Most ecosystems assigned to one item.")
    classify_title_weight: float = Field(3.0, description="How much a title match outweighs a body match.")
    classify_generic_min: float = Field(
        6.0, description="Cluster-policy cue score above which an item is about cluster policy in general."
    )
    classify_generic_threshold: float = Field(
        5.5, description="Minimum ecosystem score for an item about cluster policy in general."
    )
    classify_kind_threshold: float = Field(3.0, description="Minimum cue score for the call/event kinds.")
    classify_max_text_chars: int = Field(20_000, description="Characters of body text the classifier reads.")
    classify_long_text_chars: int = Field(
        2500, description="Body length beyond which classify_threshold grows (by the ratio's square root)."
    )
    classify_closing_soon_days: int = Field(14, description="Days before a deadline an item is closing soon.")

    # --- normalisation and storage -----------------------------------------------------------
    title_max_length: int = Field(500, description="Longest stored title; longer ones are cut at a word.")
    story_title_min_words: int = Field(
        5, description="Significant words a title needs before it may link mirrors across sources."
    )
    story_title_min_chars: int = Field(30, description="Characters a normalised title needs to link mirrors.")
    story_primary_sources: list[str] = Field(
        default_factory=lambda: ["ftportal", "grantstenders"],
        description="Source id prefixes preferred as a story's primary over regional/cluster mirrors.",
    )

    # --- delivery ----------------------------------------------------------------------------
    smtp_url: str = Field(
        "", description="smtp://user:pass@host:587?starttls=true or smtps://host:465; empty: .eml files."
    )
    mail_from: str = Field("Cluster Watch <noreply@clusterwatch.local>", description="From header.")
    mail_concurrency: int = Field(8, description="SMTP connections used at once.")
    mail_rate_per_second: float = Field(50.0, description="Messages per second at most.")
    mail_rate_per_hour: int = Field(100_000, description="Messages per hour at most.")
    mail_lease_s: float = Field(300.0, description="How long a sender may hold an outbox row.")
    mail_max_attempts: int = Field(8, description="Temporary failures before a message is failed.")
    mail_retry_base_s: float = Field(60.0, description="First retry delay after a temporary failure.")
    hard_bounce_limit: int = Field(3, description="Hard bounces that suppress a subscriber.")
    send_empty_digest: bool = Field(False, description="Send a digest even when nothing is new.")
    alert_window_s: float = Field(900.0, description="Instant alerts of this window go out as one message.")
    confirm_token_max_age_s: int = Field(72 * 3600, description="Lifetime of an opt-in confirmation link.")
    mail_timeout_s: float = Field(30.0, description="Timeout of one SMTP command or reply.")
    mail_retry_max_s: float = Field(6 * 3600.0, description="Longest delay between two retries.")
    mail_claim_batch: int = Field(64, description="Outbox rows one drain leases at a time.")
    mail_poll_interval_s: float = Field(5.0, description="Idle pause of a long-running drain.")
    digest_closing_soon_days: int = Field(14, description="Calls closing within this many days are listed.")
    digest_max_items: int = Field(12, description="Most items in one digest section; the rest is counted.")
    alert_max_age_s: float = Field(48 * 3600.0, description="Calls first seen longer ago are never alerted.")
    confirm_resend_max: int = Field(5, description="Confirmation emails sent to one pending address at most.")
    list_unsubscribe_mailto: str = Field(
        "", description="Address for mailto List-Unsubscribe; empty: the From address."
    )
    digest_group_items: int = Field(5, description="Most items per ecosystem group; the rest: archive link.")
    digest_summary_chars: int = Field(200, description="Longest item summary in delivery mail.")
    digest_batch_size: int = Field(200, description="Digests built and committed per transaction.")
    digest_processes: int = Field(
        2, description="Processes that build a big digest run's digests; 0 or 1 keeps it in-process."
    )
    digest_process_min_subscribers: int = Field(
        500, description="Digest runs with fewer due subscribers than this stay in-process."
    )
    digest_worker_nice: int = Field(
        10, ge=0, le=19,
        description="Niceness of digest worker processes: sending and the web app get the CPU first.",
    )

    # --- operations --------------------------------------------------------------------------
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text or JSON objects.")
    log_level: str = Field("INFO", description="Lowest level logged (DEBUG, INFO, WARNING, ERROR).")
    workers: int = Field(1, ge=1, description="`watcher worker` processes started by one command.")
    worker_concurrency: int = Field(8, ge=1, description="Sources one worker claims and polls at once.")
    worker_idle_s: float = Field(5.0, description="Pause of a worker's poll loop when no source is due.")
    worker_source_lease_s: float = Field(
        900.0, description="How long a worker owns a claimed source before others may take it."
    )
    scheduler_lock_retry_s: float = Field(
        10.0, description="How often a standby worker tries to become the scheduler (takeover delay)."
    )
    worker_ready_timeout_s: float = Field(
        120.0, description="How long `watcher worker` waits for the schema to reach head before giving up."
    )
    worker_metrics_port: int = Field(0, description="Port of a worker's own /metrics; 0 disables it.")
    admin_emails: list[str] = Field(
        default_factory=list, description="Admins mailed about failing sources and `unknown` mail (JSON)."
    )
    source_failure_alert_after: int = Field(
        3, ge=1, description="Failed rounds in a row after which admins get an email about a source."
    )
    admin_alerts_s: float = Field(300.0, description="How often the admin alert conditions are checked.")

    def resolved_database_url(self) -> str:
        """The configured URL, or the default SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'watcher.db').resolve()}"

    def resolved_cache_dir(self) -> Path:
        """The configured cache directory, or the user's (XDG): regenerable files only."""
        if self.cache_dir is not None:
            return self.cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "cluster-watch"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


_installed: Settings | None = None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing env."""
    return _installed or Settings()


def install_settings(settings: Settings) -> None:
    """Make ``settings`` this process's settings: a pool worker runs with its parent's, not its env's."""
    global _installed
    _installed = settings
    get_settings.cache_clear()
