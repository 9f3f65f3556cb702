"""The admin console (login required): dashboard, sources, items, topics, subscribers, outbox.

``install`` mounts one router per section under ``/admin``. Every console route shares two router
dependencies, in this order: ``verify_csrf`` (so a POST without a valid token is a 403 whether or
not the sender is signed in) and ``require_admin`` (a redirect to the login page otherwise).
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from watcher.settings import Settings
from watcher.web.admin import auth, csvio, dashboard, items, outbox, preview, sources, subscribers, topics
from watcher.web.security import verify_csrf

# csvio before subscribers: its fixed paths (/subscribers/export.csv) must win over /subscribers/{id}.
SECTIONS = (dashboard, sources, items, csvio, preview, subscribers, topics, outbox)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the login routes and every console section to ``app``."""
    app.add_exception_handler(auth.NotLoggedIn, auth.not_logged_in_handler)
    app.include_router(auth.build_router(settings))
    guards = [Depends(verify_csrf), Depends(auth.require_admin)]
    for section in SECTIONS:
        app.include_router(section.build_router(), prefix="/admin", dependencies=guards)
