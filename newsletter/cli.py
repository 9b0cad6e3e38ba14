"""The ``newsletter`` command: thin click commands over ``newsletter.pipeline``."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__, pipeline
from .config import Settings, load_settings
from .errors import ConfigError, NewsletterError
from .http import Http, make_http, resolve_recording

F = TypeVar("F", bound=Callable[..., Any])


class Ctx:
    def __init__(self, config: str | None, data_dir: str | None, verbose: int) -> None:
        self.config_path, self.data_dir_opt, self.verbose = config, data_dir, verbose
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path, data_dir=self.data_dir_opt)
        return self._settings


def say(message: str) -> None:
    click.echo(message, err=True)


def handle_errors(func: F) -> F:
    """One place that turns library errors into one clear line and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NewsletterError as exc:
            raise click.ClickException(str(exc)) from None
    return wrapper  # type: ignore[return-value]


def date_option(func: F) -> F:
    return click.option("--date", "date_", metavar="YYYY-MM-DD",
                        help="Edition date (default: today in edition.timezone).")(func)


def force_option(func: F) -> F:
    return click.option("--force", is_flag=True, help="Redo this stage even if its output "
                        "exists.")(func)


def http_options(func: F) -> F:
    func = click.option("--replay", metavar="DIR", help="Answer every request from a "
                        "recording ('sample' = the bundled day 2026-06-12).")(func)
    func = click.option("--record", metavar="DIR", type=click.Path(file_okay=False),
                        help="Save every raw response into DIR.")(func)
    return func


def edition_date(ctx: Ctx, value: str | None) -> str:
    return pipeline.check_date(value) if value else pipeline.today(ctx.settings)


@contextmanager
def open_http(ctx: Ctx, record: str | None, replay: str | None) -> Iterator[Http]:
    if record and replay:
        raise ConfigError("--record and --replay cannot be used together")
    s = ctx.settings
    http = make_http(
        timeout_s=s.http.timeout_s, contact=s.http.contact, max_bytes=s.http.max_bytes,
        retries=s.http.retries, max_per_host=s.http.max_per_host,
        record=Path(record) if record else None,
        replay=resolve_recording(replay) if replay else None,
        cache_dir=s.data_dir / "cache",
    )
    try:
        yield http
    finally:
        http.close()


def llm_parts(ctx: Ctx, http: Http | None) -> tuple[Any, Any]:
    """(analyzer, recommender) when an LLM is configured, else (None, None)."""
    s = ctx.settings
    if not s.llm_enabled:
        return None, None
    from .analysis.llm import make_analyzer, make_recommender

    return make_analyzer(s, http, progress=say), make_recommender(s)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsletter")
@click.option("--config", type=click.Path(dir_okay=False), envvar="NEWSLETTER_CONFIG",
              help="Settings file (default: ./newsletter.toml if present).")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Where editions, the ledger and the outbox live (default: ./data).")
@click.option("-v", "--verbose", count=True, help="More detail (-vv for debug).")
@click.pass_context
def cli(click_ctx: click.Context, config: str | None, data_dir: str | None,
        verbose: int) -> None:
    """Daily AI-paper newsletter: collect, select, analyze, build, preview and send."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    click_ctx.obj = Ctx(config, data_dir, verbose)


@cli.command()
@date_option
@force_option
@http_options
@click.pass_obj
@handle_errors
def collect(ctx: Ctx, date_: str | None, force: bool, record: str | None,
            replay: str | None) -> None:
    """Collect the day's candidate papers from every enabled source."""
    day = edition_date(ctx, date_)
    with open_http(ctx, record, replay) as http:
        candidates = pipeline.collect(ctx.settings, day, http, force=force, progress=say)
    click.echo(f"{len(candidates.papers)} candidates -> "
               f"{pipeline.Paths.of(ctx.settings, day).candidates}")


@cli.command()
@date_option
@force_option
@click.pass_obj
@handle_errors
def select(ctx: Ctx, date_: str | None, force: bool) -> None:
    """Pick the top N by upvotes and M recommended papers."""
    day = edition_date(ctx, date_)
    _, recommender = llm_parts(ctx, None)
    selection = pipeline.select(ctx.settings, day, force=force, recommender=recommender,
                                progress=say)
    for s in selection.papers:
        click.echo(f"{s.rank:>2}. {'📊' if s.kind == 'ranked' else '🤖'} {s.id}  {s.reason}")


@cli.command()
@date_option
@force_option
@http_options
@click.pass_obj
@handle_errors
def analyze(ctx: Ctx, date_: str | None, force: bool, record: str | None,
            replay: str | None) -> None:
    """Analyse each selected paper (LLM from full text, or abstract only without one)."""
    day = edition_date(ctx, date_)
    with open_http(ctx, record, replay) as http:
        analyzer, _ = llm_parts(ctx, http)
        results = pipeline.analyze(ctx.settings, day, force=force, analyzer=analyzer,
                                   progress=say)
    if analyzer is not None and hasattr(analyzer, "usage_line"):
        say(analyzer.usage_line())
    click.echo(f"{len(results)} analyses -> {pipeline.Paths.of(ctx.settings, day).analyses}")


@cli.command()
@date_option
@force_option
@click.option("--allow-empty", is_flag=True, help="Build a short 'no papers today' edition.")
@click.pass_obj
@handle_errors
def build(ctx: Ctx, date_: str | None, force: bool, allow_empty: bool) -> None:
    """Render each variant's HTML and text (one per distinct set of papers)."""
    day = edition_date(ctx, date_)
    store = pipeline.open_store(ctx.settings)
    edition = pipeline.build(ctx.settings, day, force=force, store=store, progress=say,
                             allow_empty=allow_empty or ctx.settings.edition.allow_empty)
    for v in edition.variants:
        click.echo(f"{v.key}: {len(v.paper_ids)} papers, {len(v.subscribers)} subscribers, "
                   f"{v.html_bytes / 1000:.1f} KB html, {v.text_bytes / 1000:.1f} KB text")


@cli.command()
@date_option
@click.option("--subscriber", metavar="EMAIL", help="Open this subscriber's email.")
@click.option("--port", default=8025, show_default=True, help="Local port (0 = any free).")
@click.option("--no-open", is_flag=True, help="Do not open a browser.")
@click.pass_obj
@handle_errors
def preview(ctx: Ctx, date_: str | None, subscriber: str | None, port: int,
            no_open: bool) -> None:
    """Serve the built variants on a local page: desktop and phone widths, text part."""
    from .preview import serve

    day = edition_date(ctx, date_)
    serve(ctx.settings, day, port=port, subscriber=subscriber, open_browser=not no_open,
          announce=click.echo)


@cli.command()
@date_option
@force_option
@http_options
@click.option("--dry-run", is_flag=True, help="Show who would get which variant; send nothing.")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most N messages this run.")
@click.option("--retry-unknown", is_flag=True,
              help="Resend rows a crash left in 'sending' (their outcome is unknown).")
@click.option("--allow-empty", is_flag=True, help="Send a short edition on a day with no "
              "papers instead of nothing.")
@click.pass_obj
@handle_errors
def send(ctx: Ctx, date_: str | None, force: bool, record: str | None, replay: str | None,
         dry_run: bool, limit: int | None, retry_unknown: bool, allow_empty: bool) -> None:
    """Run whatever stages are missing, then deliver to every subscriber."""
    s = ctx.settings
    day = edition_date(ctx, date_)
    paths = pipeline.Paths.of(s, day)
    allow_empty = allow_empty or s.edition.allow_empty
    store = pipeline.open_store(s)
    with open_http(ctx, record, replay) as http:
        candidates = pipeline.collect(s, day, http, force=force, progress=say)
        if not candidates.papers and not allow_empty:
            click.echo(f"No papers for {day} (weekend, holiday or not yet published): "
                       "nothing sent. Use --allow-empty to send a short edition anyway.")
            return
        analyzer, recommender = llm_parts(ctx, http)
        pipeline.select(s, day, force=force, recommender=recommender, progress=say)
        pipeline.analyze(s, day, force=force, analyzer=analyzer, progress=say)
    edition = pipeline.build(s, day, force=force, store=store, progress=say,
                             allow_empty=allow_empty)
    if analyzer is not None and hasattr(analyzer, "usage_line"):
        say(analyzer.usage_line())
    if dry_run:
        for v in edition.variants:
            click.echo(f"{v.key} ({len(v.paper_ids)} papers): {', '.join(v.subscribers)}")
        click.echo("dry run: nothing sent")
        return
    from .delivery.transports import make_transport

    transport = make_transport(s, day)
    try:
        summary = pipeline.deliver(s, day, store=store, transport=transport, limit=limit,
                                   retry_unknown=retry_unknown)
    finally:
        transport.close()
    if summary.sent == 0 and summary.already:
        click.echo(f"Nothing new to send for {day}: {summary.already} already delivered.")
    click.echo(summary.line())
    if summary.unknown:
        click.echo(f"{summary.unknown} deliveries have an unknown outcome (a crash while "
                   "sending); check them, then 'newsletter send --retry-unknown' to resend.")
    if s.delivery.transport == "outbox":
        click.echo(f"emails: {s.data_dir / 'outbox' / day}")
    click.echo(f"preview: {paths.variants} (or 'newsletter preview --date {day}')")
    if summary.failed:
        sys.exit(1)


@cli.command()
@date_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def status(ctx: Ctx, date_: str | None, as_json: bool) -> None:
    """Show what each stage produced for a date and the delivery ledger counts."""
    day = edition_date(ctx, date_)
    report = pipeline.status(ctx.settings, day, pipeline.open_store(ctx.settings))
    if as_json:
        click.echo(json.dumps(report, indent=1, ensure_ascii=False))
        return
    click.echo(f"edition {day} ({report['folder']})")
    for stage in ("collect", "select", "analyze", "build", "deliver"):
        info = report.get(stage)
        if info is None:
            click.echo(f"  {stage:<8} not run")
            continue
        if stage == "build":
            parts = [f"{v['key']} {v['papers']}p {v['subscribers']}s {v['html_kb']}KB"
                     for v in info["variants"]]
            click.echo(f"  {stage:<8} {len(parts)} variants: {'; '.join(parts)}")
            continue
        flat = {k: v for k, v in info.items() if not isinstance(v, (list, dict))}
        click.echo(f"  {stage:<8} " + ", ".join(f"{k} {v}" for k, v in flat.items()))
        for key in ("warnings",):
            items = info.get(key)
            if isinstance(items, list):
                for w in items:
                    click.echo(f"           ! {w}")
            elif isinstance(items, dict):
                for pid, ws in items.items():
                    for w in ws:
                        click.echo(f"           ! {pid}: {w}")


@cli.group()
def subscribers() -> None:
    """Subscriber lists (subscribers/*.yaml, *.csv) and their status."""


@subscribers.command("list")
@click.pass_obj
@handle_errors
def subscribers_list(ctx: Ctx) -> None:
    """List active subscribers and their topics."""
    for sub in pipeline.load_subscribers(ctx.settings, pipeline.open_store(ctx.settings)):
        excluded = ("\t-" + ",".join(sub.exclude)) if sub.exclude else ""
        click.echo(f"{sub.email}\t{sub.name}\t{','.join(sub.topics) or '*'}{excluded}")


@subscribers.command("check")
@click.pass_obj
@handle_errors
def subscribers_check(ctx: Ctx) -> None:
    """Report every invalid address, unknown topic and duplicate, with file and line."""
    from . import subscribers as files

    found, problems = files.check(ctx.settings.subscribers_dir, set(ctx.settings.topics))
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(found)} valid subscribers, {len(problems)} problems")
    if problems:
        sys.exit(1)


def main() -> None:
    cli(prog_name="newsletter")


if __name__ == "__main__":
    main()

