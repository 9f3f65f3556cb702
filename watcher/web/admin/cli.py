"""`watcher admin create USERNAME [--password-stdin] [--email E]`: create or reset an admin account."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from watcher.cli.common import fail, settings_or_exit
from watcher.db import get_engine
from watcher.web.admin.auth import MAX_PASSWORD_LENGTH, AdminAccountError, create_admin


def create(*, username: str, password_stdin: bool, email: str | None) -> None:
    """Create an admin account (or set a new password for an existing one).

    The Typer command that calls this is declared in ``watcher.cli.web`` so that `watcher --help`
    does not import the admin console.
    """
    settings = settings_or_exit()
    if password_stdin:
        password = sys.stdin.readline(MAX_PASSWORD_LENGTH + 1).rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with Session(get_engine(settings.resolved_database_url())) as session:
            user = create_admin(session, username=username, password=password, email=email)
    except AdminAccountError as error:
        fail(str(error))
    except SQLAlchemyError as error:
        fail(f"cannot write the admin account ({type(error).__name__}); has `watcher db upgrade` run?")
    typer.echo(f"admin {user.username!r} ready (id {user.id}); sign in at {settings.base_url}/admin/login")

