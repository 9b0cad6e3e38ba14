"""Bad input from outside, through the real CLI: each gets one line naming what and where, a
non-zero exit, and no traceback; the day goes on where it can. Services are real local servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter.cli import cli

DAY = "2026-06-12"


def run(*args: str, code: int = 0, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == code, (result.output, result.exception)
    if code:
        # One clear line, not a traceback escaping click.
        assert isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output
    return result


# -- configuration -----------------------------------------------------------------------------


def test_unknown_time_zone_is_a_config_error_not_a_traceback(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text('[edition]\ntitle = "x"\ntimezone = "Mars/Olympus"\n')
    result = run("status", code=1)
    assert "newsletter.toml:3: 'edition.timezone'" in result.output
    assert "unknown time zone 'Mars/Olympus'" in result.output


def test_config_file_that_is_not_utf8_names_file_and_line(workdir: Path) -> None:
    (workdir / "latin1.toml").write_bytes("[edition]\ntitle = 'caf\xe9'\n".encode("latin-1"))
    result = run("--config", "latin1.toml", "status", "--date", DAY, code=1)
    assert "latin1.toml:2: not UTF-8 text (byte 0xe9)" in result.output


def test_bad_environment_override_names_the_variable(workdir: Path) -> None:
    result = run("status", "--date", DAY, code=1, env={"NEWSLETTER_EDITION__RANKED": "abc"})
    assert "environment NEWSLETTER_EDITION__RANKED: 'edition.ranked'" in result.output
    result = run("status", "--date", DAY, code=1, env={"NEWSLETTER_DELIVERY__SES__REGOIN": "x"})
    assert "environment NEWSLETTER_DELIVERY__SES__REGOIN: unknown key 'delivery.ses.regoin'" \
        in result.output


def test_typo_in_a_feed_item_is_named_before_the_missing_key(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text(
        '[[sources.feeds]]\nname = "a"\nurl = "http://127.0.0.1:1/a"\n\n'
        '[[sources.feeds]]\nname = "b"\nurll = "http://127.0.0.1:1/b"\n')
    result = run("status", "--date", DAY, code=1)
    assert "newsletter.toml:7: unknown key 'sources.feeds.1.urll'" in result.output


def test_feed_item_without_url_points_at_its_header(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text(
        '[edition]\nranked = 3\n\n[[sources.feeds]]\nname = "a"\nurl = "http://127.0.0.1:1/a"\n'
        '\n[[sources.feeds]]\nname = "b"\n')
    result = run("status", "--date", DAY, code=1)
    assert "newsletter.toml:8: 'sources.feeds.1.url': Field required" in result.output
