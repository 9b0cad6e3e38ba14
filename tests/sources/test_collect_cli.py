"""`newsletter collect` / `send` through CliRunner against a local server: a real day, an empty
day (with and without --allow-empty) and a source that fails."""

from __future__ import annotations

import json
import threading
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from support import FIXTURES as FIXTURES_DIR
from support.cli import run
from werkzeug import Request, Response

FIXTURES = FIXTURES_DIR
DAY = "2026-06-12"


@pytest.fixture
def local_urls(monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> HTTPServer:
    """Every source URL points at the local server, through NEWSLETTER_* variables."""
    env = {
        "NEWSLETTER_SOURCES__HUGGINGFACE__URL": httpserver.url_for("/api/daily_papers"),
        "NEWSLETTER_SOURCES__ARXIV__API_URL": httpserver.url_for("/api/query"),
        "NEWSLETTER_SOURCES__ARXIV__RSS_URL": httpserver.url_for("/rss"),
        "NEWSLETTER_SOURCES__ARXIV__HTML_URL": httpserver.url_for("/html"),
        "NEWSLETTER_SOURCES__ARXIV__PDF_URL": httpserver.url_for("/pdf"),
        "NEWSLETTER_SOURCES__ARXIV__REQUEST_INTERVAL_S": "0.01",
        "NEWSLETTER_SOURCES__GITHUB__API_URL": httpserver.url_for("/gh"),
        "NEWSLETTER_HTTP__RETRIES": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return httpserver


def arxiv_answer(request: Request) -> Response:
    """The arXiv API: every asked id in cs.CL, except one its index does not have yet."""
    entries = "".join(
        f"<entry><id>http://arxiv.org/abs/{pid}v3</id><title>T {pid}</title>"
        f'<category term="cs.CL"/><category term="cs.LG"/><arxiv:primary_category term="cs.CL"/>'
        "</entry>"
        for pid in request.args["id_list"].split(",")
        if pid != "2606.00467"
    )
    return Response(
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        f'xmlns:arxiv="http://arxiv.org/schemas/atom">{entries}</feed>',
        content_type="application/atom+xml",
    )


def test_collect_a_real_day(workdir: Path, local_urls: HTTPServer) -> None:
    day = json.loads((FIXTURES / "hf" / f"{DAY}.json").read_bytes())
    # Take the stars away from one linked repo so GitHub has to be asked for it.
    target = next(item for item in day if item["paper"].get("githubRepo"))
    del target["paper"]["githubStars"]
    slug = target["paper"]["githubRepo"].removeprefix("https://github.com/")
    local_urls.expect_request("/api/daily_papers").respond_with_json(day)
    local_urls.expect_request("/api/query").respond_with_handler(arxiv_answer)
    local_urls.expect_request(f"/gh/repos/{slug}").respond_with_json({"stargazers_count": 77})
    result = run("collect", "--date", DAY)
    assert "30 candidates" in result.output
    assert "no metadata for 2606.00467" in result.stderr
    saved = json.loads((workdir / "data/editions" / DAY / "candidates.json").read_text())
    by_id = {p["id"]: p for p in saved["papers"]}
    assert len(by_id) == 30
    for item in day:
        got = by_id[item["paper"]["id"]]
        assert got["upvotes"] == item["paper"]["upvotes"]
        org = item["paper"].get("organization") or item.get("organization")
        assert got["organization"] == (org["fullname"] if org else None)
        if item["paper"]["id"] != "2606.00467":
            assert (got["categories"], got["primary_category"], got["version"]) == (
                ["cs.CL", "cs.LG"],
                "cs.CL",
                "v3",
            )
    assert by_id[target["paper"]["id"]]["github_stars"] == 77
    lagging = by_id["2606.00467"]
    assert lagging["categories"] == [] and lagging["abstract"]


def test_empty_day_collect_and_send_say_so(workdir: Path, local_urls: HTTPServer) -> None:
    local_urls.expect_request("/api/daily_papers").respond_with_json([])
    result = run("collect", "--date", "2026-06-13")
    assert result.stdout.strip().splitlines() == [
        "No papers for 2026-06-13: the lists of 2026-06-13 closed empty (a weekend or a "
        "holiday); nothing to send ('send --allow-empty' sends a short edition)."
    ]
    result = run("send", "--date", "2026-06-13")
    assert "No papers for 2026-06-13" in result.stdout and "nothing sent" in result.stdout
    assert not (workdir / "data" / "outbox").exists()


def test_empty_day_is_collected_again_later(workdir: Path, local_urls: HTTPServer) -> None:
    local_urls.expect_ordered_request("/api/daily_papers").respond_with_json(
        {"error": "No daily papers found for this date"}
    )
    local_urls.expect_ordered_request("/api/daily_papers").respond_with_json(
        [{"paper": {"id": "2606.00001", "title": "Published late", "upvotes": 2}}]
    )
    local_urls.expect_request("/api/query").respond_with_handler(arxiv_answer)
    assert "No papers" in run("collect", "--date", DAY).stdout
    assert "1 candidates" in run("collect", "--date", DAY).stdout


def test_send_allow_empty_sends_the_short_edition(workdir: Path, local_urls: HTTPServer) -> None:
    local_urls.expect_request("/api/daily_papers").respond_with_json([])
    run("send", "--date", "2026-06-13", "--allow-empty")
    sent = sorted((workdir / "data" / "outbox" / "2026-06-13").glob("*.eml"))
    assert sent
    for path in sent:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = msg.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "오늘은 소개할 논문이 없습니다." in text or "No papers to share today." in text


def test_daily_papers_failing_is_one_clear_error(workdir: Path, local_urls: HTTPServer) -> None:
    local_urls.expect_request("/api/daily_papers").respond_with_data(
        "<!DOCTYPE html><html><body>Service unavailable</body></html>"
    )
    result = run("collect", "--date", DAY, code=1)
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("Error: huggingface: expected JSON, got HTML")
    assert local_urls.url_for("/api/daily_papers") in lines[-1]
    assert not (workdir / "data/editions" / DAY / "candidates.json").exists()


def test_bad_optional_sources_are_warnings(workdir: Path, local_urls: HTTPServer) -> None:
    (workdir / "newsletter.toml").write_text(
        '[sources.arxiv]\ncategories = ["cs.XX"]\n'
        f'[[sources.feeds]]\nname = "lab"\nurl = "{local_urls.url_for("/lab.xml")}"\n'
    )
    local_urls.expect_request("/api/daily_papers").respond_with_json(
        [{"paper": {"id": "2606.00001", "title": "Only one", "upvotes": 1}}]
    )
    local_urls.expect_request("/rss/cs.XX").respond_with_data(
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Feed error for query</title></feed>'
    )
    local_urls.expect_request("/lab.xml").respond_with_data("not xml at all")
    local_urls.expect_request("/api/query").respond_with_data("", status=503)
    result = run("collect", "--date", DAY)
    assert "1 candidates" in result.stdout
    assert "arXiv has no feed for category cs.XX" in result.stderr
    assert "feed:lab: not an RSS/Atom feed" in result.stderr
    assert "arxiv: HTTP 503" in result.stderr
    saved = json.loads((workdir / "data/editions" / DAY / "candidates.json").read_text())
    assert len(saved["warnings"]) >= 3 and saved["papers"][0]["upvotes"] == 1


def test_arxiv_timeout_is_a_warning_and_the_day_goes_on(
    workdir: Path, local_urls: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One timeout bounds every request, and the Hugging Face one must get through: generous.
    monkeypatch.setenv("NEWSLETTER_HTTP__TIMEOUT_S", "1.5")
    monkeypatch.setenv("NEWSLETTER_HTTP__RETRIES", "0")
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(30)  # answers only after the run: arXiv must time out
        return Response("<feed/>")

    local_urls.expect_request("/api/daily_papers").respond_with_json(
        [{"paper": {"id": "2606.00001", "title": "Kept", "upvotes": 5}}]
    )
    # Its own server: the slow answer finishes after the test and must not land in the
    # shared server's log of the next test.
    arxiv_server = HTTPServer(threaded=True)
    arxiv_server.start()
    arxiv_server.expect_request("/api/query").respond_with_handler(slow)
    monkeypatch.setenv("NEWSLETTER_SOURCES__ARXIV__API_URL", arxiv_server.url_for("/api/query"))
    try:
        result = run("collect", "--date", DAY)
    finally:
        release.set()
        arxiv_server.clear()
        arxiv_server.stop()
    assert "1 candidates" in result.stdout
    warning = next(line for line in result.stderr.splitlines() if "timed out" in line)
    assert warning.startswith("warning: arxiv: timed out")
    assert arxiv_server.url_for("/api/query") in warning
    saved = json.loads((workdir / "data/editions" / DAY / "candidates.json").read_text())
    assert saved["papers"][0]["upvotes"] == 5


def test_daily_papers_json_nested_200000_deep_is_one_line(
    workdir: Path, local_urls: HTTPServer
) -> None:
    local_urls.expect_request("/api/daily_papers").respond_with_data(
        "[" * 200_000 + "]" * 200_000, content_type="application/json"
    )
    result = run("collect", "--date", DAY, code=1)
    assert result.output.splitlines()[-1].startswith(
        "Error: huggingface: JSON nested too deep to read (400,000 bytes) (http://"
    )
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    assert not (workdir / "data/editions" / DAY / "candidates.json").exists()


def test_daily_papers_upvote_count_of_5000_digits_is_unknown_and_named(
    workdir: Path, local_urls: HTTPServer
) -> None:
    items = [
        '{"paper": {"id": "2606.00001", "title": "Huge", "upvotes": ' + "9" * 5000 + "}}",
        '{"paper": {"id": "2606.00002", "title": "Fine", "upvotes": 12}}',
    ]
    local_urls.expect_request("/api/daily_papers").respond_with_data(
        "[" + ",".join(items) + "]", content_type="application/json"
    )
    local_urls.expect_request("/api/query").respond_with_handler(arxiv_answer)
    result = run("collect", "--date", DAY)
    assert "2 candidates" in result.output
    assert (
        "huggingface: paper 2606.00001: paper.upvotes is a 5,000-digit number; treated as unknown"
    ) in result.output
    saved = json.loads((workdir / "data/editions" / DAY / "candidates.json").read_text())
    votes = {p["id"]: p["upvotes"] for p in saved["papers"]}
    assert votes == {"2606.00001": None, "2606.00002": 12}


def test_daily_papers_title_of_5_mb_and_100000_authors_are_cut_with_warnings(
    workdir: Path, local_urls: HTTPServer
) -> None:
    item = {
        "paper": {
            "id": "2606.00001",
            "title": "t " * 2_500_000,
            "authors": [{"name": "A. Author"}] * 100_000,
            "summary": "An abstract.",
        }
    }
    local_urls.expect_request("/api/daily_papers").respond_with_json([item])
    local_urls.expect_request("/api/query").respond_with_handler(arxiv_answer)
    result = run("collect", "--date", DAY)
    assert "1 candidates" in result.output
    assert "paper 2606.00001: title is 4,999,999 characters; cut to 1,000" in result.output
    assert "paper 2606.00001: authors has 100,000 entries" in result.output
    saved = json.loads((workdir / "data/editions" / DAY / "candidates.json").read_text())
    paper = saved["papers"][0]
    assert len(paper["title"]) == 1_000 and len(paper["authors"]) == 2_000
    assert len(saved["warnings"]) == 2


def test_daily_papers_page_of_100000_items_keeps_the_page_size(
    workdir: Path, local_urls: HTTPServer
) -> None:
    items = [{"paper": {"id": f"2606.{i:05d}", "title": f"T{i}"}} for i in range(100_000)]
    local_urls.expect_request("/api/daily_papers").respond_with_json(items)
    local_urls.expect_request("/api/query").respond_with_handler(arxiv_answer)
    result = run("collect", "--date", DAY)
    assert "huggingface: 100,000 items on a page of 100; kept the first 100" in result.output
    saved = json.loads((workdir / "data/editions" / DAY / "candidates.json").read_text())
    # Pages come full, so the next pages are read (the same items: nothing new, so it stops).
    assert len(saved["papers"]) == 100


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)
    )
    + ']><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol9;</title>'
    "<id>http://arxiv.org/abs/2606.00002v1</id></entry></feed>"
)
DEEP = (
    '<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>x</title>'
    "<id>http://arxiv.org/abs/2606.00002v1</id>" + "<a>" * 100_000 + "</a>" * 100_000
) + "</entry></feed>"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (LAUGHS, "XML entities that expand without bound"),
        (DEEP, "XML nested deeper than 100 levels"),  # was: 8 s, growing faster than its size
    ],
    ids=["billion_laughs_entities", "xml_nested_100000_deep"],
)
def test_hostile_xml_from_feeds_and_the_arxiv_api_is_refused_before_parsing(
    workdir: Path, local_urls: HTTPServer, body: str, problem: str
) -> None:
    (workdir / "newsletter.toml").write_text(
        f'[[sources.feeds]]\nname = "lab"\nurl = "{local_urls.url_for("/lab.xml")}"\n'
    )
    local_urls.expect_request("/api/daily_papers").respond_with_json(
        [{"paper": {"id": "2606.00001", "title": "Only one", "upvotes": 1}}]
    )
    local_urls.expect_request("/lab.xml").respond_with_data(body)
    local_urls.expect_request("/api/query").respond_with_data(body)
    result = run("collect", "--date", DAY)
    assert "1 candidates" in result.stdout
    assert f"feed:lab: {problem}" in result.stderr
    assert f"arxiv: {problem}" in result.stderr


def tomorrow_in_seoul() -> str:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    return (datetime.now(ZoneInfo("Asia/Seoul")).date() + timedelta(days=1)).isoformat()


def test_a_day_not_closed_yet_exits_75_and_writes_nothing(
    workdir: Path, local_urls: HTTPServer
) -> None:
    # Tomorrow's list (Seoul) is still open on every calendar, whatever the hour.
    day = tomorrow_in_seoul()
    result = run("collect", "--date", day, code=75)
    line = result.stdout.strip()
    assert line.startswith(f"Not ready: huggingface's list of {day} is still open until ")
    assert "Retry after" in line and line.endswith("(exit 75).")
    result = run("send", "--date", day, code=75)
    assert result.stdout.startswith("Not ready: ")
    assert local_urls.log == []
    assert not (workdir / "data" / "editions" / day / "candidates.json").exists()
    assert not (workdir / "data" / "outbox").exists()


@pytest.mark.parametrize("value", ["", "0001-01-01", "2026-06-31", "yesterday"])
def test_a_bad_date_is_one_error_line(workdir: Path, value: str) -> None:
    result = run("collect", "--date", value, code=1)
    assert result.output.count("\n") == 1 and result.output.startswith("Error: --date ")
    assert not (workdir / "data").exists()


def test_collect_verbose_prints_its_result_once(workdir: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "newsletter", "-v", "collect", "--date", DAY, "--replay", "sample"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    both = done.stdout + done.stderr
    where = f"data/editions/{DAY}/candidates.json"
    assert done.stdout.splitlines() == [
        f"30 candidates of {DAY} -> {where} (1 warnings, kept in the file)"
    ]
    assert both.count("candidates of") == 1
    assert both.count("no metadata for 2606.00467") == 1  # the warning, once
    assert "huggingface: 30 papers" in done.stderr  # -v still shows the progress
