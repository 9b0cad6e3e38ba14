"""The stage commands: collect, select, analyze, build, preview, status."""

from __future__ import annotations

import json
import sys

import click

from .base import (
    Ctx,
    date_lock,
    date_option,
    force_option,
    handle_errors,
    http_options,
    open_http,
    read_lists,
    say,
)


@click.command()
@date_option
@force_option
@http_options
@click.pass_obj
@handle_errors
def collect(
    ctx: Ctx, date_: str | None, force: bool, record: str | None, replay: str | None
) -> None:
    """Collect the day's candidate papers from every enabled source.

    Exits 75 (and writes nothing) while a source's list of the day is still open.
    """
    from ..pipeline import collect_edition

    day = ctx.edition_date(date_)
    with date_lock(ctx, day, "collect"), open_http(ctx, record, replay) as http:
        report = collect_edition(ctx.settings, day, http, force=force, progress=say)
    click.echo(report.line())
    sys.exit(report.exit_code)


@click.command()
@date_option
@force_option
@click.pass_obj
@handle_errors
def select(ctx: Ctx, date_: str | None, force: bool) -> None:
    """Pick the top N by upvotes and M recommended papers."""
    from ..analysis import make_recommender
    from ..stages.select import select as run_select

    day = ctx.edition_date(date_)
    recommender = make_recommender(ctx.settings)
    with date_lock(ctx, day, "select"):
        selection = run_select(
            ctx.settings, day, recommender, force=force, store=ctx.store(), progress=say
        )
    if usage := recommender.usage_line():
        say(usage)
    for s in selection.papers:
        click.echo(f"{s.rank:>2}. {'📊' if s.kind == 'ranked' else '🤖'} {s.id}  {s.reason}")


@click.command()
@date_option
@force_option
@http_options
@click.pass_obj
@handle_errors
def analyze(
    ctx: Ctx, date_: str | None, force: bool, record: str | None, replay: str | None
) -> None:
    """Analyse each selected paper (LLM from full text, or abstract only without one)."""
    from ..analysis import make_analyzer
    from ..stages.analyze import analyze as run_analyze

    day = ctx.edition_date(date_)
    with date_lock(ctx, day, "analyze"), open_http(ctx, record, replay) as http:
        analyzer = make_analyzer(ctx.settings, http, progress=say)
        results = run_analyze(
            ctx.settings, day, analyzer, force=force, store=ctx.store(), progress=say
        )
    if usage := analyzer.usage_line():
        say(usage)
    click.echo(f"{len(results)} analyses -> {ctx.settings.layout.edition(day).analyses}")


@click.command()
@date_option
@force_option
@click.option("--allow-empty", is_flag=True, help="Build a short 'no papers today' edition.")
@click.pass_obj
@handle_errors
def build(ctx: Ctx, date_: str | None, force: bool, allow_empty: bool) -> None:
    """Render each variant's HTML and text (one per distinct set of papers)."""
    from ..stages.build import build as run_build

    day = ctx.edition_date(date_)
    lists = read_lists(ctx.settings)
    allow = allow_empty or ctx.settings.edition.allow_empty
    with date_lock(ctx, day, "build"):
        edition = run_build(
            ctx.settings,
            day,
            force=force,
            store=ctx.store(),
            progress=say,
            allow_empty=allow,
            lists=lists,
        )
    for v in edition.variants:
        click.echo(
            f"{v.key}: {len(v.paper_ids)} papers, {v.subscriber_count} subscribers, "
            f"{v.html_bytes / 1000:.1f} KB html, {v.text_bytes / 1000:.1f} KB text"
            + (
                f" (shortened to fit the size budget: {'; '.join(v.shortened)})"
                if v.shortened
                else ""
            )
        )


@click.command()
@date_option
@click.option("--subscriber", metavar="EMAIL", help="Open this subscriber's email.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8025,
    show_default=True,
    help="Local port (0 = any free).",
)
@click.option("--no-open", is_flag=True, help="Do not open a browser.")
@click.pass_obj
@handle_errors
def preview(ctx: Ctx, date_: str | None, subscriber: str | None, port: int, no_open: bool) -> None:
    """Serve the built variants on a local page: desktop and phone widths, text part."""
    from ..preview import serve

    day = ctx.edition_date(date_)
    announce = click.echo
    serve(
        ctx.settings,
        day,
        port=port,
        subscriber=subscriber,
        open_browser=not no_open,
        announce=announce,
    )


@click.command()
@date_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def status(ctx: Ctx, date_: str | None, as_json: bool) -> None:
    """Show what each stage produced for a date and the delivery ledger counts."""
    from ..status import edition_status, status_lines

    day = ctx.edition_date(date_)
    report = edition_status(ctx.settings, day, ctx.store())
    if as_json:
        click.echo(json.dumps(report, indent=1, ensure_ascii=False))
        return
    for line in status_lines(report):
        click.echo(line)
    if report.get("broken"):
        raise click.ClickException(
            f"broken stage file(s): {', '.join(report['broken'])} (see above)"
        )


COMMANDS = (collect, select, analyze, build, preview, status)
