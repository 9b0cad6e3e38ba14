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
from .http import Http, make_http
from .recording import resolve_recording
from .status import edition_status

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
        except OSError as exc:
            # The data or subscribers folder unusable (a file where a folder should be, no
            # permission, disk full): one line naming the path, not a traceback.
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None

    return wrapper  # type: ignore[return-value]


def date_option(func: F) -> F:
    return click.option(
        "--date",
        "date_",
        metavar="YYYY-MM-DD",
        help="Edition date (default: today in edition.timezone).",
    )(func)


def force_option(func: F) -> F:
    return click.option("--force", is_flag=True, help="Redo this stage even if its output exists.")(
        func
    )


def http_options(func: F) -> F:
    func = click.option(
        "--replay",
        metavar="DIR",
        help="Answer every request from a recording ('sample' = the bundled day 2026-06-12).",
    )(func)
    func = click.option(
        "--record",
        metavar="DIR",
        type=click.Path(file_okay=False),
        help="Save every raw response into DIR.",
    )(func)
    return func


def warn_subscribers(settings: Settings) -> int:
    """Warn of each skipped subscriber record (file:line) and of empty lists; count skipped.

    A file that cannot be read at all (broken YAML, not UTF-8) raises: nobody knows who is in it.
    """
    from . import subscribers as files

    folder = pipeline.subscribers_folder(settings)
    found, problems = files.check(folder, set(settings.topics))
    for problem in problems:
        say(f"warning: {problem}; skipped")
    if not found:
        valid = "valid " if problems else ""
        say(
            f"warning: {folder}/: the subscriber lists hold no {valid}subscriber; nobody "
            "gets this edition"
        )
    return len(problems)


def edition_date(ctx: Ctx, value: str | None) -> str:
    return pipeline.check_date(value) if value else pipeline.today(ctx.settings)


@contextmanager
def open_http(ctx: Ctx, record: str | None, replay: str | None) -> Iterator[Http]:
    if record and replay:
        raise ConfigError("--record and --replay cannot be used together")
    s = ctx.settings
    http = make_http(
        timeout_s=s.http.timeout_s,
        contact=s.http.contact,
        max_bytes=s.http.max_bytes,
        retries=s.http.retries,
        max_per_host=s.http.max_per_host,
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
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    envvar="NEWSLETTER_CONFIG",
    help="Settings file (default: ./newsletter.toml if present).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Where editions, the ledger and the outbox live (default: ./data).",
)
@click.option("-v", "--verbose", count=True, help="More detail (-vv for debug).")
@click.pass_context
def cli(click_ctx: click.Context, config: str | None, data_dir: str | None, verbose: int) -> None:
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
def collect(
    ctx: Ctx, date_: str | None, force: bool, record: str | None, replay: str | None
) -> None:
    """Collect the day's candidate papers from every enabled source."""
    day = edition_date(ctx, date_)
    with open_http(ctx, record, replay) as http:
        candidates = pipeline.collect(ctx.settings, day, http, force=force, progress=say)
    if not candidates.papers:
        click.echo(
            f"No papers for {day} (weekend, holiday or not yet published); "
            "collect again later, or 'send --allow-empty' for a short edition."
        )
        return
    click.echo(
        f"{len(candidates.papers)} candidates -> {pipeline.Paths.of(ctx.settings, day).candidates}"
    )


@cli.command()
@date_option
@force_option
@click.pass_obj
@handle_errors
def select(ctx: Ctx, date_: str | None, force: bool) -> None:
    """Pick the top N by upvotes and M recommended papers."""
    day = edition_date(ctx, date_)
    _, recommender = llm_parts(ctx, None)
    selection = pipeline.select(
        ctx.settings,
        day,
        force=force,
        recommender=recommender,
        store=pipeline.open_store(ctx.settings),
        progress=say,
    )
    if recommender is not None and hasattr(recommender, "usage_line"):
        say(recommender.usage_line())
    for s in selection.papers:
        click.echo(f"{s.rank:>2}. {'📊' if s.kind == 'ranked' else '🤖'} {s.id}  {s.reason}")


@cli.command()
@date_option
@force_option
@http_options
@click.pass_obj
@handle_errors
def analyze(
    ctx: Ctx, date_: str | None, force: bool, record: str | None, replay: str | None
) -> None:
    """Analyse each selected paper (LLM from full text, or abstract only without one)."""
    day = edition_date(ctx, date_)
    with open_http(ctx, record, replay) as http:
        analyzer, _ = llm_parts(ctx, http)
        results = pipeline.analyze(ctx.settings, day, force=force, analyzer=analyzer, progress=say)
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
    warn_subscribers(ctx.settings)
    store = pipeline.open_store(ctx.settings)
    edition = pipeline.build(
        ctx.settings,
        day,
        force=force,
        store=store,
        progress=say,
        allow_empty=allow_empty or ctx.settings.edition.allow_empty,
    )
    for v in edition.variants:
        click.echo(
            f"{v.key}: {len(v.paper_ids)} papers, {len(v.subscribers)} subscribers, "
            f"{v.html_bytes / 1000:.1f} KB html, {v.text_bytes / 1000:.1f} KB text"
            + (" (shortened to fit the size budget)" if v.degraded else "")
        )


@cli.command()
@date_option
@click.option("--subscriber", metavar="EMAIL", help="Open this subscriber's email.")
@click.option("--port", default=8025, show_default=True, help="Local port (0 = any free).")
@click.option("--no-open", is_flag=True, help="Do not open a browser.")
@click.pass_obj
@handle_errors
def preview(ctx: Ctx, date_: str | None, subscriber: str | None, port: int, no_open: bool) -> None:
    """Serve the built variants on a local page: desktop and phone widths, text part."""
    from .preview import serve

    day = edition_date(ctx, date_)
    serve(
        ctx.settings,
        day,
        port=port,
        subscriber=subscriber,
        open_browser=not no_open,
        announce=click.echo,
    )


@cli.command()
@date_option
@click.option(
    "--force",
    is_flag=True,
    help="Redo every stage before delivering (refused once some readers were sent the edition).",
)
@http_options
@click.option("--dry-run", is_flag=True, help="Show who would get which variant; send nothing.")
@click.option(
    "--limit", type=click.IntRange(min=1), metavar="N", help="Send at most N messages this run."
)
@click.option(
    "--retry-unknown",
    is_flag=True,
    help="Resend rows a crash left in 'sending' (their outcome is unknown).",
)
@click.option(
    "--retry-failed", is_flag=True, help="Try the failed rows again (none of them was delivered)."
)
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Send a short edition on a day with no papers instead of nothing.",
)
@click.option(
    "--to",
    "to",
    metavar="ADDRESS",
    help="Send one '[TEST]' message of a variant "
    "to ADDRESS instead; nothing is recorded in the ledger.",
)
@click.option(
    "--variant",
    metavar="KEY",
    help="With --to: the variant to send (default: the "
    "one with the most papers; 'note-ko'/'note-en' = the no-match note).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar with rate and ETA (default: when stderr is a terminal).",
)
@click.pass_obj
@handle_errors
def send(
    ctx: Ctx,
    date_: str | None,
    force: bool,
    record: str | None,
    replay: str | None,
    dry_run: bool,
    limit: int | None,
    retry_unknown: bool,
    retry_failed: bool,
    allow_empty: bool,
    to: str | None,
    variant: str | None,
    progress: bool | None,
) -> None:
    """Run whatever stages are missing, then deliver to every subscriber."""
    s = ctx.settings
    day = edition_date(ctx, date_)
    paths = pipeline.Paths.of(s, day)
    allow_empty = allow_empty or s.edition.allow_empty
    if variant and not to:
        raise ConfigError("--variant only goes with --to ADDRESS")
    store = pipeline.open_store(s)
    # Bad records are skipped (the others still get the edition) and make the run exit 1.
    skipped = 0 if to else warn_subscribers(s)
    with open_http(ctx, record, replay) as http:
        analyzer, recommender = llm_parts(ctx, http)
        edition = pipeline.prepare(
            s,
            day,
            http=http,
            store=store,
            force=force,
            allow_empty=allow_empty,
            analyzer=analyzer,
            recommender=recommender,
            progress=say,
        )
    if edition is None:
        click.echo(
            f"No papers for {day} (weekend, holiday or not yet published): "
            "nothing sent. Use --allow-empty to send a short edition anyway."
        )
        return
    for part in (recommender, analyzer):
        if part is not None and hasattr(part, "usage_line"):
            say(part.usage_line())
    if dry_run:
        show_plan(pipeline.delivery_preview(s, day, store))
        return
    from .delivery import DeliveryStopped
    from .delivery.transports import make_transport

    transport = make_transport(s, day)
    try:
        if to:
            key, mid = pipeline.send_test(s, day, transport=transport, to=to, variant=variant)
            click.echo(f"test message of {key} sent to {to} ({mid}); not recorded")
            return
        with progress_bar(progress) as (on_start, on_progress), stop_on_sigterm():
            summary = pipeline.deliver_locked(
                s,
                day,
                store=store,
                transport=transport,
                limit=limit,
                retry_unknown=retry_unknown,
                retry_failed=retry_failed,
                on_start=on_start,
                on_progress=on_progress,
            )
    except DeliveryStopped as exc:
        report_errors(exc.summary.errors)
        raise
    finally:
        transport.close()
    report_errors(summary.errors)
    if summary.sent == 0 and summary.already and not summary.pending:
        click.echo(f"Nothing new to send for {day}: {summary.already} already delivered.")
    click.echo(summary.line())
    if summary.unknown:
        click.echo(
            f"{summary.unknown} deliveries have an unknown outcome (a crash or a "
            "timeout while sending); 'newsletter status' lists them, 'newsletter send "
            "--retry-unknown' resends them."
        )
    if s.delivery.transport == "outbox":
        click.echo(f"emails: {s.data_dir / 'outbox' / day}")
    click.echo(f"preview: {paths.variants} (or 'newsletter preview --date {day}')")
    if skipped:
        say(
            f"{skipped} subscriber list problems (warnings above; 'newsletter subscribers "
            "check' lists them)"
        )
    if summary.failed_now or skipped:
        sys.exit(1)


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM (cron timeout, systemd stop) ends delivery like Ctrl-C: in-flight messages are
    finished and recorded, so none is left with an unknown outcome."""
    import signal

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def show_plan(rows: list[tuple[str, str | None, int, str]]) -> None:
    """Print the dry-run table: address, variant, papers, ledger state."""
    counts: dict[str, int] = {}
    for email, key, papers, state in rows:
        what = (
            f"{key} ({papers} papers)"
            if key and not key.startswith("note-")
            else (
                f"{key} (no matching paper: short note)" if key else "skipped (no matching paper)"
            )
        )
        note = "" if state in ("new", "pending") else f"  [{state}]"
        click.echo(f"{email}\t{what}{note}")
        bucket = "skip" if not key else "done" if state in ("sent", "failed", "sending") else "send"
        counts[bucket] = counts.get(bucket, 0) + 1
    click.echo(
        f"dry run: nothing sent; {counts.get('send', 0)} would be sent, "
        f"{counts.get('skip', 0)} skipped, {counts.get('done', 0)} already handled"
    )


def report_errors(errors: list[str], shown: int = 20) -> None:
    """The first failures of a run on stderr, one line each."""
    for line in errors[:shown]:
        say(f"  ! {line}")
    if len(errors) > shown:
        say(f"  ! ... and {len(errors) - shown} more ('newsletter status' for all)")


@contextmanager
def progress_bar(
    enabled: bool | None,
) -> Iterator[tuple[Callable[[Any], None], Callable[[Any], None]]]:
    """(on_start, on_progress) callbacks driving a tqdm bar on stderr: rate, ETA, outcomes."""
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    bar: list[Any] = []

    def on_start(summary: Any) -> None:
        if show and summary.todo:
            bar.append(
                tqdm(
                    total=summary.todo,
                    unit="msg",
                    file=sys.stderr,
                    dynamic_ncols=True,
                    smoothing=0.1,
                    desc="send",
                )
            )

    def on_progress(summary: Any) -> None:
        if bar:
            bar[0].update(1)
            bar[0].set_postfix(
                sent=summary.sent,
                failed=summary.failed_now,
                throttled=summary.throttled,
                refresh=False,
            )

    try:
        yield on_start, on_progress
    finally:
        if bar:
            bar[0].close()


@cli.command()
@date_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@handle_errors
def status(ctx: Ctx, date_: str | None, as_json: bool) -> None:
    """Show what each stage produced for a date and the delivery ledger counts."""
    day = edition_date(ctx, date_)
    report = edition_status(ctx.settings, day, pipeline.open_store(ctx.settings))
    if as_json:
        click.echo(json.dumps(report, indent=1, ensure_ascii=False))
        return
    click.echo(f"edition {day} ({report['folder']})")
    for stage in ("collect", "select", "analyze", "build", "deliver"):
        info = report.get(stage)
        if info is None:
            click.echo(f"  {stage:<8} not run")
            continue
        if stage == "build" and "variants" in info:
            parts = [
                f"{v['key']} {v['papers']}p {v['subscribers']}s {v['html_kb']}KB"
                for v in info["variants"]
            ]
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
    if report.get("broken"):
        raise click.ClickException(
            f"broken stage file(s): {', '.join(report['broken'])} (see above)"
        )


@cli.group()
def subscribers() -> None:
    """Subscriber lists (subscribers/*.yaml, *.csv) and their status."""


def topics_option(func: F) -> F:
    """--name, --topics, --exclude, --language for a new subscriber."""
    func = click.option(
        "--language", type=click.Choice(["ko", "en"]), help="Language of the email's labels."
    )(func)
    func = click.option("--exclude", metavar="T1,T2", default="", help="Topics never to receive.")(
        func
    )
    func = click.option(
        "--topics", metavar="T1,T2", default="", help="Topics to receive (default: every paper)."
    )(func)
    func = click.option("--name", default="", help="Shown in the To: header.")(func)
    return func


def split_topics(value: str) -> list[str]:
    """'llm, agents' or 'llm;agents' -> ['llm', 'agents']."""
    return [t.strip() for t in value.replace(";", ",").split(",") if t.strip()]


@subscribers.command("list")
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Include those who left (unsubscribed, bounced, complained).",
)
@click.pass_obj
@handle_errors
def subscribers_list(ctx: Ctx, show_all: bool) -> None:
    """List active subscribers: email, name, topics (* = all), -excluded, language."""
    from . import subscribers as files

    store = pipeline.open_store(ctx.settings)
    statuses = store.statuses()
    warn_subscribers(ctx.settings)
    if show_all:
        everyone = files.load(pipeline.subscribers_folder(ctx.settings), set(ctx.settings.topics))
    else:
        everyone = pipeline.load_subscribers(ctx.settings, store)
    try:
        for sub in everyone:
            excluded = ("\t-" + ",".join(sub.exclude)) if sub.exclude else ""
            state = statuses.get(sub.email.lower(), "active")
            tail = f"\t[{state}]" if show_all and state != "active" else ""
            click.echo(
                f"{sub.email}\t{sub.name}\t{','.join(sub.topics) or '*'}{excluded}"
                f"{(chr(9) + sub.language) if sub.language else ''}{tail}"
            )
        sys.stdout.flush()
    except BrokenPipeError:
        reader_left()


def reader_left() -> None:
    """The reader of our output went away (``| head``): stop quietly, as Unix tools do."""
    import os

    # Python flushes stdout again at exit; pointed at /dev/null that flush cannot fail.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    sys.exit(0)


@subscribers.command("check")
@click.pass_obj
@handle_errors
def subscribers_check(ctx: Ctx) -> None:
    """Report every invalid address, unknown topic and duplicate, with file and line."""
    from . import subscribers as files

    # The same folder `send` uses (the bundled example list when there is none here).
    folder = pipeline.subscribers_folder(ctx.settings)
    found, problems = files.check(folder, set(ctx.settings.topics))
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(found)} valid subscribers, {len(problems)} problems")
    if problems:
        sys.exit(1)


@subscribers.command("add")
@click.argument("email")
@topics_option
@click.option(
    "--file",
    "file_",
    metavar="NAME",
    help="List file under the subscribers folder (.yaml or .csv; default subscribers.yaml).",
)
@click.option(
    "--resubscribe",
    is_flag=True,
    help="Also clear an earlier unsubscribe, bounce "
    "or complaint for this address (only with their consent).",
)
@click.pass_obj
@handle_errors
def subscribers_add(
    ctx: Ctx,
    email: str,
    name: str,
    topics: str,
    exclude: str,
    language: str | None,
    file_: str | None,
    resubscribe: bool,
) -> None:
    """Add EMAIL to a subscriber list file."""
    from . import subscribers as files
    from .models import Subscriber

    try:
        address = files.normalize_email(email)
    except ValueError as exc:
        raise ConfigError(f"{email!r}: {exc}") from None
    store = pipeline.open_store(ctx.settings)
    status = store.status_of(address)
    if status != "active" and not resubscribe:
        raise ConfigError(
            f"{address} is {status} in the store; add --resubscribe if they asked to come back"
        )
    sub = Subscriber(
        email=address,
        name=name,
        topics=split_topics(topics),
        exclude=split_topics(exclude),
        language=language,
    )
    path = files.add(ctx.settings.subscribers_dir, [sub], set(ctx.settings.topics), file_)
    if status != "active":
        store.set_status(address, "active", "resubscribed")
    click.echo(f"added {address} to {path}")


@subscribers.command("remove")
@click.argument("email")
@click.pass_obj
@handle_errors
def subscribers_remove(ctx: Ctx, email: str) -> None:
    """Delete EMAIL from the list files (to stop mail for someone who asked, use unsubscribe)."""
    from . import subscribers as files

    for where in files.remove(ctx.settings.subscribers_dir, email):
        click.echo(f"removed {email} ({where})")


@subscribers.command("import")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option(
    "--file", "file_", metavar="NAME", help="List file to add them to (default subscribers.yaml)."
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid records even if some are invalid (each problem is listed).",
)
@click.pass_obj
@handle_errors
def subscribers_import(ctx: Ctx, source: str, file_: str | None, skip_invalid: bool) -> None:
    """Add the new subscribers of a CSV or YAML file; skip those listed or who left."""
    from . import subscribers as files

    store = pipeline.open_store(ctx.settings)
    added, problems = files.import_file(
        Path(source),
        ctx.settings.subscribers_dir,
        set(ctx.settings.topics),
        store.statuses(),
        file_,
        skip_invalid,
    )
    for problem in problems:
        say(str(problem))
    click.echo(f"imported {len(added)} subscribers, {len(problems)} skipped")


@subscribers.command("unsubscribe")
@click.argument("email", required=False)
@click.option("--token", help="The token of an unsubscribe link instead of an address.")
@click.option(
    "--status",
    "status_",
    default="unsubscribed",
    show_default=True,
    type=click.Choice(["unsubscribed", "bounced", "complained"]),
    help="Why they leave.",
)
@click.option("--reason", help="A note kept with the status.")
@click.pass_obj
@handle_errors
def subscribers_unsubscribe(
    ctx: Ctx, email: str | None, token: str | None, status_: str, reason: str | None
) -> None:
    """Stop all mail to EMAIL (recorded in the store; wins over the list files)."""
    from . import subscribers as files
    from .delivery.unsubscribe import verify_token

    if bool(email) == bool(token):
        raise ConfigError("give an EMAIL or --token, not both")
    if token:
        address, reason = verify_token(ctx.settings, token), reason or "unsubscribe link"
    else:
        try:
            address = files.normalize_email(email or "")
        except ValueError as exc:
            raise ConfigError(f"{email!r}: {exc}") from None
    pipeline.open_store(ctx.settings).set_status(address, status_, reason)
    folder = ctx.settings.subscribers_dir
    try:
        listed = any(files.same_address(e.email, address) for e in files.entries(folder))
    except ConfigError:
        listed = True  # an unreadable list: no claim either way
    note = (
        ""
        if listed
        else (
            f" (not in any list under {folder}/; recorded, so it still "
            "applies if the address is added later)"
        )
    )
    click.echo(f"{address}: {status_}{note}")


@subscribers.command("resubscribe")
@click.argument("email")
@click.pass_obj
@handle_errors
def subscribers_resubscribe(ctx: Ctx, email: str) -> None:
    """Clear an earlier unsubscribe, bounce or complaint (only with their consent)."""
    from . import subscribers as files

    try:
        address = files.normalize_email(email)
    except ValueError as exc:
        raise ConfigError(f"{email!r}: {exc}") from None
    pipeline.open_store(ctx.settings).set_status(address, "active", "resubscribed")
    click.echo(f"{address}: active")


@subscribers.command("verify-token")
@click.argument("token")
@click.pass_obj
@handle_errors
def subscribers_verify_token(ctx: Ctx, token: str) -> None:
    """Print the address an unsubscribe-link token was signed for (fails if forged)."""
    from .delivery.unsubscribe import verify_token

    click.echo(verify_token(ctx.settings, token))


@subscribers.command("serve-unsubscribe")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8026, show_default=True, help="0 = any free port.")
@click.pass_obj
@handle_errors
def subscribers_serve_unsubscribe(ctx: Ctx, host: str, port: int) -> None:
    """Serve the unsubscribe link's endpoint (put it behind your HTTPS proxy)."""
    from wsgiref.simple_server import make_server

    from .delivery.unsubscribe import make_app

    app = make_app(ctx.settings, pipeline.open_store(ctx.settings))
    with make_server(host, port, app) as server:
        click.echo(f"unsubscribe endpoint on http://{host}:{server.server_port}/?token=...")
        server.serve_forever()


def main() -> None:
    cli(prog_name="newsletter")


if __name__ == "__main__":
    main()
