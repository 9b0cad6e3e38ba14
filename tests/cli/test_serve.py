"""`newsletter serve` as systemd runs it: a process that announces its port, answers, serves
the archive, and on SIGTERM finishes what is in flight and ends by that signal (uvicorn
re-raises it after a graceful shutdown, so a supervisor sees why it stopped);
`serve-unsubscribe` points to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from support.delivery_servers import DAY, make_site, subscriber_rows
from support.web_server import SECRET

from newsletter.cli import cli


def test_serve_runs_until_sigterm_and_serves_the_archive(workdir: Path) -> None:
    make_site(workdir, subscriber_rows(2, [""]))
    published = CliRunner().invoke(cli, ["publish", "--date", DAY])
    assert published.exit_code == 0, published.output
    env = {**os.environ, "NEWSLETTER_UNSUBSCRIBE_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "serve", "--port", "0"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("newsletter serve: http://127.0.0.1:"), first
        base = first.split()[2].rstrip("/")
        assert "archive: /archive/" in proc.stdout.readline()
        assert "<form" in httpx.get(f"{base}/", timeout=10).text
        index = httpx.get(f"{base}/archive/", timeout=10)
        assert index.status_code == 200 and f"{DAY}/ko.html" in index.text
        page = httpx.get(f"{base}/archive/{DAY}/ko.html", timeout=10)
        assert page.status_code == 200 and 'id="paper-1"' in page.text
        assert httpx.get(f"{base}/archive/../data/newsletter.db", timeout=10).status_code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert code == -signal.SIGTERM
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/", timeout=5)


def test_serve_without_the_signing_key_stops_with_one_line(workdir: Path) -> None:
    # Found by hand: it used to start, then answer every page with a 500 and a traceback.
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: newsletter serve needs $NEWSLETTER_UNSUBSCRIBE_SECRET")
    assert "Traceback" not in result.output and len(result.output.splitlines()) == 1


def test_serve_unsubscribe_says_it_was_replaced(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["subscribers", "serve-unsubscribe"])
    assert result.exit_code == 1
    assert "replaced by 'newsletter serve'" in result.output
