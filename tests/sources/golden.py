"""Golden files for adapters: drafts serialised deterministically, compared with ``expected.json``.

Run with ``UPDATE_GOLDEN=1`` to (re)write the files, then read the diff by eye before committing.
The loopback server's random origin is replaced by ``http://loopback`` so files stay stable.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from watcher.drafts import ItemDraft

LOOPBACK = "http://loopback"


def _default(value: object) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def serialise(drafts: list[ItemDraft], warnings: list[str], *, origin: str | None = None) -> str:
    """Stable JSON text: keys sorted, dates ISO, the test server's origin made neutral."""
    payload = {"drafts": [dataclasses.asdict(d) for d in drafts], "warnings": warnings}
    text = json.dumps(payload, default=_default, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return text.replace(origin, LOOPBACK) if origin else text


def check_golden(
    case_dir: Path, drafts: list[ItemDraft], warnings: list[str], *, origin: str | None = None
) -> None:
    """Assert the drafts match ``case_dir/expected.json`` (or rewrite it under UPDATE_GOLDEN=1)."""
    text = serialise(drafts, warnings, origin=origin)
    expected = case_dir / "expected.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected.write_text(text, encoding="utf-8")
        return
    assert expected.exists(), f"{expected} missing: run with UPDATE_GOLDEN=1 and review it"
    assert json.loads(text) == json.loads(expected.read_text(encoding="utf-8"))
