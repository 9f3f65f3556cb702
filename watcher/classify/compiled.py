"""Compiled regular expressions kept on disk, so a process does not compile the vocabulary again.

The vocabulary becomes one trie-shaped pattern of about 30,000 characters, and ``re`` spends about
0.2 s of pure Python parsing and compiling it in every process that classifies: each pool worker
of a first round paid that before its first item, on the round's critical path. ``re`` offers no
public way to keep a compiled pattern, so this keeps what its compiler produced (the code list
for the ``_sre`` engine) in a file named after the pattern, the flags and the interpreter, and
rebuilds the pattern with ``_sre.compile``, which validates the code before using it. Anything
unexpected (a damaged file, another Python's private API) falls back to ``re.compile``.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import re
import sys
from pathlib import Path
from typing import Any

from watcher.cache_files import write_atomically

log = logging.getLogger(__name__)


def _key(pattern: str, flags: int) -> str:
    engine = getattr(sys.modules.get("_sre"), "MAGIC", "")
    text = f"{sys.version}\0{engine}\0{flags}\0{pattern}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _parts(pattern: str, flags: int) -> tuple[Any, ...]:
    """What ``re._compiler.compile`` hands to ``_sre.compile`` for ``pattern`` (the slow part)."""
    from re import _compiler, _parser  # type: ignore[attr-defined]

    parsed = _parser.parse(pattern, flags)
    code = [int(word) for word in _compiler._code(parsed, flags)]  # opcodes are int subclasses
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return (int(flags | parsed.state.flags), code, parsed.state.groups - 1, groupindex, tuple(indexgroup))


def _build(pattern: str, parts: tuple[Any, ...]) -> re.Pattern[str]:
    import _sre

    compiled: re.Pattern[str] = _sre.compile(pattern, *parts)
    return compiled


def compile_cached(pattern: str, flags: int = 0, *, directory: Path | None) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, from ``directory``'s copy when an earlier process left one."""
    if directory is None:
        return re.compile(pattern, flags)
    path = directory / f"re-{_key(pattern, flags)}.marshal"
    try:
        return _build(pattern, marshal.loads(path.read_bytes()))
    except FileNotFoundError:
        pass
    except Exception as error:  # damaged or foreign: compile it again below and replace it
        log.debug("compiled pattern %s unusable (%s); compiling", path.name, error)
    try:
        parts = _parts(pattern, flags)
        compiled = _build(pattern, parts)
    except Exception as error:  # this Python's private API differs: the public way still works
        log.debug("cannot keep compiled patterns here (%s)", error)
        return re.compile(pattern, flags)
    try:
        write_atomically(path, marshal.dumps(parts), kind="re-*.marshal")
    except (OSError, ValueError) as error:  # read-only place, or something marshal cannot keep
        log.debug("cannot write %s: %s", path, error)
    return compiled
