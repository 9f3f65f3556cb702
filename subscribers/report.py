"""What a delivery job did, in numbers: printed by the CLI, logged by the scheduler."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Report:
    """Counts of one job run. Falsy when nothing was queued and nothing failed (quiet logs)."""

    job: str
    considered: int = 0
    queued: int = 0
    would_send: int = 0
    already_sent: int = 0
    not_due: int = 0
    empty: int = 0
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.queued or self.would_send or self.errors)

    def __str__(self) -> str:
        parts = [f"{name}={value}" for name, value in self.counts().items() if value]
        return f"{self.job}: " + (", ".join(parts) or "nothing to do")

    def counts(self) -> dict[str, int]:
        return {
            "considered": self.considered,
            "queued": self.queued,
            "would_send": self.would_send,
            "already_sent": self.already_sent,
            "not_due": self.not_due,
            "empty": self.empty,
            "errors": self.errors,
        }

    def failed(self, message: str) -> None:
        self.errors += 1
        if len(self.error_messages) < 20:
            self.error_messages.append(message[:300])

    def add_outcomes(self, other: Report) -> None:
        """Add what ``other`` (a share of this run, done elsewhere) queued, skipped or failed."""
        self.queued += other.queued
        self.would_send += other.would_send
        self.already_sent += other.already_sent
        self.empty += other.empty
        self.errors += other.errors
        self.error_messages = (self.error_messages + other.error_messages)[:20]
