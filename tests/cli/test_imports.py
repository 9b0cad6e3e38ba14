"""Commands that need no model, no AWS and no PDF do not pay for importing them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("openai", "boto3", "botocore", "pypdfium2", "mjml", "css_inline", "feedparser")

PROBE = """
import json, sys
from newsletter.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="newsletter", standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)), file=sys.stderr)
"""


def imported(workdir: Path, *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args", [("--help",), ("status", "--date", "2026-06-12"), ("subscribers", "list")]
)
def test_light_commands_import_no_llm_aws_or_pdf_library(
    workdir: Path, args: tuple[str, ...]
) -> None:
    modules = imported(workdir, *args)
    assert "newsletter" in modules and "click" in modules
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_the_probe_sees_heavy_imports_when_a_command_needs_them(workdir: Path) -> None:
    # The same probe on a command that renders and sends: the check above can fail.
    modules = imported(workdir, "send", "--date", "2026-06-12", "--replay", "sample")
    assert {"mjml", "css_inline", "feedparser"} <= modules
