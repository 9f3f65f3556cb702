"""BoundedDecoder: correct output, pieces never larger than the chunk size, clear errors."""

from __future__ import annotations

import gzip
import zlib

import pytest

from watcher.fetch.decoding import BoundedDecoder
from watcher.fetch.errors import DecodingError

TEXT = b"Cluster Watch " * 50_000


def decode(encoding: str, data: bytes, *, step: int = 1000, chunk: int = 4096) -> list[bytes]:
    decoder = BoundedDecoder(encoding, chunk_size=chunk)
    pieces = [
        piece for start in range(0, len(data), step) for piece in decoder.feed(data[start : start + step])
    ]
    return pieces + list(decoder.finish())


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("", TEXT),
        ("identity", TEXT),
        ("gzip", gzip.compress(TEXT, mtime=0)),
        ("x-gzip", gzip.compress(TEXT, mtime=0)),
        ("GZIP", gzip.compress(TEXT, mtime=0)),
        ("deflate", zlib.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)[2:-4]),  # raw deflate, as some servers send it
        ("gzip, gzip", gzip.compress(gzip.compress(TEXT, mtime=0), mtime=0)),
    ],
)
def test_decodes_and_bounds_every_piece(encoding: str, data: bytes) -> None:
    pieces = decode(encoding, data)
    assert b"".join(pieces) == TEXT
    assert max(len(piece) for piece in pieces) <= 4096


def test_concatenated_gzip_members() -> None:
    data = gzip.compress(b"first ") + gzip.compress(b"second")
    assert b"".join(decode("gzip", data, step=7)) == b"first second"


def test_bomb_chunk_is_inflated_in_bounded_steps() -> None:
    bomb = gzip.compress(bytes(50 * 1024 * 1024))
    decoder = BoundedDecoder("gzip", chunk_size=65536)
    sizes = [len(piece) for piece in decoder.feed(bomb)]  # the whole bomb in one raw chunk
    assert max(sizes) <= 65536
    assert sum(sizes) == 50 * 1024 * 1024


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br"])
def test_unsupported_encoding(encoding: str) -> None:
    with pytest.raises(DecodingError, match="unsupported"):
        BoundedDecoder(encoding)


def test_corrupt_gzip() -> None:
    with pytest.raises(DecodingError, match="corrupt gzip"):
        decode("gzip", b"\x1f\x8b\x08\x00garbage-garbage-garbage")


def test_truncated_gzip() -> None:
    with pytest.raises(DecodingError, match="truncated"):
        decode("gzip", gzip.compress(TEXT, mtime=0)[:500])
