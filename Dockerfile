# Cluster Watch: one image for the web app (`watcher serve`) and the workers (`watcher worker`).
# Build:  docker build -t cluster-watch .
# Run:    see docker-compose.yml (app + worker + PostgreSQL + Mailpit).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependencies first, so a code change does not reinstall them (pyproject.toml changes rarely).
COPY pyproject.toml README.md ./
COPY watcher ./watcher
COPY subscribers ./subscribers
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install .

FROM python:3.11-slim
# The code reads config/, templates/ and migrations/ next to its package (PROJECT_ROOT), so the
# source tree in /app comes first on PYTHONPATH; the venv provides the installed dependencies.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    WATCHER_DATA_DIR=/data \
    WATCHER_HOST=0.0.0.0 \
    WATCHER_PORT=8000 \
    WATCHER_LOG_FORMAT=json
RUN groupadd --system --gid 10001 watcher \
 && useradd --system --uid 10001 --gid watcher --home-dir /app --shell /usr/sbin/nologin watcher \
 && mkdir -p /data \
 && chown watcher:watcher /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root watcher ./watcher
COPY --chown=root:root subscribers ./subscribers
COPY --chown=root:root config ./config
COPY --chown=root:root templates ./templates
COPY --chown=root:root migrations ./migrations
USER watcher
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('WATCHER_PORT', '8000')}/healthz\", timeout=4)"]
CMD ["sh", "-c", "watcher db upgrade && exec watcher serve"]
