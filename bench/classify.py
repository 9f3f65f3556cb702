"""Classifier throughput on one core: items per second for realistic items (title + ~1 KB text).

Items are built from the labelled dev set and our own items (real titles and texts, cut or padded
to about 1 KB), so the vocabulary, the date patterns and language detection all do real work.
Prints a few human lines, then one JSON object as the last line: ``items_per_s`` counts the CPU time
of this process pinned to one core (stable on a shared machine); ``wall_items_per_s`` wall-clock time.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from watcher.classify import Classifier, Document

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "tests" / "data" / "eval" / "dev.jsonl",
    ROOT / "tests" / "classify" / "data" / "own_items.jsonl",
]
TEXT_BYTES = 1024


def _documents() -> list[Document]:
    docs = []
    for path in SOURCES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            text = record.get("text") or ""
            while len(text.encode()) < TEXT_BYTES:
                text = f"{text}\n{record.get('text') or record['title']}"
            docs.append(
                Document(
                    id=record["id"],
                    title=record["title"],
                    text=text.encode()[:TEXT_BYTES].decode(errors="ignore"),
                    identifier=record.get("identifier"),
                    published=date.fromisoformat(record["published"][:10])
                    if record.get("published")
                    else None,
                    deadlines=[date.fromisoformat(d) for d in record.get("deadlines") or []],
                )
            )
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=20_000, help="Items to classify in the timed run.")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    start = time.perf_counter()
    classifier = Classifier.from_settings()
    load_s = time.perf_counter() - start
    base = _documents()
    # Distinct ids; language left to detection, as for most real items.
    docs = [replace(base[i % len(base)], id=f"{i}") for i in range(args.items)]
    for doc in base:  # warm up (lingua loads its models lazily)
        classifier.classify(doc)
    start, cpu_start = time.perf_counter(), time.process_time()
    for doc in docs:
        classifier.classify(doc)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    rate, wall_rate = len(docs) / cpu, len(docs) / elapsed
    print(f"taxonomy load + compile: {load_s:.2f} s")
    print(
        f"classified {len(docs)} items of ~{TEXT_BYTES} B text: {cpu:.2f} s CPU on one core"
        f" ({rate:,.0f} items/s),"
        f" {elapsed:.2f} s wall ({wall_rate:,.0f} items/s; lower when the machine is busy)"
    )
    figures = {
        "items": len(docs),
        "cpu_s": round(cpu, 3),
        "wall_s": round(elapsed, 3),
        "items_per_s": round(rate, 1),
        "wall_items_per_s": round(wall_rate, 1),
        "text_bytes": TEXT_BYTES,
        "load_s": round(load_s, 3),
    }
    print(json.dumps(figures))

if __name__ == "__main__":
    main()
