"""`watcher classify`, `watcher eval`, `watcher reclassify`, `watcher corrections export`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from watcher.classify.classifier import Classifier
from watcher.classify.evaluation import evaluate, render
from watcher.classify.records import classify_stream, dumps
from watcher.classify.taxonomy import TaxonomyError


def _classifier() -> Classifier:
    """The configured classifier, or a clear message and exit code 2 for a bad taxonomy file."""
    try:
        return Classifier.from_settings()
    except (TaxonomyError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("classify")
    def classify_command() -> None:
        """Classify JSON lines from stdin ({"id","title","text",...}); one JSON result per line on stdout."""
        classifier = _classifier()
        bad = classify_stream(sys.stdin, sys.stdout, sys.stderr, classifier)
        if bad:
            raise typer.Exit(1)

    @app.command("eval")
    def eval_command(
        file: Path = typer.Argument(..., help="Labelled JSONL (dev.jsonl format, labels under 'gold')."),
        as_json: bool = typer.Option(False, "--json", help="End with the figures as one JSON line."),
        show_misses: bool = typer.Option(False, "--misses", help="List items the classifier got wrong."),
    ) -> None:
        """Score the classifier: micro P/R/F1, per ecosystem, confusions, kind and deadline accuracy."""
        classifier = _classifier()
        try:
            with file.open(encoding="utf-8") as handle:
                report = evaluate(handle, classifier)
        except OSError as error:
            typer.echo(f"error: cannot read {file}: {error}", err=True)
            raise typer.Exit(2) from error
        typer.echo(render(report))
        if show_misses:
            for miss in report.misses:
                typer.echo(f"miss: {dumps(miss)}")
        if as_json:
            typer.echo(dumps(report.as_dict()))
        if report.errors:
            raise typer.Exit(1)

    @app.command("reclassify")
    def reclassify_command(
        source: str | None = typer.Option(None, "--source", help="Only items of this source."),
    ) -> None:
        """Re-run the classifier over stored items (after a taxonomy change); corrections are kept."""
        from watcher.classify.storage import reclassify

        report = reclassify(classifier=_classifier(), source=source)
        typer.echo(
            f"items: {report.seen}, changed: {report.changed}, with corrections kept: {report.corrected_kept}"
        )

    corrections = typer.Typer(help="Admins' reclassifications.", no_args_is_help=True)

    @corrections.command("export")
    def export_command(
        output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
    ) -> None:
        """Labelled JSONL (dev.jsonl format) from admins' corrections, to grow the evaluation set."""
        from watcher.classify.storage import corrections_export

        handle = output.open("w", encoding="utf-8") if output else sys.stdout
        try:
            count = 0
            for record in corrections_export():
                handle.write(dumps(record) + "\n")
                count += 1
        finally:
            if output:
                handle.close()
        typer.echo(f"exported {count} corrected items", err=True)

    app.add_typer(corrections, name="corrections")
