"""`watcher serve`: the web app (public archive, self-service, feeds, API, admin console) on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from watcher.settings import get_settings


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    register_serve(app)
    register_admin(app)


def register_serve(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str | None = typer.Option(None, "--host", help="Address to bind (default: WATCHER_HOST)."),
        port: int | None = typer.Option(
            None, "--port", min=1, max=65535, help="Port (default: WATCHER_PORT)."
        ),
        proxy_headers: bool = typer.Option(
            False, "--proxy-headers", help="Trust X-Forwarded-* from a reverse proxy on loopback."
        ),
    ) -> None:
        """Serve the web app until interrupted (the scheduler is `watcher run`)."""
        import uvicorn

        from watcher.web.app import create_app

        settings = get_settings()
        bind_host = host or settings.host
        bind_port = port or settings.port
        typer.echo(f"Cluster Watch web app on http://{bind_host}:{bind_port}/ (Ctrl+C to stop)")
        uvicorn.run(
            create_app(settings),
            host=bind_host,
            port=bind_port,
            proxy_headers=proxy_headers,
            forwarded_allow_ips="127.0.0.1" if proxy_headers else None,
            log_level="info",
            access_log=False,
        )


def register_admin(app: typer.Typer) -> None:
    """`watcher admin create`; the admin console is imported only when the command runs."""
    admin = typer.Typer(help="Admin console accounts.", no_args_is_help=True)

    @admin.command("create")
    def create(
        username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ -).")],
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
        ] = False,
        email: Annotated[str | None, typer.Option(help="Address for 'send me a test' digests.")] = None,
    ) -> None:
        """Create an admin account (or set a new password for an existing one)."""
        from watcher.web.admin.cli import create as create_account

        create_account(username=username, password_stdin=password_stdin, email=email)

    app.add_typer(admin, name="admin")
