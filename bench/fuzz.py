"""Fuzz the feed and HTML adapters with mutated real payloads: any exception but ParseError is a bug.

Seeds are the real payloads under tests/data (RSS, Atom, a Drupal feed with debug HTML before the
XML, a Latin-1 feed declared UTF-8, two HTML listing pages). Each generated input applies one to
three mutations: byte flips, truncation, deletion, splicing, tag soup, encoding declarations and
byte-order marks, entity bombs and external entities, deep nesting, junk prefixes, repeated chunks,
random bytes. Inputs go through ``rss.parse_feed`` or ``html.parse_listing`` (what the adapters
call after fetching) with a random Content-Type. ParseError is the adapters' clear "bad input"
answer; anything else, or a parse that takes longer than ``--timeout-s``, counts as unhandled and
is saved under bench/results/fuzz/ for replay. Same seed, same inputs.

    .venv/bin/python bench/fuzz.py                      # 100,000 inputs (make fuzz)
    .venv/bin/python bench/fuzz.py --inputs 2000 --processes 1

Last line: JSON with inputs, seconds, inputs_per_s, parse_errors, unhandled, by_target, slowest_s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data"
RESULTS = ROOT / "bench" / "results" / "fuzz"

HTML_OPTIONS: dict[str, dict[str, Any]] = {
    "html-eismea-cards": {
        "item_selector": "article.ecl-content-item",
        "title_selector": ".ecl-content-block__title",
        "link_selector": ".ecl-content-block__title a[href]",
        "date_selector": "time",
        "date_attribute": "datetime",
        "summary_selector": ".ecl-content-block__description",
    },
    "html-puglia-cards": {
        "item_selector": "div.card-agenda-one",
        "title_selector": "p.title-text",
        "link_selector": "a[href]",
        "date_selector": "div.date",
        "summary_selector": "p.description-text",
        "date_field": "event_date",
    },
}
FEEDS = ["rss-piemonte", "rss-eccp-drupal-debug", "atom-feed", "rss-latin1-declared-utf8"]
CONTENT_TYPES = [
    "",
    "application/rss+xml",
    "application/rss+xml; charset=utf-8",
    "application/atom+xml",
    "text/xml; charset=iso-8859-1",
    "text/html",
    "text/html; charset=UTF-8",
    "text/html; charset=windows-1252",
    "application/xml; charset=utf-16",
    "text/plain; charset=bogus-charset",
    "application/json",
]
TAGS = [
    b"<item>",
    b"</item>",
    b"<channel>",
    b"</channel>",
    b"<entry>",
    b"</feed>",
    b"<![CDATA[",
    b"]]>",
    b"<",
    b">",
    b"&",
    b"&#0;",
    b"&#x110000;",
    b"&nbsp;",
    b"&unknown;",
    b'<?xml version="1.0"?>',
    b"<!-- ",
    b" -->",
    b'<article class="ecl-content-item">',
    b'<div class="card-agenda-one">',
    b"</div>",
    b"</article>",
    b'<a href="javascript:alert(1)">',
    b'<a href="//evil.example/x">',
    b"<link>",
    b"</link>",
    b"<pubDate>",
    b"<pubDate>31 Feb 99999 99:99</pubDate>",
    b'<time datetime="not a date">',
    b"<title>",
    b"</title>",
    b"<script>",
    b"</script>",
    b"<style>",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b'<base href="::::">',
]
ENCODINGS = [
    "utf-8",
    "UTF-16",
    "utf-32",
    "iso-8859-1",
    "windows-1252",
    "shift_jis",
    "cp500",
    "utf-7",
    "bogus",
    "",
]
BOMS = [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b""]
BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;'
    b'&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
XXE = b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _flip(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if buffer:
            buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
    return bytes(buffer)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randint(0, len(data))]


def _delete(data: bytes, rng: random.Random) -> bytes:
    start = rng.randint(0, len(data))
    return data[:start] + data[start + rng.randint(1, 400) :]


def _insert(data: bytes, rng: random.Random, chunk: bytes) -> bytes:
    at = rng.randint(0, len(data))
    return data[:at] + chunk + data[at:]


def _tag_soup(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 12)):
        data = _insert(data, rng, rng.choice(TAGS))
    return data


def _after_declaration(data: bytes) -> bytes:
    """``data`` without its XML declaration, if it has a complete one."""
    if data.lstrip().startswith(b"<?xml") and b"?>" in data:
        return data.partition(b"?>")[2]
    return data


def _encoding(data: bytes, rng: random.Random) -> bytes:
    name = rng.choice(ENCODINGS).encode()
    declaration = rng.choice([b'<?xml version="1.0" encoding="%s"?>' % name, b'<meta charset="%s">' % name])
    body = _after_declaration(data) if rng.random() < 0.7 else data
    if rng.random() < 0.3:  # really re-encode the text, declared or not
        body = body.decode("utf-8", "replace").encode(rng.choice(["utf-16", "utf-32", "latin-1"]), "replace")
    return rng.choice(BOMS) + declaration + body


def _bomb(data: bytes, rng: random.Random) -> bytes:
    body = _after_declaration(data)
    prefix = rng.choice([BOMB, XXE])
    return prefix + _insert(body, rng, rng.choice([b"&lol3;", b"&xxe;", b"&lol2;" * 50]))


def _nesting(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice([50, 300, 1500])
    tag = rng.choice([b"div", b"item", b"b", b"article"])
    return _insert(data, rng, b"<%s>" % tag * depth + b"x" + b"</%s>" % tag * rng.randint(0, depth))


def _junk_prefix(data: bytes, rng: random.Random) -> bytes:
    junk = rng.choice(
        [b"<pre>debug</pre>\n", b"\n\n   ", b"Warning: x in y.php\n" * 20, os.urandom(rng.randint(1, 64))]
    )
    return junk + data


def _repeat(data: bytes, rng: random.Random) -> bytes:
    start = rng.randint(0, max(0, len(data) - 1))
    chunk = data[start : start + rng.randint(1, 300)]
    return _insert(data, rng, chunk * rng.randint(2, 60))


def _splice(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    other = rng.choice(seeds)
    start = rng.randint(0, len(other))
    return _insert(data, rng, other[start : start + rng.randint(1, 2000)])


def _garbage(data: bytes, rng: random.Random) -> bytes:
    return _insert(data, rng, bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))))


MUTATORS: list[tuple[str, Callable[[bytes, random.Random], bytes]]] = [
    ("flip", _flip),
    ("truncate", _truncate),
    ("delete", _delete),
    ("tag_soup", _tag_soup),
    ("encoding", _encoding),
    ("bomb", _bomb),
    ("nesting", _nesting),
    ("junk_prefix", _junk_prefix),
    ("repeat", _repeat),
    ("garbage", _garbage),
]


@dataclass
class Report:
    inputs: int = 0
    seconds: float = 0.0
    inputs_per_s: float = 0.0
    parse_errors: int = 0
    accepted: int = 0
    unhandled: int = 0
    timeouts: int = 0
    by_target: dict[str, int] = field(default_factory=dict)
    by_mutator: dict[str, int] = field(default_factory=dict)
    exceptions: dict[str, int] = field(default_factory=dict)
    slowest_s: float = 0.0
    samples: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))


class _Timeout(Exception):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise _Timeout


def _targets() -> list[tuple[str, bytes, Callable[[bytes, str], object]]]:
    from watcher.sources.config import SourceConfig
    from watcher.sources.html import parse_listing
    from watcher.sources.rss import parse_feed

    targets: list[tuple[str, bytes, Callable[[bytes, str], object]]] = []
    for name in FEEDS:
        source = SourceConfig.model_validate(
            {"id": name, "name": name, "type": "rss", "url": "https://example.eu/feed"}
        )

        def feed(body: bytes, content_type: str, source: SourceConfig = source) -> object:
            return parse_feed(
                body, source=source, base_url="https://example.eu/feed", content_type=content_type
            )

        targets.append((name, (DATA / name / "input.xml").read_bytes(), feed))
    for name, options in HTML_OPTIONS.items():
        source = SourceConfig.model_validate(
            {"id": name, "name": name, "type": "html", "url": "https://example.eu/list", "options": options}
        )

        def listing(body: bytes, content_type: str, source: SourceConfig = source) -> object:
            return parse_listing(
                body, source=source, base_url="https://example.eu/list", content_type=content_type
            )

        targets.append((name, (DATA / name / "input.html").read_bytes(), listing))
    return targets


def run_chunk(args: tuple[int, int, int, float]) -> Report:
    """Generate and parse ``count`` inputs from seed ``(seed, chunk)``; runs in a pool process."""
    seed, chunk, count, timeout_s = args
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # bs4/feedparser warn about the odd inputs we feed them on purpose
            return _run(seed, chunk, count, timeout_s)
    finally:
        signal.signal(signal.SIGALRM, previous)


def _run(seed: int, chunk: int, count: int, timeout_s: float) -> Report:
    from watcher.fetch import ParseError

    rng = random.Random(f"{seed}:{chunk}")
    targets = _targets()
    seeds = [body for _, body, _ in targets]
    report = Report()
    by_target: Counter[str] = Counter()
    by_mutator: Counter[str] = Counter()
    exceptions: Counter[str] = Counter()
    for number in range(count):
        name, body, parse = rng.choice(targets)
        applied = []
        for _ in range(rng.randint(1, 3)):
            label, mutate = rng.choice([*MUTATORS, ("splice", lambda d, r: _splice(d, r, seeds))])
            body = mutate(body, rng)
            applied.append(label)
        content_type = rng.choice(CONTENT_TYPES)
        by_target[name] += 1
        by_mutator.update(applied)
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            parse(body, content_type)
            report.accepted += 1
        except ParseError:
            report.parse_errors += 1
        except _Timeout:
            report.timeouts += 1
            report.unhandled += 1
            exceptions["timeout"] += 1
            _save(report, seed, chunk, number, name, applied, content_type, body, "timeout")
        except Exception as error:  # what we hunt for
            report.unhandled += 1
            exceptions[f"{type(error).__name__}"] += 1
            _save(report, seed, chunk, number, name, applied, content_type, body, traceback.format_exc())
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        report.slowest_s = max(report.slowest_s, time.perf_counter() - started)
        report.inputs += 1
    report.by_target, report.by_mutator, report.exceptions = (
        dict(by_target),
        dict(by_mutator),
        dict(exceptions),
    )
    return report


def _save(
    report: Report,
    seed: int,
    chunk: int,
    number: int,
    name: str,
    applied: list[str],
    content_type: str,
    body: bytes,
    detail: str,
) -> None:
    if len(report.samples) >= 5:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"{name}-{seed}-{chunk}-{number}"
    stem.with_suffix(".bin").write_bytes(body)
    stem.with_suffix(".txt").write_text(
        f"target: {name}\nmutations: {applied}\ncontent-type: {content_type}\n\n{detail}"
    )
    report.samples.append(str(stem.with_suffix(".txt").relative_to(ROOT)))


def _merge(total: Report, part: Report) -> None:
    for name in ("inputs", "parse_errors", "accepted", "unhandled", "timeouts"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    for name in ("by_target", "by_mutator", "exceptions"):
        merged: Counter[str] = Counter(getattr(total, name))
        merged.update(getattr(part, name))
        setattr(total, name, dict(sorted(merged.items())))
    total.slowest_s = round(max(total.slowest_s, part.slowest_s), 3)
    total.samples += part.samples[: max(0, 10 - len(total.samples))]


def run_fuzz(
    *, inputs: int, seed: int = 1, processes: int | None = None, chunk: int = 500, timeout_s: float = 10.0
) -> Report:
    jobs = [
        (seed, index, min(chunk, inputs - start), timeout_s)
        for index, start in enumerate(range(0, inputs, chunk))
    ]
    total = Report()
    started = time.perf_counter()
    workers = processes or os.cpu_count() or 1
    if workers == 1:
        parts = map(run_chunk, jobs)
        for part in parts:
            _merge(total, part)
    else:
        with multiprocessing.get_context("spawn").Pool(workers, maxtasksperchild=20) as pool:
            for part in pool.imap_unordered(run_chunk, jobs):
                _merge(total, part)
                if total.inputs % 10_000 < chunk:
                    print(f"{total.inputs} inputs, {total.unhandled} unhandled", file=sys.stderr, flush=True)
    total.seconds = round(time.perf_counter() - started, 1)
    total.inputs_per_s = round(total.inputs / total.seconds, 1) if total.seconds else 0.0
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=None, help="Default: one per CPU.")
    parser.add_argument("--timeout-s", type=float, default=10.0, help="A slower parse counts as unhandled.")
    args = parser.parse_args()
    report = run_fuzz(inputs=args.inputs, seed=args.seed, processes=args.processes, timeout_s=args.timeout_s)
    print(report.to_json())
    raise SystemExit(1 if report.unhandled else 0)


if __name__ == "__main__":
    main()
