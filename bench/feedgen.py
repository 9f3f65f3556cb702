"""Generated RSS feeds of realistic size for the polling benchmark (served on loopback)."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

SUBJECTS = [
    "Call for proposals on hydrogen valleys and renewable energy communities",
    "Bando per la digitalizzazione delle PMI del turismo e dell'agroalimentare",
    "Eurocluster cascade funding for textile circularity and advanced materials",
    "Info day: Horizon Europe Cluster 5 mobility and batteries work programme",
    "Webinar sull'intelligenza artificiale per il manifatturiero e la sanità",
    "Open call for SMEs in aerospace and defence supply chains (EDF)",
    "Avviso pubblico per progetti di economia sociale e prossimità",
    "Matchmaking event for construction and energy-efficient buildings",
    "Creative Europe: call for cultural and creative industries cooperation",
    "European Cluster Conference: cluster managers meet in Brussels",
]
PARAGRAPH = (
    "<p>The European Commission and the regional authorities invite <strong>small and medium-sized "
    "enterprises</strong>, clusters and research organisations to apply. Le imprese possono presentare "
    "domanda per progetti di innovazione, trasferimento tecnologico e internazionalizzazione. "
    "Eligible costs include personnel, equipment, subcontracting and travel; the maximum grant is "
    'EUR 60 000 per beneficiary. <a href="https://example.eu/call?utm_source=rss">Read more</a>.</p>'
)


def feed_xml(index: int, items: int, *, base: str) -> bytes:
    """An RSS 2.0 document of ``items`` entries (~1.2 KB each), stable for a given index."""
    rng = random.Random(index)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>Bench source {index}</title><link>{base}/</link><description>bench</description>",
    ]
    for number in range(items):
        subject = rng.choice(SUBJECTS)
        deadline = (now + timedelta(days=rng.randint(5, 120))).strftime("%d %B %Y")
        published = format_datetime(now - timedelta(hours=number * 7 + index % 13))
        guid = hashlib.sha1(f"{index}-{number}".encode()).hexdigest()
        body = f"{PARAGRAPH}<p>Deadline: {deadline}. Reference {index}-{number}.</p>{PARAGRAPH}"
        parts.append(
            f"<item><title>{subject} #{index}-{number}</title><link>{base}/item/{index}/{number}</link>"
            f'<guid isPermaLink="false">{guid}</guid><pubDate>{published}</pubDate>'
            f"<description><![CDATA[{body}]]></description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()
