"""Content fingerprints: cheap equality for "did this item change?" and for "same story?".

The content fingerprint ignores case, accents-as-composed-vs-decomposed and whitespace so a feed that
re-renders its markup does not look like an update. The title key goes further (accents, punctuation
and stopwords removed) because two sites rarely spell the same call's title identically.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from watcher.settings import get_settings

_WORD = re.compile(r"[^\W_][^\W_]*")  # letters and digits (not [^\W_]+: re would try every position)
# Words that carry no identity in call titles, in the languages our sources write in.
_STOPWORDS_TEXT = """
    a an and the of for to in on at by with from or as is are be new call calls open
    il lo la i gli le un una uno di da del della dello dei degli delle al alla allo ai agli alle
    dal dalla nel nella nei nelle sul sulla su per con tra fra e ed o che bando bandi avviso
    le les des du de et en pour au aux un une sur par appel
    der die das den dem des und für von zu im in mit auf ein eine aufruf
    el los las del y para con por una convocatoria
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def fold(text: str) -> str:
    """Lower-case, accents stripped, punctuation to spaces: the form titles are compared in."""
    if text.isascii():  # most titles: nothing to decompose, no accents to strip
        stripped = text
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_WORD.findall(stripped.casefold()))


def content_fingerprint(title: str, text: str) -> str:
    """SHA-256 (64 hex chars) of the normalised title and body."""
    normal = "\n".join(
        " ".join(unicodedata.normalize("NFKC", part).casefold().split()) for part in (title, text)
    )
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def title_key(title: str) -> str | None:
    """A key for titles distinctive enough to identify one story across sites, else None."""
    words = [word for word in fold(title).split() if word not in STOPWORDS]
    settings = get_settings()
    joined = " ".join(words)
    if len(words) < settings.story_title_min_words or len(joined) < settings.story_title_min_chars:
        return None
    return "title:" + hashlib.sha256(joined.encode("utf-8")).hexdigest()[:40]
