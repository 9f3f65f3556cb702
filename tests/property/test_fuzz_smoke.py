"""A small, deterministic slice of `make fuzz` (bench/fuzz.py) so the driver itself stays working.

The full run (100,000 inputs, figures in the README) is a benchmark-style job, not a unit test.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from watcher.settings import PROJECT_ROOT


def _fuzz_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cw_bench_fuzz", PROJECT_ROOT / "bench" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_slice_of_the_fuzz_run_finds_no_unhandled_exception() -> None:
    fuzz = _fuzz_module()
    report = fuzz.run_chunk((20261122, 0, 100, 10.0))
    assert report.inputs == 100
    assert report.unhandled == 0, report.samples
    assert report.parse_errors + report.accepted == 100
    assert report.parse_errors > 0 and report.accepted > 0  # the mutations reach both outcomes


def test_every_mutator_returns_bytes() -> None:
    import random

    fuzz = _fuzz_module()
    rng = random.Random(3)
    for _label, mutate in fuzz.MUTATORS:
        for data in (b"", b"<?xml", b"<?xml version='1.0'?><rss/>", b"x" * 50):
            assert isinstance(mutate(data, rng), bytes)
