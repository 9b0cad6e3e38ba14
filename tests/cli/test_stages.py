"""Every command through CliRunner on the bundled recorded day, and the stage file contracts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from threading import Thread

import pytest
from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer
from support import FIXTURES as FIXTURES_DIR

from newsletter.cli import cli
from newsletter.models import Candidates, Edition, PaperAnalysis, Selection

DAY = "2026-06-12"
FIXTURES = FIXTURES_DIR


def run(*args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def edition_dir(root: Path) -> Path:
    return root / "data" / "editions" / DAY


def read_eml(path: Path) -> EmailMessage:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_help_lists_every_command() -> None:
    out = run("--help").output
    for command in (
        "collect",
        "select",
        "analyze",
        "build",
        "preview",
        "send",
        "status",
        "subscribers",
    ):
        assert f"  {command}" in out
    for command in ("collect", "select", "analyze", "build", "preview", "send", "status"):
        sub = run(command, "--help").output
        assert "--date" in sub


def test_module_entry_point_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "newsletter", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.startswith("newsletter, version ")


def test_send_sample_day_end_to_end(workdir: Path) -> None:
    result = run("send", "--date", DAY, "--replay", "sample")
    outbox = workdir / "data" / "outbox" / DAY
    assert f"emails: {Path('data') / 'outbox' / DAY}" in result.output
    assert "preview:" in result.output
    files = sorted(outbox.glob("*.eml"))
    # One message per subscriber of the bundled example list.
    assert [f.name for f in files] == [
        "alex.chen@example.com.eml",
        "jun.park@example.com.eml",
        "minji.kim@example.com.eml",
        "sora.lee@example.com.eml",
    ]
    edition = Edition.model_validate_json((edition_dir(workdir) / "edition.json").read_bytes())
    selected = [c.paper.id for c in edition.cards]
    assert len(selected) == 10
    by_reader = {email: v for v in edition.variants for email in v.subscribers}
    for path in files:
        msg = read_eml(path)
        assert msg.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in msg.iter_parts()]
        assert parts == ["text/plain", "text/html"]
        assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
        html_part = msg.get_body(("html",))
        assert html_part is not None
        html = html_part.get_content()
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        email = path.name.removesuffix(".eml")
        assert msg["To"].addresses[0].addr_spec == email
        assert msg["Subject"] == f"[{DAY}] AI 논문 핵심 요약"
        assert msg["Message-ID"].startswith(f"<{DAY}.")
        assert msg["List-Unsubscribe"] and msg["Date"]
        wanted = by_reader[email].paper_ids
        for pid in selected:
            link = f'href="https://arxiv.org/abs/{pid}"'
            assert (link in html) == (pid in wanted), (email, pid)
            assert (f"https://arxiv.org/abs/{pid}" in text) == (pid in wanted)
    # The reader with no topics gets every selected paper.
    assert by_reader["sora.lee@example.com"].paper_ids == selected

    again = run("send", "--date", DAY, "--replay", "sample")
    assert "Nothing new to send" in again.output
    assert sorted(outbox.glob("*")) == files


def test_stages_one_by_one_and_their_files(workdir: Path) -> None:
    out = run("collect", "--date", DAY, "--replay", "sample").output
    assert "30 candidates" in out
    cands = Candidates.model_validate_json((edition_dir(workdir) / "candidates.json").read_bytes())
    papers = {p.id: p for p in cands.papers}
    assert len(papers) == 30
    first = papers["2606.13392"]  # arXiv metadata merged into the Daily Papers data
    assert first.categories == ["cs.AI"] and first.comment == "30 pages, 14 figures"
    assert first.upvotes is not None and first.version == "v1"
    assert papers["2606.12488"].categories == []  # unknown to the API: Daily Papers data kept

    out = run("select", "--date", DAY).output
    sel = Selection.model_validate_json((edition_dir(workdir) / "selection.json").read_bytes())
    assert [s.kind for s in sel.papers] == ["ranked"] * 5 + ["recommended"] * 5
    votes = [papers[s.id].upvotes or 0 for s in sel.papers[:5]]
    assert votes == sorted(votes, reverse=True)
    rest = [p.upvotes or 0 for pid, p in papers.items() if pid not in {s.id for s in sel.papers}]
    assert min(votes) >= max(rest)
    assert sel.method == "heuristic" and "📊" in out and "🤖" in out

    run("analyze", "--date", DAY)
    analyses = sorted((edition_dir(workdir) / "analyses").glob("*.json"))
    assert len(analyses) == 10
    one = PaperAnalysis.model_validate_json(analyses[0].read_bytes())
    assert one.abstract_only and one.fulltext.source == "abstract"
    assert one.analysis.core_idea == papers[one.id].abstract

    out = run("build", "--date", DAY).stdout
    assert out.count("KB html") == 4
    variants = sorted(p.name for p in (edition_dir(workdir) / "variants").iterdir())
    assert len(variants) == 12  # html, txt and json for each of 4 variants

    status = run("status", "--date", DAY, "--json").output
    report = json.loads(status)
    assert report["collect"]["papers"] == 30
    assert report["analyze"] == {"papers": 10, "html": 0, "pdf": 0, "abstract": 10, "warnings": {}}
    assert report["deliver"]["sent"] == 0

    out = run("send", "--date", DAY, "--dry-run").output
    assert "dry run: nothing sent" in out and "sora.lee@example.com" in out
    assert not (workdir / "data" / "outbox").exists()
    run("send", "--date", DAY)
    text = run("status", "--date", DAY).output
    assert "sent 4" in text and "not run" not in text


def test_stage_reuses_output_and_force_redoes_it(workdir: Path) -> None:
    run("collect", "--date", DAY, "--replay", "sample")
    path = edition_dir(workdir) / "candidates.json"
    mtime = path.stat().st_mtime_ns
    run("collect", "--date", DAY)  # no replay needed: nothing is fetched again
    assert path.stat().st_mtime_ns == mtime
    run("collect", "--date", DAY, "--replay", "sample", "--force")
    assert path.stat().st_mtime_ns != mtime


def test_stale_selection_is_redone_after_new_candidates(workdir: Path) -> None:
    run("collect", "--date", DAY, "--replay", "sample")
    run("select", "--date", DAY)
    sel = edition_dir(workdir) / "selection.json"
    before = json.loads(sel.read_text())
    cands_path = edition_dir(workdir) / "candidates.json"
    cands = json.loads(cands_path.read_text())
    cands["papers"] = [p for p in cands["papers"] if p["id"] != before["papers"][0]["id"]]
    cands_path.write_text(json.dumps(cands))
    os.utime(cands_path, (sel.stat().st_mtime + 5, sel.stat().st_mtime + 5))
    run("select", "--date", DAY)
    after = json.loads(sel.read_text())
    assert before["papers"][0]["id"] not in [p["id"] for p in after["papers"]]


def test_missing_and_corrupt_stage_files_are_clear_errors(workdir: Path) -> None:
    result = run("select", "--date", DAY, ok=False)
    assert result.exit_code == 1
    assert "candidates.json is missing: run 'newsletter collect' first" in result.output
    run("collect", "--date", DAY, "--replay", "sample")
    path = edition_dir(workdir) / "candidates.json"
    data = json.loads(path.read_text())
    del data["papers"][3]["title"]
    path.write_text(json.dumps(data))
    result = run("select", "--date", DAY, "--force", ok=False)
    assert result.exit_code == 1
    assert "candidates.json: 'papers.3.title': Field required" in result.output
    assert "Traceback" not in result.output


def test_config_typo_fails_with_one_line(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text("[edition]\nranked = 3\nrecomended = 2\n")
    result = run("send", "--date", DAY, "--replay", "sample", ok=False)
    assert result.exit_code == 1
    assert result.output == "Error: newsletter.toml:3: unknown key 'edition.recomended'\n"
    assert not (workdir / "data").exists()


def test_bad_date_and_bad_replay_folder(workdir: Path) -> None:
    result = run("collect", "--date", "2026-13-01", ok=False)
    assert "--date 2026-13-01: not a day of the calendar" in result.output
    result = run("collect", "--date", DAY, "--replay", "nowhere", ok=False)
    assert "not a recording (no index.json)" in result.output


def test_default_date_is_yesterday_in_edition_timezone(workdir: Path) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    # The edition carrying yesterday's lists (edition.source_day = "same").
    before = datetime.now(ZoneInfo("Asia/Seoul")).date() - timedelta(days=1)
    out = run("status", "--json").output
    after = datetime.now(ZoneInfo("Asia/Seoul")).date() - timedelta(days=1)
    assert json.loads(out)["date"] in {before.isoformat(), after.isoformat()}


def test_data_dir_option(workdir: Path) -> None:
    run("--data-dir", "elsewhere", "collect", "--date", DAY, "--replay", "sample")
    assert (workdir / "elsewhere" / "editions" / DAY / "candidates.json").is_file()
    assert not (workdir / "data").exists()


def test_record_then_replay_gives_the_same_candidates(
    workdir: Path, httpserver: HTTPServer
) -> None:
    hf = (FIXTURES / "hf" / "2026-08-03-reindented.json").read_bytes()
    ids = sorted(item["paper"]["id"] for item in json.loads(hf))
    atom = (FIXTURES / "arxiv" / "query-transformer-cs.LG.xml").read_bytes()
    httpserver.expect_request("/api/daily_papers").respond_with_data(
        hf, content_type="application/json"
    )
    httpserver.expect_request("/api/query").respond_with_data(
        atom, content_type="application/atom+xml"
    )
    (workdir / "newsletter.toml").write_text(
        f'[sources.huggingface]\nurl = "{httpserver.url_for("/api/daily_papers")}"\n'
        f'[sources.arxiv]\napi_url = "{httpserver.url_for("/api/query")}"\n'
        "request_interval_s = 0\n"
    )
    run("collect", "--date", "2026-08-03", "--record", "rec")
    assert len(httpserver.log) == 2
    first = json.loads((workdir / "data/editions/2026-08-03/candidates.json").read_text())
    assert sorted(p["id"] for p in first["papers"]) == ids
    index = json.loads((workdir / "rec" / "index.json").read_text())
    assert len(index) == 2
    httpserver.clear()  # the server now answers nothing: replay must not touch it
    run("collect", "--date", "2026-08-03", "--replay", "rec", "--force")
    second = json.loads((workdir / "data/editions/2026-08-03/candidates.json").read_text())
    assert first["papers"] == second["papers"]
    assert httpserver.log == []


def test_preview_serves_the_variants(workdir: Path) -> None:
    run("send", "--date", DAY, "--replay", "sample", "--dry-run")
    from newsletter.config import load_settings
    from newsletter.preview import make_server

    server = make_server(load_settings(), DAY, port=0)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(base + "/") as resp:
            page = resp.read().decode()
        assert page.count("<iframe") == 8  # 4 variants at 600 and 375 px
        key = json.loads((edition_dir(workdir) / "edition.json").read_text())["variants"][0]["key"]
        with urllib.request.urlopen(f"{base}/variant/{key}.html") as resp:
            assert resp.read().lower().startswith(b"<!doctype html>")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("command", ["collect", "select", "analyze", "build", "send"])
def test_every_stage_command_accepts_force(workdir: Path, command: str) -> None:
    args = [command, "--date", DAY, "--force"]
    if command in ("collect", "analyze", "send"):
        args += ["--replay", "sample"]
    run("send", "--date", DAY, "--replay", "sample", "--dry-run")
    output = {
        "collect": "candidates.json",
        "select": "selection.json",
        "analyze": "analyses",
        "build": "edition.json",
        "send": "edition.json",
    }[command]
    path = edition_dir(workdir) / output
    if path.is_dir():
        path = sorted(path.iterdir())[0]
    before = path.stat().st_mtime_ns
    run(*args)
    assert path.stat().st_mtime_ns != before  # redone, not reused


def _next_day_from_sample(workdir: Path) -> None:
    """2026-06-13 gets the same candidates as the sample day (papers stay listed for days)."""
    nxt = workdir / "data" / "editions" / "2026-06-13"
    nxt.mkdir(parents=True)
    data = json.loads((edition_dir(workdir) / "candidates.json").read_text())
    data["date"] = "2026-06-13"
    (nxt / "candidates.json").write_text(json.dumps(data))


def test_papers_sent_yesterday_are_not_selected_again(workdir: Path) -> None:
    run("send", "--date", DAY, "--replay", "sample")
    sent = {
        c["paper"]["id"]
        for c in json.loads((edition_dir(workdir) / "edition.json").read_text())["cards"]
    }
    _next_day_from_sample(workdir)
    out = run("select", "--date", "2026-06-13").output
    assert "10 papers left out, already sent in the last 7 days" in out
    picked = json.loads((workdir / "data/editions/2026-06-13/selection.json").read_text())
    assert len(picked["papers"]) == 10
    assert not sent & {p["id"] for p in picked["papers"]}


def test_an_edition_never_sent_does_not_hold_papers_back(workdir: Path) -> None:
    run("send", "--date", DAY, "--replay", "sample", "--dry-run")
    chosen = json.loads((edition_dir(workdir) / "selection.json").read_text())["papers"]
    _next_day_from_sample(workdir)
    run("select", "--date", "2026-06-13")
    picked = json.loads((workdir / "data/editions/2026-06-13/selection.json").read_text())
    assert [p["id"] for p in picked["papers"]] == [p["id"] for p in chosen]


def _subject(path: Path) -> str:
    return str(read_eml(path)["Subject"])


def test_a_failed_build_leaves_no_edition_to_send(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("send", "--date", DAY, "--replay", "sample", "--dry-run")
    monkeypatch.setenv("NEWSLETTER_EDITION__SIZE_BUDGET_KB", "20")
    result = run("build", "--date", DAY, "--force", ok=False)
    assert result.exit_code == 1 and "budget" in result.output
    assert not (edition_dir(workdir) / "edition.json").exists()
    assert not list(edition_dir(workdir).glob(".variants*"))
    result = run("send", "--date", DAY, ok=False)
    assert "budget" in result.output and not (workdir / "data" / "outbox").exists()
    monkeypatch.delenv("NEWSLETTER_EDITION__SIZE_BUDGET_KB")
    assert "sent 4," in run("send", "--date", DAY).output


def test_changed_settings_or_subscribers_make_the_build_stale(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("send", "--date", DAY, "--replay", "sample", "--dry-run")
    path = edition_dir(workdir) / "edition.json"
    built = path.stat().st_mtime_ns
    run("build", "--date", DAY)
    assert path.stat().st_mtime_ns == built  # nothing changed: reused
    monkeypatch.setenv("NEWSLETTER_EDITION__TITLE", "Morning Papers")
    out = run("build", "--date", DAY).output
    assert "rebuilding (settings, templates or subscribers changed)" in out
    assert json.loads(path.read_text())["title"] == "Morning Papers"
    variants = len(json.loads(path.read_text())["variants"])
    run("subscribers", "unsubscribe", "jun.park@example.com")
    run("build", "--date", DAY)
    edition = json.loads(path.read_text())
    subscribers = {e for v in edition["variants"] for e in v["subscribers"]}
    assert "jun.park@example.com" not in subscribers and len(edition["variants"]) == variants - 1


def test_a_partly_sent_edition_is_finished_as_built(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("send", "--date", DAY, "--replay", "sample", "--limit", "2")
    outbox = workdir / "data" / "outbox" / DAY
    first = sorted(outbox.glob("*.eml"))
    assert len(first) == 2
    monkeypatch.setenv("NEWSLETTER_EDITION__TITLE", "Renamed")
    result = run("send", "--date", DAY, "--force", ok=False)
    assert (
        "already sent to 2 subscribers; --force would send the others a different "
        "edition" in result.output
    )
    run("send", "--date", DAY)
    every = sorted(outbox.glob("*.eml"))
    assert len(every) == 4
    # The rest get the same edition as the first two: same subject, nothing rebuilt.
    assert {_subject(p) for p in every} == {f"[{DAY}] AI 논문 핵심 요약"}
