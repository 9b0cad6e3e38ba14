"""The ``newsletter`` command: a click group over the library, with one error edge.

Each command parses its options, calls the library and prints what it returns; library
errors become one line and exit 1 in ``base.handle_errors``.
"""

from __future__ import annotations

import click

from .. import __version__
from ..logs import setup as setup_logging
from .base import Ctx
from .send import send
from .stages import COMMANDS
from .subscribers import subscribers
from .web import feedback, publish, serve


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
    setup_logging(verbose)
    click_ctx.obj = Ctx(config, data_dir, verbose)


for command in (*COMMANDS, send, subscribers, serve, feedback, publish):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="newsletter")
