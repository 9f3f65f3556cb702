"""`watcher admin create`: account from stdin, validation errors, unmigrated database."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from watcher.cli import app
from watcher.web.admin.auth import verify_password
from watcher.web.models import AdminUser


def test_admin_create_from_stdin(sqlite_engine: Engine) -> None:
    result = CliRunner().invoke(
        app,
        ["admin", "create", "chief", "--password-stdin", "--email", "c@example.org"],
        input="a long password\n",
    )
    assert result.exit_code == 0, result.output
    with Session(sqlite_engine) as session:
        user = session.exec(select(AdminUser).where(AdminUser.username == "chief")).one()
    assert verify_password(user.password_hash, "a long password") and user.email == "c@example.org"


def test_admin_create_rejects_short_password(sqlite_engine: Engine) -> None:
    result = CliRunner().invoke(app, ["admin", "create", "chief", "--password-stdin"], input="short\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output


def test_admin_create_on_unmigrated_database_explains() -> None:
    result = CliRunner().invoke(
        app, ["admin", "create", "chief", "--password-stdin"], input="a long password\n"
    )
    assert result.exit_code == 1 and "watcher db upgrade" in result.output
