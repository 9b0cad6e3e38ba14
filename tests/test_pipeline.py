"""What a run means, decided in the library: the stage list, empty days, exit codes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from newsletter import pipeline
from newsletter.analysis import make_analyzer, make_recommender
from newsletter.config import Settings, load_settings
from newsletter.delivery.summary import Summary
from newsletter.errors import StageError
from newsletter.http import make_http
from newsletter.recording import resolve_recording
from newsletter.store import Store

DAY = "2026-06-12"


def make_run(settings: Settings, **kw: object) -> pipeline.Run:
    http = make_http(replay=resolve_recording("sample"), cache_dir=settings.layout.cache)
    store = Store(settings.layout.store)
    return pipeline.Run(
        settings,
        DAY,
        store,
        http,
        make_analyzer(settings, http),
        make_recommender(settings),
        progress=lambda _: None,
        **kw,  # type: ignore[arg-type]
    )


def test_the_stages_before_delivery_in_order() -> None:
    assert [s.name for s in pipeline.STAGES] == ["collect", "select", "analyze", "build"]


def test_prepare_runs_every_stage_and_returns_the_built_edition(workdir: Path) -> None:
    settings = load_settings(data_dir=workdir / "data")
    done = pipeline.prepare(make_run(settings))
    edition = done.edition
    assert edition is not None and edition.date == DAY and len(edition.cards) == 10
    assert done.exit_code == 0 and done.line() == ""
    paths = settings.layout.edition(DAY)
    assert paths.candidates.is_file() and paths.selection.is_file() and paths.edition.is_file()


def test_an_empty_day_stops_after_collect_unless_allowed(workdir: Path) -> None:
    off = {f"NEWSLETTER_SOURCES__{n}__ENABLED": "false" for n in ("HUGGINGFACE", "ARXIV")}
    settings = load_settings(env=off, data_dir=workdir / "data")
    done = pipeline.prepare(make_run(settings))
    assert done.edition is None and done.exit_code == 0
    assert done.line().startswith(f"No papers for {DAY}: the lists of {DAY} closed empty")
    paths = settings.layout.edition(DAY)
    assert paths.candidates.is_file() and not paths.selection.exists()
    edition = pipeline.prepare(make_run(settings, allow_empty=True)).edition
    assert edition is not None and edition.cards == [] and paths.edition.is_file()


def test_a_day_whose_lists_are_still_open_is_not_ready_exit_75(workdir: Path) -> None:
    settings = load_settings(data_dir=workdir / "data")
    # 20:00 UTC on the day itself: Hugging Face's list of 2026-06-12 is still filling.
    run = make_run(settings, clock=lambda: datetime(2026, 6, 12, 20, tzinfo=UTC))
    done = pipeline.prepare(run)
    assert done.edition is None and done.exit_code == pipeline.EX_TEMPFAIL == 75
    assert done.line().startswith("Not ready: huggingface's list of 2026-06-12 is still open")
    assert "Retry after 2026-06-13 09:00 Asia/Seoul (00:00 UTC)" in done.line()
    assert not settings.layout.edition(DAY).candidates.exists()
    run.clock = lambda: datetime(2026, 6, 13, 0, 1, tzinfo=UTC)
    later = pipeline.prepare(run)
    assert later.edition is not None and later.exit_code == 0


def test_collect_report_exit_codes_and_lines(tmp_path: Path) -> None:
    from newsletter.models import Candidates, Paper
    from newsletter.sources import NotReady

    day = date(2026, 6, 12)
    path = tmp_path / "candidates.json"
    opened = datetime(2026, 6, 13, tzinfo=UTC)
    waiting = pipeline.CollectReport(DAY, day, NotReady("arxiv-rss", day, opened), path)
    assert (waiting.exit_code, waiting.empty) == (75, False)
    assert "Retry after 2026-06-13 00:00 UTC (exit 75)" in waiting.line()
    empty = Candidates(date=DAY, collected_at=opened, papers=[])
    report = pipeline.CollectReport(DAY, day, empty, path)
    assert (report.exit_code, report.empty) == (0, True)
    assert report.line().startswith(f"No papers for {DAY}: the lists of {DAY} closed empty")
    full = empty.model_copy(update={"papers": [Paper(id="2606.00001", title="t")]})
    assert pipeline.CollectReport(DAY, day, full, path).line() == f"1 candidates of {DAY} -> {path}"


def test_force_is_refused_once_the_edition_went_out(workdir: Path) -> None:
    settings = load_settings(data_dir=workdir / "data")
    run = make_run(settings)
    pipeline.prepare(run)
    run.store.plan(DAY, [("a@example.com", "k", "pending")])
    run.store.claim(DAY, "a@example.com")
    run.store.mark(DAY, "a@example.com", "sent")
    run.force = True
    with pytest.raises(StageError, match="already sent to 1 subscribers"):
        pipeline.prepare(run)


@pytest.mark.parametrize(
    ("summary", "bad", "code"),
    [
        (Summary(sent=5), 0, 0),
        (Summary(already=5), 0, 0),
        (Summary(sent=5, pending=3), 0, 0),  # --limit: the rest waits for the next run
        (Summary(sent=4, failed_now=1, failed=1), 0, 1),
        (Summary(sent=5), 2, 1),
        (Summary(sent=2, failed_now=3, failed=3), 1, 1),
        # A rerun that leaves rows unknown or failed by an earlier run still says so.
        (Summary(already=296, unknown=4), 0, 1),
        (Summary(already=299, failed=1), 0, 1),
    ],
)
def test_exit_code_says_whether_someone_missed_the_edition(
    summary: Summary, bad: int, code: int
) -> None:
    report = pipeline.SendReport(DAY, summary, bad_records=bad)
    assert report.exit_code == code
    # Every non-zero exit comes with a line on what to do.
    assert bool(report.notes()) == bool(code)


def test_report_lines_say_what_happened_and_where(tmp_path: Path) -> None:
    done = pipeline.SendReport(DAY, Summary(already=4), outbox=tmp_path / "outbox")
    lines = done.lines(tmp_path / "variants")
    assert lines[0] == f"Nothing new to send for {DAY}: 4 already delivered."
    assert f"emails: {tmp_path / 'outbox'}" in lines


def test_notes_say_what_to_do_about_unknown_and_failed_rows() -> None:
    notes = pipeline.SendReport(DAY, Summary(sent=1, unknown=2, failed=3)).notes()
    assert len(notes) == 2
    assert "2 deliveries have an unknown outcome" in notes[0]
    assert f"'newsletter send --date {DAY} --retry-unknown'" in notes[0]
    assert "3 deliveries failed" in notes[1]
    assert f"'newsletter send --date {DAY} --retry-failed'" in notes[1]
