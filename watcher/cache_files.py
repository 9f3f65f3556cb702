"""Files in the cache directory: derived data any process may rebuild, written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

KEEP = 8  # copies of one kind kept: every edit of the sources or vocabulary file makes a new one


def write_atomically(path: Path, data: bytes, *, kind: str) -> None:
    """Write ``data`` to ``path`` through a temporary file: processes writing the same file at once
    each leave a whole one, and a reader never sees half of it. Older files matching the glob
    ``kind`` beyond the newest ``KEEP`` are removed (a removed one is simply rebuilt when needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _prune(path.parent, kind)


def _prune(directory: Path, kind: str) -> None:
    dated = []
    for found in directory.glob(kind):
        try:
            dated.append((found.stat().st_mtime, found))
        except OSError:  # removed by another process meanwhile
            continue
    for _, stale in sorted(dated, reverse=True)[KEEP:]:
        stale.unlink(missing_ok=True)
