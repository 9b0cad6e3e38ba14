"""The README documents every command, and every command has help."""

from __future__ import annotations

import click
from support import REPO

from newsletter.cli import cli

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
    return found


def test_every_command_has_help_and_is_in_the_readme() -> None:
    missing_help = [name for name, cmd in _commands(cli) if not (cmd.help or "").strip()]
    assert missing_help == []
    undocumented = []
    for name, _ in _commands(cli):
        parts = name.split()
        documented = f"newsletter {name}" in README or (
            len(parts) == 2 and f"newsletter {parts[0]}" in README and parts[1] in README
        )
        if not documented:
            undocumented.append(name)
    assert undocumented == []


def test_readme_keeps_the_two_commands() -> None:
    assert "newsletter send --date 2026-06-12 --replay sample" in README
    assert ".venv/bin/python -m pytest -q" in README
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/python -m pytest -q" in ci
