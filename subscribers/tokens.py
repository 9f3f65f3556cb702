"""Signed link tokens: confirm (expires), unsubscribe / preferences / calendar (never expire).

A token carries the subscriber id and that subscriber's ``token_nonce``; the salt differs per
purpose, so an unsubscribe token can never confirm and vice versa. Rotating the nonce (erasure,
re-subscription) revokes every old link. itsdangerous compares signatures with
``hmac.compare_digest``; the nonce comparison below is constant-time too.
"""

from __future__ import annotations

import hmac
from functools import lru_cache
from typing import Literal

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlmodel import Session

from subscribers.models import Subscriber
from watcher.settings import get_settings

Purpose = Literal["confirm", "unsubscribe", "preferences", "calendar"]
PURPOSES: tuple[str, ...] = ("confirm", "unsubscribe", "preferences", "calendar")


class TokenError(Exception):
    """A link token cannot be used."""


class TokenExpired(TokenError):
    """The token was valid but is too old (confirmation links last settings.confirm_token_max_age_s)."""


class TokenInvalid(TokenError):
    """Tampered, wrong purpose, wrong key, or its subscriber no longer exists."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return _keyed_serializer(get_settings().secret_key, purpose)


@lru_cache(maxsize=16)
def _keyed_serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"cluster-watch/{purpose}")


def make_token(subscriber_id: int, purpose: Purpose, *, nonce: str = "") -> str:
    """A URL-safe token for ``purpose``; pass the subscriber's ``token_nonce`` to bind it.

    ``token_for(subscriber, purpose)`` does that for you and is what message builders use.
    """
    return _serializer(purpose).dumps([int(subscriber_id), nonce])


def _load(token: str, purpose: Purpose, max_age_s: int | None) -> tuple[int, str]:
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise TokenExpired(f"this {purpose} link has expired") from None
    except BadData:
        raise TokenInvalid(f"this {purpose} link is not valid") from None
    if (
        not isinstance(payload, list) or len(payload) != 2
        or not isinstance(payload[0], int) or not isinstance(payload[1], str)
    ):
        raise TokenInvalid(f"this {purpose} link is not valid")
    return payload[0], payload[1]


def read_token(token: str, purpose: Purpose, *, max_age_s: int | None = None) -> int:
    """The subscriber id in a genuine token for ``purpose``; raises ``TokenError`` otherwise.

    This checks signature, purpose and age only. Use ``subscriber_for_token`` when you also need
    the binding to the current subscriber (nonce) checked — the service functions do.
    """
    return _load(token, purpose, max_age_s)[0]


def token_for(subscriber: Subscriber, purpose: Purpose) -> str:
    if subscriber.id is None:
        raise ValueError("subscriber has no id yet; flush the session first")
    if purpose == "confirm":  # it expires: always a fresh timestamp
        return make_token(subscriber.id, purpose, nonce=subscriber.token_nonce)
    return _lasting_token(subscriber.id, purpose, subscriber.token_nonce, get_settings().secret_key)


@lru_cache(maxsize=1024)
def _lasting_token(subscriber_id: int, purpose: Purpose, nonce: str, secret_key: str) -> str:
    """A token that never expires, signed once per (subscriber, purpose, nonce, key) in a process:
    a digest's links and its List-Unsubscribe header ask for the same tokens, and a rebuilt message
    keeps the same bytes. A new nonce (revocation) or key is a new cache entry, never a stale token."""
    return _keyed_serializer(secret_key, purpose).dumps([int(subscriber_id), nonce])


def subscriber_for_token(
    session: Session, token: str, purpose: Purpose, *, max_age_s: int | None = None
) -> Subscriber:
    """The subscriber a token was issued to, if it is genuine and still bound to them."""
    subscriber_id, nonce = _load(token, purpose, max_age_s)
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or not hmac.compare_digest(
        subscriber.token_nonce.encode(), nonce.encode()
    ):
        raise TokenInvalid(f"this {purpose} link is no longer valid")
    return subscriber
