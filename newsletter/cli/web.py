"""The list service's commands: serve, feedback, publish."""

from __future__ import annotations

import click

from .base import Ctx, date_option, handle_errors, http_options, open_http, say


@click.command()
@click.option("--host", help="Address to listen on (default: web.host).")
@click.option("--port", type=int, help="Port (default: web.port; 0 = any free port).")
@click.pass_obj
@handle_errors
def serve(ctx: Ctx, host: str | None, port: int | None) -> None:
    """Serve sign-up, confirm, preferences and unsubscribe pages (behind your HTTPS proxy)."""
    from ..web.run import serve as run

    run(ctx.settings, host=host, port=port, announce=click.echo)


@click.command()
@click.option("--loop", is_flag=True, help="Keep polling until stopped (SIGTERM or Ctrl-C).")
@click.pass_obj
@handle_errors
def feedback(ctx: Ctx, loop: bool) -> None:
    """Apply SES bounces, complaints and deliveries from the SQS queue to the store."""
    import signal
    import threading

    from ..feedback.queue import drain, make_sqs_client

    stop = threading.Event()
    if loop:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        report = drain(
            ctx.settings, ctx.store(), make_sqs_client(ctx.settings), loop=loop, stop=stop
        )
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    for problem in report.rejected:
        say(problem)
    click.echo(report.line())
    if report.exit_code:
        raise SystemExit(report.exit_code)


@click.command()
@date_option
@click.option("--to", "target", metavar="s3://BUCKET/PREFIX", help="Also upload the archive.")
@click.option("--s3-endpoint-url", default="", help="Another S3 endpoint (S3-compatible storage).")
@http_options
@click.pass_obj
@handle_errors
def publish(
    ctx: Ctx,
    date_: str | None,
    target: str | None,
    s3_endpoint_url: str,
    record: str | None,
    replay: str | None,
) -> None:
    """Write the edition's archive pages, the index and the Atom feed (and upload them)."""
    from ..archive.publish import publish_edition

    day = ctx.edition_date(date_)
    with open_http(ctx, record, replay) as http:
        report = publish_edition(
            ctx.settings,
            day,
            http=http,
            target=target,
            s3_endpoint_url=s3_endpoint_url,
            progress=say,
        )
    for line in report:
        click.echo(line)
