"""Which jobs the scheduler registers: alone it polls and drains; beside workers it only queues mail."""

from __future__ import annotations

from watcher import jobs
from watcher.scheduler import build_scheduler
from watcher.settings import get_settings


def _jobs(*, worker_mode: bool) -> dict[str, object]:
    scheduler = build_scheduler(get_settings(), worker_mode=worker_mode)
    return {job.id: job.func.__wrapped__ for job in scheduler.get_jobs()}  # type: ignore[attr-defined]


def test_alone_the_scheduler_polls_and_sends_digests_as_they_are_built() -> None:
    registered = _jobs(worker_mode=False)
    assert {"poll_due_sources", "drain_outbox"} <= registered.keys()
    assert registered["send_due_digests"] is jobs.send_due_digests


def test_beside_workers_the_digest_job_only_queues() -> None:
    registered = _jobs(worker_mode=True)
    assert not {"poll_due_sources", "drain_outbox"} & registered.keys()
    assert registered["send_due_digests"] is jobs.queue_due_digests
