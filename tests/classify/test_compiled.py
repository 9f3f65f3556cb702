"""Compiled patterns kept on disk: read back by the next process, rebuilt when damaged."""

from __future__ import annotations

import marshal
import os
import re
from pathlib import Path

import pytest

from watcher.classify.compiled import _key, _parts, compile_cached

PATTERN = r"\W((?:agri[\s-]+food|energ(?:y|ia)))(?!\w)"
TEXT = " agri-food and energia, not synergy or energyx; energy."


def _spans(compiled: re.Pattern[str]) -> list[tuple[int, int]]:
    return [match.span(1) for match in compiled.finditer(TEXT)]


def test_kept_pattern_matches_like_re_and_is_read_back(tmp_path: Path) -> None:
    first = compile_cached(PATTERN, directory=tmp_path)
    [kept] = list(tmp_path.iterdir())
    assert _spans(first) == _spans(re.compile(PATTERN)) == [(1, 10), (15, 22), (48, 54)]
    # The next process reads the file: give it another pattern's code under this key to prove it.
    kept.write_bytes(marshal.dumps(_parts(r"\W(and)(?!\w)", 0)))
    assert [m.group(1) for m in compile_cached(PATTERN, directory=tmp_path).finditer(TEXT)] == ["and"]
    again = compile_cached(PATTERN, re.IGNORECASE, directory=tmp_path)  # other flags, other file
    assert again.flags & re.IGNORECASE and len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("damage", [b"", b"not marshal", marshal.dumps((0, [1, 2, 3], 0, {}, ()))])
def test_a_damaged_file_is_compiled_again_and_replaced(tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / f"re-{_key(PATTERN, 0)}.marshal"
    path.write_bytes(damage)
    compiled = compile_cached(PATTERN, directory=tmp_path)
    assert _spans(compiled) == _spans(re.compile(PATTERN))
    assert path.read_bytes() != damage


def test_without_a_usable_directory_it_is_plain_re(tmp_path: Path) -> None:
    assert compile_cached(PATTERN, directory=None).pattern == PATTERN
    blocked = tmp_path / "file"
    blocked.write_text("a file where the directory should be")
    assert _spans(compile_cached(PATTERN, directory=blocked / "cache")) == _spans(re.compile(PATTERN))
    if os.geteuid() != 0:  # root writes anywhere
        readonly = tmp_path / "readonly"
        readonly.mkdir(mode=0o500)
        assert _spans(compile_cached(PATTERN, directory=readonly)) == _spans(re.compile(PATTERN))
