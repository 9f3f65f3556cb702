"""Tables of the web layer: admin accounts.

Only a salted argon2 hash is stored (argon2-cffi); the session lives in a signed cookie, so no
session table is needed.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from watcher.models import utcnow


class AdminUser(SQLModel, table=True):
    """Someone allowed into the admin console (created with `watcher admin create`)."""

    __tablename__ = "admin_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True, index=True)
    password_hash: str = Field(max_length=300, description="argon2id hash with its own salt/params.")
    email: str | None = Field(default=None, max_length=320, description="Where 'send me a test' goes.")
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    session_generation: int = Field(
        default=0, description="Bumped by logout: cookies of an older generation are refused."
    )
