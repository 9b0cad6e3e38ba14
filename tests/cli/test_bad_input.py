"""Bad input from outside, through the real CLI: each gets one line naming what and where, a
non-zero exit, and no traceback; the day goes on where it can. Services are real local servers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer
from support import FIXTURES as FIXTURES_DIR
from support.llm_server import ok, serving
from werkzeug import Request, Response

from newsletter.analysis import make_analyzer
from newsletter.cli import cli
from newsletter.config import Settings
from newsletter.sources.huggingface import parse_item

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
    assert "'edition.timezone': unknown time zone 'Mars/Olympus'" in result.output


def test_line_break_in_the_title_is_refused_before_anything_runs(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text(
        '[edition]\nranked = 3\ntitle = "Daily\\r\\nBcc: evil@example.org"\n'
    )
    result = run("collect", "--date", DAY, "--replay", "sample", code=1)
    assert (
        "newsletter.toml:3: 'edition.title': contains a line break or control character"
        in result.output
    )
    assert not (workdir / "data").exists()


def test_an_edition_of_no_papers_is_a_config_error(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text("[edition]\nranked = 0\nrecommended = 0\n")
    result = run("status", "--date", DAY, code=1)
    assert "newsletter.toml:1: 'edition': ranked and recommended are both 0" in result.output


def test_config_file_that_is_not_utf8_names_file_and_line(workdir: Path) -> None:
    (workdir / "latin1.toml").write_bytes("[edition]\ntitle = 'caf\xe9'\n".encode("latin-1"))
    result = run("--config", "latin1.toml", "status", "--date", DAY, code=1)
    assert "latin1.toml:2: not UTF-8 text (byte 0xe9)" in result.output


def test_bad_environment_override_names_the_variable(workdir: Path) -> None:
    result = run("status", "--date", DAY, code=1, env={"NEWSLETTER_EDITION__RANKED": "abc"})
    assert "environment NEWSLETTER_EDITION__RANKED: 'edition.ranked'" in result.output
    result = run("status", "--date", DAY, code=1, env={"NEWSLETTER_DELIVERY__SES__REGOIN": "x"})
    assert (
        "environment NEWSLETTER_DELIVERY__SES__REGOIN: unknown key 'delivery.ses.regoin'"
        in result.output
    )


def test_typo_in_a_feed_item_is_named_before_the_missing_key(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text(
        '[[sources.feeds]]\nname = "a"\nurl = "http://127.0.0.1:1/a"\n\n'
        '[[sources.feeds]]\nname = "b"\nurll = "http://127.0.0.1:1/b"\n'
    )
    result = run("status", "--date", DAY, code=1)
    assert "newsletter.toml:7: unknown key 'sources.feeds.1.urll'" in result.output


def test_feed_item_without_url_points_at_its_header(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text(
        '[edition]\nranked = 3\n\n[[sources.feeds]]\nname = "a"\nurl = "http://127.0.0.1:1/a"\n'
        '\n[[sources.feeds]]\nname = "b"\n'
    )
    result = run("status", "--date", DAY, code=1)
    assert "newsletter.toml:8: 'sources.feeds.1.url': Field required" in result.output


# -- sources -----------------------------------------------------------------------------------


@pytest.fixture
def sources(workdir: Path, httpserver: HTTPServer) -> HTTPServer:
    """Every source URL at the local server; one feed configured; arXiv and GitHub answer 404."""
    (workdir / "newsletter.toml").write_text(
        f'[sources.huggingface]\nurl = "{httpserver.url_for("/api/daily_papers")}"\n'
        f'[sources.arxiv]\napi_url = "{httpserver.url_for("/api/query")}"\n'
        "request_interval_s = 0\n"
        f'[sources.github]\napi_url = "{httpserver.url_for("/gh")}"\n'
        f'[[sources.feeds]]\nname = "blog"\nurl = "{httpserver.url_for("/feed.xml")}"\n'
        "[http]\nretries = 0\n"
    )
    return httpserver


def candidates(workdir: Path) -> dict[str, dict[str, Any]]:
    path = workdir / "data" / "editions" / DAY / "candidates.json"
    return {p["id"]: p for p in json.loads(path.read_text())["papers"]}


def test_absurd_upvote_counts_do_not_top_the_ranking(workdir: Path, sources: HTTPServer) -> None:
    items = [
        {"paper": {"id": "2606.00001", "title": "Huge", "upvotes": 10**30}},
        {"paper": {"id": "2606.00002", "title": "Negative", "upvotes": -5}},
        {"paper": {"id": "2606.00003", "title": "Real", "upvotes": 12}},
    ]
    sources.expect_request("/api/daily_papers").respond_with_json(items)
    sources.expect_request("/feed.xml").respond_with_data(
        '<rss version="2.0"><channel><title>b</title></channel></rss>'
    )
    run("collect", "--date", DAY)
    found = candidates(workdir)
    assert [found[p]["upvotes"] for p in ("2606.00001", "2606.00002", "2606.00003")] == [
        None,
        None,
        12,
    ]
    result = run("select", "--date", DAY)
    assert " 1. 📊 2606.00003" in result.output and " 2. 📊" not in result.output


def test_feed_item_without_a_title_is_skipped(workdir: Path, sources: HTTPServer) -> None:
    sources.expect_request("/api/daily_papers").respond_with_json(
        [{"paper": {"id": "2606.00003", "title": "Real", "upvotes": 12}}]
    )
    sources.expect_request("/feed.xml").respond_with_data(
        '<rss version="2.0"><channel><title>b</title>'
        "<item><title>  </title><link>https://arxiv.org/abs/2606.55555</link>"
        "<pubDate>Fri, 12 Jun 2026 09:00:00 +0000</pubDate></item>"
        "<item><title>&lt;b&gt;Named&lt;/b&gt;</title>"
        "<pubDate>Fri, 12 Jun 2026 10:00:00 +0000</pubDate>"
        "<link>https://arxiv.org/abs/2606.66666v2</link></item></channel></rss>",
        content_type="application/rss+xml",
    )
    result = run("collect", "--date", DAY)
    found = candidates(workdir)
    assert "2606.55555" not in found
    assert found["2606.66666"]["title"] == "<b>Named</b>"
    assert "feed blog: 1 papers" in result.output


# -- LLM ---------------------------------------------------------------------------------------


def test_card_in_another_script_becomes_the_abstract_card(tmp_path: Path) -> None:
    fixtures = FIXTURES_DIR
    card = json.loads((fixtures / "llm" / "cards.json").read_text(encoding="utf-8"))
    good = next(iter(card.values()))["ko"]
    chinese = {
        k: "这是一个非常重要的论文，提出了新的方法。" if isinstance(v, str) else v
        for k, v in good.items()
    }
    item = {
        "paper": {
            "id": "2606.00003",
            "title": "A paper",
            "upvotes": 3,
            "summary": "We propose a method. It works well.",
        }
    }
    paper = parse_item(item, DAY, "test")
    with serving() as server:
        server.add(ok(chinese), ok(chinese))  # the answer and the answer to the repair
        settings = Settings.model_validate(
            {
                "llm": {"base_url": server.url, "model": "m", "max_retries": 0, "timeout_s": 5},
                "storage": {"data_dir": str(tmp_path / "data")},
            }
        )
        [result] = make_analyzer(settings, None).analyze_many([paper])
        assert len(server.requests) == 2
    assert result.analyzer == "offline" and result.abstract_only
    assert "这是" not in result.analysis.summary
    assert "field 'summary' contains characters that are not Korean" in result.warnings[0]


# -- stage files -------------------------------------------------------------------------------


def offline_day(workdir: Path) -> Path:
    """The bundled day collected, selected, analysed and built; returns its edition folder."""
    run("collect", "--date", DAY, "--replay", "sample")
    for stage in ("select", "analyze", "build"):
        run(stage, "--date", DAY)
    return workdir / "data" / "editions" / DAY


@pytest.mark.parametrize(
    ("name", "stage"), [("candidates.json", "collect"), ("edition.json", "build")]
)
def test_status_reports_a_truncated_stage_file_and_the_rest(
    workdir: Path, name: str, stage: str
) -> None:
    folder = offline_day(workdir)
    text = (folder / name).read_text()
    (folder / name).write_text(text[: len(text) // 2])
    result = run("status", "--date", DAY, code=1)
    assert f"{stage:<8} error data/editions/{DAY}/{name}: Invalid JSON" in result.output
    assert f"rerun 'newsletter {stage} --force'" in result.output
    assert "deliver  pending 0" in result.output  # the rest of the report is still there
    assert f"broken stage file(s): {stage}" in result.output


def test_truncated_stage_file_error_has_no_empty_field_name(workdir: Path) -> None:
    folder = offline_day(workdir)
    (folder / "selection.json").write_text('{"date": "2026-06-12", "papers": [')
    result = run("analyze", "--date", DAY, "--force", code=1)
    assert f"data/editions/{DAY}/selection.json: Invalid JSON" in result.output
    assert "''" not in result.output


def test_data_dir_that_is_a_file_is_one_line(workdir: Path) -> None:
    (workdir / "data").write_text("not a folder")
    result = run("collect", "--date", DAY, "--replay", "sample", code=1)
    # The first thing made under data/ is the date's lock folder.
    assert result.output == "Error: data/locks: Not a directory\n"


def test_arxiv_api_error_entry_is_named_and_the_day_goes_on(
    workdir: Path, sources: HTTPServer
) -> None:
    ids = [f"2606.{n:05d}" for n in range(1, 41)]
    sources.expect_request("/api/daily_papers").respond_with_json(
        [{"paper": {"id": pid, "title": f"Paper {pid}", "upvotes": 1}} for pid in ids]
    )
    sources.expect_request("/feed.xml").respond_with_data(
        '<rss version="2.0"><channel><title>b</title></channel></rss>'
    )
    sources.expect_request("/api/query").respond_with_data(
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>arXiv Query</title><entry>'
        "<id>http://arxiv.org/api/errors#incorrect_id_format_for_2606.00001</id>"
        "<title>Error</title><summary>incorrect id format for 2606.00001</summary>"
        "</entry></feed>",
        content_type="application/atom+xml",
    )
    result = run("collect", "--date", DAY)
    line = next(li for li in result.output.splitlines() if "the API answered an error" in li)
    assert "arxiv: the API answered an error: incorrect id format for 2606.00001" in line
    assert "no arXiv metadata for 40 papers (2606.00001 .. 2606.00040)" in line
    # The 40-id query URL is cut so the warning stays one readable line.
    assert len(line) < 400 and "characters)" in line
    assert len(candidates(workdir)) == 40


def test_truncated_daily_papers_json_says_where_it_broke(
    workdir: Path, sources: HTTPServer
) -> None:
    sources.expect_request("/api/daily_papers").respond_with_data(
        '[{"paper": {"id": "2606.00001", "title": "Cut', content_type="application/json"
    )
    result = run("collect", "--date", DAY, code=1)
    assert (
        "huggingface: expected JSON, got not JSON (Unterminated string starting at: line 1 "
        "column 42;" in result.output
    )
    assert not (workdir / "data" / "editions" / DAY / "candidates.json").exists()


def test_configured_subscribers_folder_that_is_missing_stops_the_stages_reading_it(
    workdir: Path,
) -> None:
    (workdir / "newsletter.toml").write_text('[storage]\nsubscribers_dir = "subscriberz"\n')
    run("collect", "--date", DAY, "--replay", "sample")
    # select writes the reasons, and analyze the cards, in every language subscribers read.
    for stage in ("select", "build"):
        result = run(stage, "--date", DAY, code=1)
        assert "storage.subscribers_dir (newsletter.toml): subscriberz is not a folder" in (
            result.output
        )
    folder = workdir / "data" / "editions" / DAY
    assert not (folder / "selection.json").exists() and not (folder / "edition.json").exists()


def test_build_after_the_list_was_collected_again_names_the_missing_paper(workdir: Path) -> None:
    folder = offline_day(workdir)
    candidates_file = folder / "candidates.json"
    data = json.loads(candidates_file.read_text())
    gone = json.loads((folder / "selection.json").read_text())["papers"][0]["id"]
    data["papers"] = [p for p in data["papers"] if p["id"] != gone]
    candidates_file.write_text(json.dumps(data))
    result = run("build", "--date", DAY, "--force", code=1)
    assert f"selection.json: paper {gone} is not in candidates.json" in result.output


def test_build_refuses_an_analysis_file_of_another_paper(workdir: Path) -> None:
    folder = offline_day(workdir)
    first = sorted((folder / "analyses").glob("*.json"))[0]
    data = json.loads(first.read_text())
    data["id"] = "2606.99999"
    first.write_text(json.dumps(data))
    result = run("build", "--date", DAY, "--force", code=1)
    assert (
        f"analyses/{first.name}: holds the analysis of paper 2606.99999, not "
        f"{first.stem}" in result.output
    )


def test_build_refuses_a_paper_selected_twice(workdir: Path) -> None:
    folder = offline_day(workdir)
    data = json.loads((folder / "selection.json").read_text())
    data["papers"][1]["id"] = data["papers"][0]["id"]
    (folder / "selection.json").write_text(json.dumps(data))
    result = run("build", "--date", DAY, "--force", code=1)
    assert f"paper {data['papers'][0]['id']} is selected twice" in result.output


def test_cut_off_llm_answer_is_described_once(tmp_path: Path) -> None:
    item = {
        "paper": {
            "id": "2606.00003",
            "title": "A paper",
            "upvotes": 3,
            "summary": "We propose a method. It works well.",
        }
    }
    with serving() as server:
        server.add(ok('{"summary": "잘린'), ok('{"summary": "잘린'))
        settings = Settings.model_validate(
            {
                "llm": {"base_url": server.url, "model": "m", "max_retries": 0, "timeout_s": 5},
                "storage": {"data_dir": str(tmp_path / "data")},
            }
        )
        [result] = make_analyzer(settings, None).analyze_many([parse_item(item, DAY, "t")])
    assert result.analyzer == "offline"
    assert (
        "the answer is not JSON (Unterminated string starting at: line 1 column 13;"
        in result.warnings[0]
    )


def test_a_dripping_server_is_cut_off(workdir: Path, sources: HTTPServer) -> None:
    def drip(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            # 20 s of one space every 0.05 s: each byte well within the 0.5 s read timeout
            # even on a loaded machine, the whole far past the body's 5 s (10x) deadline.
            for _ in range(400):
                yield b" "
                time.sleep(0.05)
            yield b"[]"

        return Response(body(), content_type="application/json")

    sources.expect_request("/api/daily_papers").respond_with_handler(drip)
    result = run("collect", "--date", DAY, code=1, env={"NEWSLETTER_HTTP__TIMEOUT_S": "0.5"})
    assert "huggingface: the body took over 5s (" in result.output
    assert "stopped (a stalled or dripping server)" in result.output
    assert not (workdir / "data" / "editions" / DAY / "candidates.json").exists()


def test_a_variant_cut_short_after_the_build_is_not_sent(workdir: Path) -> None:
    folder = offline_day(workdir)
    html = sorted((folder / "variants").glob("*.html"))[0]
    text = html.read_text()
    html.write_text(text[: len(text) // 3])
    # Nobody has it yet: the build redoes its own damaged file, and whole messages go out.
    result = run("send", "--date", DAY)
    assert (
        f"build: rebuilding (data/editions/{DAY}/variants/{html.name} changed since it "
        "was built)" in result.output
    )
    assert result.output.count("sent 4,") == 1
    for eml in (workdir / "data" / "outbox").rglob("*.eml"):
        assert eml.read_bytes().rstrip().endswith(b"--")  # the MIME closing boundary


def test_a_variant_cut_short_mid_delivery_stops_the_send(workdir: Path) -> None:
    folder = offline_day(workdir)
    run("send", "--date", DAY, "--limit", "1")
    html = sorted((folder / "variants").glob("*.html"))[0]
    html.write_text(html.read_text()[:100])
    result = run("send", "--date", DAY, code=1)
    assert (
        f"variants/{html.name} changed since it was built: run 'newsletter build "
        "--force'" in result.output
    )
    assert len(list((workdir / "data" / "outbox").rglob("*.eml"))) == 1


def test_a_ledger_that_is_not_a_database_is_one_line(workdir: Path) -> None:
    (workdir / "data").mkdir()
    (workdir / "data" / "newsletter.db").write_text("this is not sqlite, " * 100)
    result = run("status", "--date", DAY, code=1)
    assert (
        "data/newsletter.db: cannot open the delivery ledger (file is not a database)"
        in result.output
    )


def test_a_recording_with_a_broken_index_is_one_line(workdir: Path) -> None:
    (workdir / "rec").mkdir()
    (workdir / "rec" / "index.json").write_text("{not json")
    result = run("collect", "--date", DAY, "--replay", "rec", code=1)
    assert "replay: not a readable recording index (Expecting property name" in result.output
    assert "(rec/index.json)" in result.output
    (workdir / "rec" / "index.json").write_text('{"GET https://x/": {"status": 200}}')
    result = run("collect", "--date", DAY, "--replay", "rec", code=1)
    assert "replay: not a recording index" in result.output


def test_a_list_that_never_ends_is_cut_after_twenty_pages(
    workdir: Path, sources: HTTPServer
) -> None:
    def page(request: Request) -> Response:
        number = int(request.args.get("p", "0"))
        return Response(
            json.dumps(
                [
                    {"paper": {"id": f"2606.{number * 100 + i:05d}", "title": f"P{number}-{i}"}}
                    for i in range(int(request.args["limit"]))
                ]
            ),
            content_type="application/json",
        )

    sources.expect_request("/api/daily_papers").respond_with_handler(page)
    sources.expect_request("/feed.xml").respond_with_data(
        '<rss version="2.0"><channel><title>b</title></channel></rss>'
    )
    result = run("collect", "--date", DAY)
    assert len(candidates(workdir)) == 2000
    assert (
        "huggingface: the list did not end after 20 full pages (2,000 papers); kept "
        "those" in result.output
    )
    # arXiv (404 here) knows none of them: a few ids are named, the rest counted.
    assert "no metadata for 2606.00000, 2606.00001," in result.output
    assert "2606.00009 and 1990 more (its index may lag" in result.output


# -- the sweep: settings through the environment, and the command line ------------------------


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "NEWSLETTER_EDITION__DEDUPE_DAYS",
            "9" * 20,  # was: an OverflowError traceback after 30 s of looking back
            "'edition.dedupe_days': Input should be less than or equal to 3660",
        ),
        (
            "NEWSLETTER_EDITION__TITLE",
            "T" * 100_000,  # was: a 100,000-character Subject header
            "'edition.title': String should have at most 200 characters",
        ),
        ("NEWSLETTER_EDITION__TITLE", "", "'edition.title': String should have at least 1"),
        ("NEWSLETTER_STORAGE__DATA_DIR", "", "'storage.data_dir': String should have at least"),
        ("NEWSLETTER_DELIVERY__RATE_PER_S", "nan", "'delivery.rate_per_s': Input should be"),
        ("NEWSLETTER_DELIVERY__CONCURRENCY", "-1", "'delivery.concurrency': Input should be"),
        ("NEWSLETTER_EDITION__RANKED", "9" * 30, "'edition.ranked': Input should be less"),
        ("NEWSLETTER_LLM__EXTRA_BODY", "notadict", "'llm.extra_body': Input should be a valid"),
        ("NEWSLETTER_DELIVERY__SMTP__PORT", "0", "'delivery.smtp.port': Input should be greater"),
        ("NEWSLETTER_DELIVERY__SMTP__PORT", "70000", "'delivery.smtp.port': Input should be less"),
        ("NEWSLETTER_STORAGE__LOCK_WAIT_S", "-1", "'storage.lock_wait_s': Input should be"),
        ("NEWSLETTER_DELIVERY__SES__TIMEOUT_S", "0", "'delivery.ses.timeout_s': Input should be"),
    ],
    ids=lambda v: v if len(str(v)) < 40 else f"{len(v)} chars",
)
def test_out_of_range_settings_through_the_environment_are_one_line(
    workdir: Path, variable: str, value: str, message: str
) -> None:
    result = run("status", "--date", DAY, code=1, env={variable: value})
    assert result.output.startswith(f"Error: environment {variable}: ")
    assert message in result.output and len(result.output.splitlines()) == 1


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_preview_port_out_of_range_is_a_usage_error(workdir: Path, port: str) -> None:
    # Was: OverflowError from bind() as a traceback.
    result = run("preview", "--date", DAY, "--port", port, "--no-open", code=2)
    assert "Invalid value for '--port'" in result.output and "0<=x<=65535" in result.output


def test_test_message_of_an_unknown_note_language_is_refused(workdir: Path) -> None:
    run("send", "--date", DAY, "--replay", "sample", "--dry-run")
    result = run("send", "--date", DAY, "--to", "a@example.com", "--variant", "note-xx", code=1)
    assert "--variant 'note-xx': not a variant of" in result.output
    assert not (workdir / "data" / "outbox").exists()


def test_a_hand_edited_paper_id_with_dot_dot_writes_nothing_outside(workdir: Path) -> None:
    # Was: 'analyze' wrote the card to data/editions/DAY/analyses/../../../../x.json.
    run("collect", "--date", DAY, "--replay", "sample")
    run("select", "--date", DAY)
    folder = workdir / "data" / "editions" / DAY
    for name in ("candidates.json", "selection.json"):
        data = json.loads((folder / name).read_text(encoding="utf-8"))
        data["papers"][0]["id"] = "../../../../escaped"
        (folder / name).write_text(json.dumps(data), encoding="utf-8")
    result = run("analyze", "--date", DAY, "--replay", "sample", code=1)
    assert f"data/editions/{DAY}/selection.json" in result.output
    assert "'../../../../escaped' is not an arXiv id without version" in result.output
    assert not (workdir / "escaped.json").exists() and not (folder / "analyses").exists()


def test_a_hand_edited_variant_key_with_a_path_is_refused(workdir: Path) -> None:
    run("send", "--date", DAY, "--replay", "sample", "--dry-run")
    path = workdir / "data" / "editions" / DAY / "edition.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["variants"][0]["key"] = "../../../../etc/hostname"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = run("send", "--date", DAY, code=1)
    assert "edition.json" in result.output and "is not a variant key" in result.output
    assert not (workdir / "data" / "outbox").exists()
