"""Real processes for the concurrency tests: another holder of a date's lock, and
``newsletter`` commands whose output a test reads line by line as it comes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_HOLDER = """
import sys
from pathlib import Path
from newsletter.locks import date_lock
with date_lock(Path(sys.argv[1]), sys.argv[2], command=sys.argv[3]):
    print("held", flush=True)
    sys.stdin.readline()
"""


@contextmanager
def lock_held(folder: Path, edition_date: str, command: str = "send") -> Iterator[int]:
    """Another process holds the date's lock until the block ends; yields its pid."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(folder), edition_date, command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc.pid
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # readline() returns: the holder lets go and exits
        proc.wait(timeout=60)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the machine's NEWSLETTER_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(extra)
    return env


def start(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """``newsletter ARGS`` in the background; stderr merged into stdout, read as it comes."""
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(proc: subprocess.Popen[str], needle: str) -> list[str]:
    """The lines ``proc`` printed up to the first one containing ``needle`` (fails at EOF)."""
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} never printed; got:\n{''.join(lines)}")


def finish(proc: subprocess.Popen[str], seen: list[str] | None = None) -> tuple[int, str]:
    """Wait for ``proc``; its exit code and everything it printed (after ``seen``)."""
    out, _ = proc.communicate(timeout=300)
    return proc.returncode, "".join(seen or []) + out
