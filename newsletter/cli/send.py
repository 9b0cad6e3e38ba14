"""``newsletter send``: run whatever stage is missing, then deliver (or rehearse)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigError
from .base import (
    Ctx,
    date_lock,
    date_option,
    handle_errors,
    http_options,
    open_http,
    read_lists,
    say,
)

if TYPE_CHECKING:
    from ..pipeline import Run
    from ..subscribers import SubscriberLists


@click.command()
@date_option
@click.option(
    "--force",
    is_flag=True,
    help="Redo every stage before delivering (refused once some subscribers were sent it).",
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
    from ..stages.deliver import delivery_plan

    if variant and not to:
        raise ConfigError("--variant only goes with --to ADDRESS")
    # The lists are read once for every stage of the command. Bad records are skipped (the
    # others still get the edition) and make the run exit 1.
    lists = None if to else read_lists(ctx.settings)
    bad = len(lists.problems) if lists else 0
    day = ctx.edition_date(date_)
    # One lock from the first stage to the last message: a second send of the date waits.
    with date_lock(ctx, day, "send"):
        run = prepared(ctx, day, force, allow_empty, record, replay, lists)
        if dry_run:
            show_plan(delivery_plan(run.settings, run.edition_date, run.store, lists))
            return
        deliver(run, to, variant, progress, bad, limit, retry_unknown, retry_failed)


def prepared(
    ctx: Ctx,
    day: str,
    force: bool,
    allow_empty: bool,
    record: str | None,
    replay: str | None,
    lists: SubscriberLists | None = None,
) -> Run:
    """The run, with every stage before delivery done; on an empty day, or one whose lists are
    still open, says so and exits (0, or 75 so that a scheduler retries)."""
    from .. import pipeline
    from ..analysis import make_analyzer, make_recommender

    s = ctx.settings
    with open_http(ctx, record, replay) as http:
        recommender = make_recommender(s)
        analyzer = make_analyzer(s, http, progress=say)
        allow = allow_empty or s.edition.allow_empty
        run = pipeline.Run(
            s, day, ctx.store(), http, analyzer, recommender, force, allow, say, lists=lists
        )
        done = pipeline.prepare(run)
    if done.edition is None:
        click.echo(done.line())
        sys.exit(done.exit_code)
    for usage in (recommender.usage_line(), analyzer.usage_line()):
        if usage:
            say(usage)
    return run


def deliver(
    run: Run,
    to: str | None,
    variant: str | None,
    progress: bool | None,
    bad: int,
    limit: int | None,
    retry_unknown: bool,
    retry_failed: bool,
) -> None:
    """One test message (``--to``), or the edition to every subscriber; exits with the
    report's code."""
    from .. import pipeline
    from ..delivery.summary import DeliveryStopped
    from ..delivery.transports import make_transport
    from ..stages.deliver import send_test

    s, day = run.settings, run.edition_date
    transport = make_transport(s, day)
    try:
        if to:
            key, mid = send_test(s, day, transport=transport, to=to, variant=variant)
            click.echo(f"test message of {key} sent to {to} ({mid}); not recorded")
            return
        with progress_bar(progress) as (on_start, on_progress), stop_on_sigterm():
            report = pipeline.deliver_edition(
                run,
                transport,
                bad_records=bad,
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
    report_errors(report.summary.errors)
    for line in report.lines(s.layout.edition(day).variants):
        click.echo(line)
    for line in report.notes():
        say(line)
    sys.exit(report.exit_code)


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


def show_plan(rows: Iterable[tuple[str, str | None, int, str]]) -> None:
    """Print the dry-run table: address, variant, papers, ledger state."""
    counts: dict[str, int] = {}
    lines: list[str] = []
    for email, key, papers, state in rows:
        what = (
            f"{key} ({papers} papers)"
            if key and not key.startswith("note-")
            else (
                f"{key} (no matching paper: short note)" if key else "skipped (no matching paper)"
            )
        )
        note = "" if state in ("new", "pending") else f"  [{state}]"
        lines.append(f"{email}\t{what}{note}\n")
        if len(lines) >= 10_000:  # a million lines: written in blocks, not one by one
            click.echo("".join(lines), nl=False)
            lines = []
        bucket = "skip" if not key else "done" if state in ("sent", "failed", "sending") else "send"
        counts[bucket] = counts.get(bucket, 0) + 1
    click.echo("".join(lines), nl=False)
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
            bar[0].update(summary.done - bar[0].n)
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
