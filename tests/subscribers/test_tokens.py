"""Link tokens: signed, purpose-bound, subscriber-bound; confirmation links expire."""

from __future__ import annotations

import time

import itsdangerous.timed
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from subscribers.models import new_token_nonce
from subscribers.tokens import (
    TokenExpired,
    TokenInvalid,
    make_token,
    read_token,
    subscriber_for_token,
    token_for,
)
from tests.subscribers.factories import make_subscriber
from watcher.settings import get_settings


def test_round_trip() -> None:
    assert read_token(make_token(42, "unsubscribe"), "unsubscribe") == 42


def test_purpose_mismatch_is_invalid() -> None:
    with pytest.raises(TokenInvalid):
        read_token(make_token(42, "unsubscribe"), "confirm")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s[:-2] + ("AA" if not s.endswith("AA") else "BB"),
        lambda s: "x" + s,
        lambda s: "",
        lambda s: "not.a.token",
    ],
)
def test_tampered_token_is_invalid(mutate: object) -> None:
    token = make_token(42, "preferences")
    with pytest.raises(TokenInvalid):
        read_token(mutate(token), "preferences")  # type: ignore[operator]


def test_other_secret_key_is_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    token = make_token(42, "unsubscribe")
    monkeypatch.setenv("WATCHER_SECRET_KEY", "another-key")
    get_settings.cache_clear()
    with pytest.raises(TokenInvalid):
        read_token(token, "unsubscribe")


def test_confirmation_expires_after_72_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    token = make_token(7, "confirm")
    max_age = get_settings().confirm_token_max_age_s
    assert max_age == 72 * 3600
    real = time.time()
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real + max_age - 60)
    assert read_token(token, "confirm", max_age_s=max_age) == 7
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real + max_age + 60)
    with pytest.raises(TokenExpired):
        read_token(token, "confirm", max_age_s=max_age)
    assert read_token(token, "confirm") == 7  # no max age: unsubscribe-style tokens never expire


def test_token_is_bound_to_the_subscriber_nonce(engine: Engine) -> None:
    with Session(engine) as session:
        subscriber = make_subscriber(session)
        token = token_for(subscriber, "unsubscribe")
        assert subscriber_for_token(session, token, "unsubscribe").id == subscriber.id
        forged = make_token(subscriber.id or 0, "unsubscribe", nonce="guess")
        with pytest.raises(TokenInvalid):
            subscriber_for_token(session, forged, "unsubscribe")
        subscriber.token_nonce = new_token_nonce()
        session.add(subscriber)
        session.commit()
        with pytest.raises(TokenInvalid):
            subscriber_for_token(session, token, "unsubscribe")
        with pytest.raises(TokenInvalid):
            subscriber_for_token(session, make_token(9999, "unsubscribe"), "unsubscribe")
