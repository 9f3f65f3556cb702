"""Shared fixtures for classifier tests: one classifier per session (compiling the vocabulary once)."""

from __future__ import annotations

import pytest

from watcher.classify import Classifier
from watcher.settings import Settings


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier.from_settings(Settings())
