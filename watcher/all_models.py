"""Imports every table module so SQLModel.metadata is complete (Alembic, tests, export).

This is the one place that names delivery-side tables from the ingest package; it exists only to
build the shared schema and is imported by migrations and tooling, never by ingest code.
"""

from __future__ import annotations

import subscribers.models
import subscribers.outbox
import watcher.models
import watcher.web.models

__all__ = ["subscribers", "watcher"]
