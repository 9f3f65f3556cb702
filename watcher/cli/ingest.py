"""`watcher poll`, `sources`, `items`, `run` and `demo`: the ingest side's commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from watcher import gc_tuning, migrate
from watcher.cli.common import console as make_console
from watcher.cli.common import fail, settings_or_exit, sources_or_exit

if TYPE_CHECKING:
    from watcher.pipeline import RoundReport, SourceOutcome
from watcher.sources.config import SourcesConfigError, load_sources
from watcher.sources_health import source_health_rows

console = make_console(stderr=True)


def _summary_table(report: RoundReport) -> Table:
    table = Table(title="Poll round")
    for column in ("source", "result", "seen", "new", "updated", "unchanged", "s", "error / warnings"):
        table.add_column(column, overflow="fold")
    for outcome in report.outcomes:
        result = "[green]ok[/]" if outcome.ok else "[red]failed[/]"
        if outcome.not_modified:
            result = "[cyan]304[/]"
        note = outcome.error or "; ".join(outcome.warnings[:2])
        table.add_row(
            outcome.source_id,
            result,
            str(outcome.seen),
            str(outcome.new),
            str(outcome.updated),
            str(outcome.unchanged),
            f"{outcome.elapsed_s:.1f}",
            note[:200],
        )
    return table


def poll(
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Poll only this source id.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Poll sources once: fetch, classify and store. A failing source never fails the command."""
    with gc_tuning.importing():  # the pipeline's imports join the frozen start-up objects
        from watcher.pipeline import poll_sources_sync, select_sources

    settings = settings_or_exit()
    try:
        selected = select_sources(sources_or_exit(settings), source)
    except ValueError as error:
        fail(str(error))
    migrate.upgrade()
    with Progress(
        TextColumn("[bold]polling"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        disable=quiet,
        transient=True,
        auto_refresh=False,  # no refresh thread: a round may fork pool workers (watcher.pipeline_pool)
    ) as progress:
        task = progress.add_task("", total=len(selected))

        def advance(outcome: SourceOutcome) -> None:
            progress.update(task, advance=1, description=outcome.source_id, refresh=True)

        report = poll_sources_sync(settings, source_ids=[s.id for s in selected], progress=advance)
    if not quiet:
        console.print(_summary_table(report))
    console.print(
        f"{len(report.outcomes)} source(s): {report.new} new, {report.updated} updated, "
        f"{report.failed} failed"
    )


def sources_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per source.")] = False,
) -> None:
    """Configured sources with their health: last attempt/success, failures, last error, next poll."""
    settings = settings_or_exit()
    try:
        sources = load_sources(settings.sources)
    except SourcesConfigError as error:
        fail(str(error))
    migrate.upgrade()
    rows = source_health_rows(sources)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, default=str, ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} sources ({settings.sources})")
    for column in (
        "id",
        "type",
        "enabled",
        "last attempt",
        "last success",
        "fails",
        "items",
        "next poll",
        "last error",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["id"],
            row["type"],
            "yes" if row["enabled"] else "no",
            _when(row["last_attempt_at"]),
            _when(row["last_success_at"]),
            str(row["consecutive_failures"]),
            str(row["items_seen"]),
            _when(row["next_poll_at"]),
            (row["last_error"] or "")[:120],
        )
    make_console().print(table)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def sources_check() -> None:
    """Validate the sources file and say what is configured; exit 1 with the culprit when invalid."""
    settings = settings_or_exit()
    try:
        sources = load_sources(settings.sources)
    except SourcesConfigError as error:
        fail(str(error))
    by_type: dict[str, int] = {}
    for source in sources:
        by_type[source.type] = by_type.get(source.type, 0) + 1
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(by_type.items()))
    typer.echo(f"{settings.sources}: {len(sources)} sources valid ({kinds})")


def items_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    kind: Annotated[str | None, typer.Option(help="call, event or news.")] = None,
    ecosystem: Annotated[str | None, typer.Option(help="Ecosystem slug.")] = None,
    source: Annotated[str | None, typer.Option(help="Source id.")] = None,
    status: Annotated[
        str | None, typer.Option(help="open, closing (closing_soon) or closed, as in the archive.")
    ] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Text in the title.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many items, newest first.")] = 50,
) -> None:
    """Stored items, newest first (hidden items and story mirrors are left out, as in the archive)."""
    settings_or_exit()
    migrate.upgrade()
    if status == "closing_soon":  # the name the README first documented
        status = "closing"
    from watcher.items_query import ItemFilters, list_items  # the archive's queries: only for this command

    filters = ItemFilters(kind=kind, ecosystem=ecosystem, source=source, status=status, q=query)
    items = list_items(filters, limit=limit, today=datetime.now(UTC).date())
    if as_json:
        for item in items:
            typer.echo(json.dumps(item, default=str, ensure_ascii=False))
        return
    table = Table(title=f"{len(items)} item(s)")
    for column in ("id", "kind", "deadline", "ecosystems", "source", "title"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            str(item["id"]),
            item["kind"],
            str(item["deadline"] or ""),
            ", ".join(item["ecosystems"]),
            item["source_id"],
            item["title"][:90],
        )
    make_console().print(table)


def register(app: typer.Typer) -> None:
    """Add the ingest commands to `app`."""
    app.command("poll")(poll)
    sources = typer.Typer(help="Configured sources and their health.", no_args_is_help=True)
    sources.command("list")(sources_list)
    sources.command("check")(sources_check)
    app.add_typer(sources, name="sources")
    items = typer.Typer(help="Stored items.", no_args_is_help=True)
    items.command("list")(items_list)
    app.add_typer(items, name="items")
    from watcher.cli.running import register as register_running

    register_running(app)
