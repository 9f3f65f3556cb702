"""The Dockerfile and docker-compose.yml cannot be built here (no Docker engine): check their shape.

These are structural checks of what a reader would otherwise verify by eye: the services exist, the
app and workers get their configuration from the same block, data lives on volumes, every service
has a healthcheck, the image runs as a non-root user and probes /healthz.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from watcher.settings import PROJECT_ROOT, Settings


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text()))


def test_compose_has_app_worker_postgres_and_mailpit_with_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"app", "worker", "postgres", "mailpit"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped", name
    assert services["worker"]["command"] == ["watcher", "worker"]
    assert services["app"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(services["app"]["healthcheck"]["test"])


def test_app_and_worker_share_configuration_known_to_settings(compose: dict[str, Any]) -> None:
    services = compose["services"]
    app_env, worker_env = services["app"]["environment"], services["worker"]["environment"]
    assert app_env["WATCHER_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in app_env["WATCHER_DATABASE_URL"]
    assert app_env["WATCHER_SMTP_URL"].endswith("smtp://mailpit:1025}")
    assert set(app_env) <= set(worker_env)
    fields = {f"WATCHER_{name.upper()}" for name in Settings.model_fields}
    unknown = (set(app_env) | set(worker_env)) - fields
    assert not unknown, f"environment names no setting reads: {unknown}"


def test_data_lives_on_named_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(compose["volumes"]) >= {"pgdata", "appdata"}
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    for name in ("app", "worker"):
        assert "appdata:/data" in services[name]["volumes"]
        assert services[name]["environment"]["WATCHER_DATA_DIR"] == "/data"


def test_secret_key_must_be_given(compose: dict[str, Any]) -> None:
    secret = compose["services"]["app"]["environment"]["WATCHER_SECRET_KEY"]
    assert re.fullmatch(r"\$\{WATCHER_SECRET_KEY:\?.+\}", secret), "compose must refuse to start without one"


def test_dockerfile_is_slim_non_root_and_probes_healthz() -> None:
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert froms and all(image == "python:3.11-slim" for image in froms)
    assert re.search(r"^USER watcher$", text, re.MULTILINE)
    assert "useradd --system --uid 10001" in text
    assert re.search(r"pip install \.$", text, re.MULTILINE)
    health = text[text.index("HEALTHCHECK") :]
    assert "urllib.request" in health and "/healthz" in health
    for needed in ("config", "templates", "migrations"):
        assert f"COPY --chown=root:root {needed} ./{needed}" in text


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".env", "data/"):
        assert entry in ignored
