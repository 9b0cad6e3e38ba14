"""Running ``newsletter`` in the test's own process, as a scheduler would see it."""

from __future__ import annotations

from click.testing import CliRunner, Result

from newsletter.cli import cli


def run(*args: str, code: int = 0) -> Result:
    """``newsletter ARGS``; the test fails unless it exits ``code`` without a traceback."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result
