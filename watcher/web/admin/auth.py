"""Admin accounts and sessions: argon2 hashes, a signed expiring cookie, login and logout.

No server-side session store: the cookie carries the admin id and a digest of the password hash,
signed with ``settings.secret_key``; changing the password (or the secret) logs every session out.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session, select

from watcher.settings import Settings
from watcher.web.admin.common import admin_page, get_db, local_next, redirect, settings_of
from watcher.web.models import AdminUser
from watcher.web.security import is_https, rate_limit, verify_csrf

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,100}$")
MIN_PASSWORD_LENGTH = 10  # policy, not a tunable: short admin passwords are never acceptable
MAX_PASSWORD_LENGTH = 1000  # argon2 copes, but a 1 MB "password" is only a way to burn CPU
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A real hash to verify against for unknown users, so both paths cost the same.

    Computed on first login attempt rather than at import: argon2 is deliberately slow, and every
    `watcher` command imports this module's package.
    """
    return _hasher.hash("timing-equaliser-for-unknown-users")


class AdminAccountError(ValueError):
    """A username or password that cannot be used, with a message for the operator."""


class NotLoggedIn(Exception):
    """Raised by ``require_admin``; the handler answers with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_admin(session: Session, *, username: str, password: str, email: str | None = None) -> AdminUser:
    """Create (or reset the password of) an admin account; raises AdminAccountError on bad input."""
    if not USERNAME_RE.match(username):
        raise AdminAccountError("Username: 2-100 characters, letters, digits and . _ @ - only.")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AdminAccountError(f"Password: at least {MIN_PASSWORD_LENGTH} characters.")
    user = session.exec(select(AdminUser).where(AdminUser.username == username)).first()
    if user is None:
        user = AdminUser(username=username, password_hash=hash_password(password), email=email)
    else:
        user.password_hash = hash_password(password)
        user.email = email or user.email
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def authenticate(session: Session, *, username: str, password: str) -> AdminUser | None:
    """The admin with these credentials, or None; equal work whether or not the user exists."""
    user = session.exec(select(AdminUser).where(AdminUser.username == username)).first()
    if user is None:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(UTC)
    session.add(user)
    session.commit()
    return user


# --- session cookie ------------------------------------------------------------------------


def session_cookie_name(settings: Settings) -> str:
    return "__Host-cw_admin" if is_https(settings) else "cw_admin"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="cw-admin-session")


def _hash_digest(user: AdminUser) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def set_session(response: Response, settings: Settings, user: AdminUser) -> None:
    value = _serializer(settings).dumps(
        {"id": user.id, "h": _hash_digest(user), "g": user.session_generation}
    )
    response.set_cookie(
        session_cookie_name(settings),
        value,
        max_age=settings.admin_session_max_age_s,
        httponly=True,
        secure=is_https(settings),
        samesite="lax",
        path="/",
    )


def admin_from_cookie(request: Request, session: Session) -> AdminUser | None:
    settings = settings_of(request)
    raw = request.cookies.get(session_cookie_name(settings))
    if not raw:
        return None
    try:
        data: Any = _serializer(settings).loads(raw, max_age=settings.admin_session_max_age_s)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        return None
    user = session.get(AdminUser, data["id"])
    if user is None or data.get("h") != _hash_digest(user) or data.get("g") != user.session_generation:
        return None
    return user


def end_sessions(session: Session, user: AdminUser) -> None:
    """Sign the admin out everywhere: every cookie issued so far carries an older generation."""
    user.session_generation += 1
    session.add(user)
    session.commit()


def require_admin(request: Request, session: Annotated[Session, Depends(get_db)]) -> AdminUser:
    """Router dependency of every console page: the signed-in admin, else a redirect to login."""
    user = admin_from_cookie(request, session)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NotLoggedIn(target if request.method == "GET" else "/admin")
    request.state.admin = user
    return user


async def not_logged_in_handler(request: Request, exc: Exception) -> Response:
    next_path = exc.next_path if isinstance(exc, NotLoggedIn) else "/admin"
    return RedirectResponse(f"/admin/login?next={quote(next_path, safe='')}", status_code=303)


# --- routes --------------------------------------------------------------------------------


def build_router(settings: Settings) -> APIRouter:
    """Login and logout; the login POST is CSRF-checked (login CSRF) and rate limited per IP."""
    router = APIRouter(prefix="/admin", dependencies=[Depends(verify_csrf)])
    limited = Depends(rate_limit("admin-login", per_minute=settings.login_rate_per_minute))

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/admin") -> HTMLResponse:
        return admin_page(request, "login.html", next=local_next(next))

    @router.post("/login", response_class=HTMLResponse, dependencies=[limited])
    def login(
        request: Request,
        session: Annotated[Session, Depends(get_db)],
        username: Annotated[str, Form(max_length=100)],
        password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
        next: Annotated[str, Form(max_length=2000)] = "/admin",
    ) -> Response:
        user = authenticate(session, username=username.strip(), password=password)
        if user is None:
            return admin_page(
                request,
                "login.html",
                status_code=401,
                error="Wrong username or password.",
                next=local_next(next),
            )
        response = redirect(request, local_next(next), f"Welcome, {user.username}.")
        set_session(response, settings_of(request), user)
        return response

    @router.post("/logout")
    def logout(request: Request, session: Annotated[Session, Depends(get_db)]) -> Response:
        user = admin_from_cookie(request, session)
        if user is not None:
            end_sessions(session, user)
        response = redirect(request, "/admin/login", "You are signed out.")
        response.delete_cookie(session_cookie_name(settings_of(request)), path="/")
        return response

    return router
