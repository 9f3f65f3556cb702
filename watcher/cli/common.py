"""Helpers every command module shares: loading settings and failing with a clear message."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from watcher.settings import Settings, get_settings

if TYPE_CHECKING:
    from watcher.sources.config import SourceConfig

PIPE_WIDTH = 160


def console(*, stderr: bool = False) -> Console:
    """A rich console; wide when output goes to a pipe or file so tables are not folded."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=PIPE_WIDTH)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    """The settings, or a clear exit when the environment holds an invalid value."""
    try:
        return get_settings()
    except ValidationError as error:
        fail(f"invalid configuration: {error}")


def sources_or_exit(settings: Settings) -> list[SourceConfig]:
    """The configured sources, after checking the sources file and the taxonomy both load.

    A bad config must stop a command with the file and field at fault, not a traceback mid-round.
    """
    from watcher.classify.taxonomy import TaxonomyError, load_taxonomy
    from watcher.sources.config import SourcesConfigError, load_sources

    try:
        sources = load_sources(settings.sources)
        load_taxonomy(settings.ecosystems)
    except (SourcesConfigError, TaxonomyError) as error:
        fail(str(error))
    return sources
