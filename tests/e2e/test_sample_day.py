"""End to end: ``newsletter send --replay sample`` delivers exactly the committed outbox.

The golden files are the messages as the transport got them (the outbox ``.eml``), so any
change a subscriber would see shows up here. After an intended change, review the diff and
regenerate with ``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/e2e``.
"""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner
from support import TESTS
from support.languages import foreign_hangul, sent_parts

from newsletter.cli import cli
from newsletter.models import Candidates

from .golden import outbox

DAY = "2026-06-12"
GOLDEN = TESTS / "e2e" / "sample-day"


def test_the_sample_day_outbox_is_the_golden(sample_outbox: Path) -> None:
    sent = outbox(sample_outbox)
    assert len(sent) == 4
    if os.environ.get("UPDATE_GOLDEN"):
        for old in GOLDEN.glob("*.eml"):
            old.unlink()
        for name, raw in sent.items():
            (GOLDEN / name).write_bytes(raw)
    golden = {p.name: p.read_bytes() for p in sorted(GOLDEN.glob("*.eml"))}
    assert sorted(sent) == sorted(golden)
    for name, raw in sent.items():
        assert raw == golden[name], f"{name} differs from tests/e2e/sample-day/{name}"


def test_the_english_subscriber_reads_no_korean(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["send", "--date", DAY, "--replay", "sample"])
    assert result.exit_code == 0, result.output
    folder = workdir / "data" / "editions" / DAY
    papers = Candidates.model_validate_json((folder / "candidates.json").read_bytes()).papers
    outbox = workdir / "data" / "outbox" / DAY
    english = (outbox / "alex.chen@example.com.eml").read_bytes()
    assert foreign_hangul(english, papers) == {"subject": [], "text": [], "html": []}
    # The measure can fail: a Korean subscriber's message is full of Hangul.
    korean = foreign_hangul((outbox / "sora.lee@example.com.eml").read_bytes(), papers)
    assert all(korean.values())
    for raw in (english, (outbox / "sora.lee@example.com.eml").read_bytes()):
        for part in sent_parts(raw).values():
            assert "**" not in part and "\\textbf" not in part and "$\\" not in part


def test_a_second_send_delivers_nothing_new(workdir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["send", "--date", DAY, "--replay", "sample"]).exit_code == 0
    again = runner.invoke(cli, ["send", "--date", DAY, "--replay", "sample"])
    assert again.exit_code == 0 and "Nothing new to send" in again.output
