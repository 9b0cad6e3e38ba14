"""``newsletter subscribers``: the list files, their problems, and status changes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import subscribers as files
from ..errors import ConfigError
from .base import Ctx, F, handle_errors, read_lists, reader_left, say


@click.group()
def subscribers() -> None:
    """Subscriber lists (subscribers/*.yaml, *.csv) and their status."""


def topics_option(func: F) -> F:
    """--name, --topics, --exclude, --language for a new subscriber."""
    func = click.option(
        "--language",
        type=click.Choice(["ko", "en"]),
        help="Language of the whole email (default: the edition's).",
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
    help="Include those who left (unsubscribed, bounced, complained), paused or are pending.",
)
@click.pass_obj
@handle_errors
def subscribers_list(ctx: Ctx, show_all: bool) -> None:
    """List subscribers: email, name, topics (* = all), -excluded, language, source."""
    store = ctx.store()
    lines = files.listing(ctx.settings, store, show_all, read_lists(ctx.settings))
    try:
        for start in range(0, len(lines), 10_000):  # a million lines: in blocks, not one by one
            click.echo("\n".join(lines[start : start + 10_000]))
        sys.stdout.flush()
    except BrokenPipeError:
        reader_left()


@subscribers.command("check")
@click.pass_obj
@handle_errors
def subscribers_check(ctx: Ctx) -> None:
    """Report every invalid address, unknown topic and duplicate, with file and line."""
    # The same folder `send` uses (the bundled example list when there is none here).
    folder = files.subscribers_folder(ctx.settings)
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
    from ..models import Subscriber

    try:
        address = files.normalize_email(email)
    except ValueError as exc:
        raise ConfigError(f"{email!r}: {exc}") from None
    store = ctx.store()
    status = store.status_of(address)
    if status != "active" and not resubscribe:
        raise ConfigError(
            f"{address} is {status} in the store; add --resubscribe if they asked to come back"
        )
    sub = Subscriber(
        email=address,
        name=name,
        topics=tuple(split_topics(topics)),
        exclude=tuple(split_topics(exclude)),
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
    store = ctx.store()
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
    from ..web.unsubscribe import verify_token

    if bool(email) == bool(token):
        raise ConfigError("give an EMAIL or --token, not both")
    if token:
        address = verify_token(ctx.settings, token, ctx.store())
        reason = reason or "unsubscribe link"
    else:
        try:
            address = files.normalize_email(email or "")
        except ValueError as exc:
            raise ConfigError(f"{email!r}: {exc}") from None
    ctx.store().set_status(address, status_, reason)
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
    try:
        address = files.normalize_email(email)
    except ValueError as exc:
        raise ConfigError(f"{email!r}: {exc}") from None
    ctx.store().set_status(address, "active", "resubscribed")
    click.echo(f"{address}: active")


@subscribers.command("verify-token")
@click.argument("token")
@click.pass_obj
@handle_errors
def subscribers_verify_token(ctx: Ctx, token: str) -> None:
    """Print the address an unsubscribe-link token was signed for (fails if forged)."""
    from ..web.unsubscribe import verify_token

    click.echo(verify_token(ctx.settings, token, ctx.store()))


@subscribers.command("serve-unsubscribe", hidden=True)
@click.pass_obj
@handle_errors
def subscribers_serve_unsubscribe(ctx: Ctx) -> None:
    """Replaced by 'newsletter serve' (kept so old scripts say so)."""
    raise ConfigError(
        "'subscribers serve-unsubscribe' was replaced by 'newsletter serve' (sign-up, "
        "preferences and the unsubscribe link; see the README)"
    )
