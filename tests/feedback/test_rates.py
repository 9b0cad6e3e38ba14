"""`status`'s bounce and complaint rates beside SES's review and pause thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import load_settings
from newsletter.feedback.rates import rates_report
from newsletter.store import Event, Store

DAY = "2026-06-12"


def store_with(tmp_path: Path, sent: int, bounced: int, complained: int) -> Store:
    store = Store(tmp_path / "newsletter.db")
    emails = [f"r{i}@example.com" for i in range(sent)]
    store.plan(DAY, [(e, "v", "pending") for e in emails])
    for i, email in enumerate(emails):
        store.claim(DAY, email)
        store.mark(DAY, email, "sent", message_id=f"ses-{i}")
    for i in range(bounced):
        event = Event(f"b{i}", "bounce", emails[i], f"ses-{i}", "2026-06-12T01:00:00Z")
        store.apply_event(event, True, 3, 86400)
    for i in range(complained):
        j = sent - 1 - i
        event = Event(f"c{i}", "complaint", emails[j], f"ses-{j}", "2026-06-12T01:00:00Z")
        store.apply_event(event, True, 3, 86400)
    return store


@pytest.mark.parametrize(
    ("bounced", "complained", "expected"),
    [
        (0, 0, []),
        (3, 0, []),  # 1.5%: under the early warning
        (5, 0, ["bounce rate 2.50% over the last 1 editions is past the early warning (2.00%"]),
        (11, 0, ["bounce rate 5.50% over the last 1 editions is past SES's review threshold"]),
        (21, 0, ["bounce rate 10.50% over the last 1 editions is past SES's pause threshold"]),
        (0, 1, ["complaint rate 0.50% over the last 1 editions is past SES's pause threshold"]),
    ],
)
def test_warnings_by_threshold(
    tmp_path: Path, bounced: int, complained: int, expected: list[str]
) -> None:
    settings = load_settings(None, env={"NEWSLETTER_FEEDBACK__QUEUE_URL": "https://sqs.example/q"})
    report = rates_report(settings, store_with(tmp_path, 200, bounced, complained))
    assert report is not None and report["sent"] == 200
    assert len(report["warnings"]) == len(expected)
    for warning, start in zip(report["warnings"], expected, strict=True):
        assert warning.startswith(start), warning


def test_no_rates_where_nothing_reports_feedback(tmp_path: Path) -> None:
    assert rates_report(load_settings(None, env={}), store_with(tmp_path, 10, 0, 0)) is None
