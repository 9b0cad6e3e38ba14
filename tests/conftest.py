"""Shared fixtures: a clean working directory and environment for every test."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests import their shared helpers as ``support.*`` (tests/support/), whatever folder they
# are in; with --import-mode=importlib nothing else puts tests/ on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No NEWSLETTER_* setting from the machine leaks into a test."""
    for name in list(os.environ):
        if name.startswith("NEWSLETTER_") or name in ("GITHUB_TOKEN", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty current directory, as a new user would have."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture(scope="session")
def sample_outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample day's outbox (``send --replay sample``), sent once for the whole run."""
    from support.sent import send_sample_day

    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("NEWSLETTER_")}
    try:
        return send_sample_day(tmp_path_factory.mktemp("sample-day"))
    finally:
        os.environ.update(saved)
