"""The source day on each source's calendar, against local servers: a list still filling is
not ready, an RSS feed of another day gives nothing, a past arXiv day comes from the API's
listing query, a feed keeps the items of its day."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from pytest_httpserver import HTTPServer
from support import FIXTURES
from werkzeug import Request, Response

from newsletter import pipeline
from newsletter.config import FeedSettings, Settings
from newsletter.http import Http
from newsletter.sources import collect_papers

RSS = (FIXTURES / "arxiv" / "rss-cs.LG+cs.AI+cs.CL+stat.ML.xml").read_bytes()  # Thu 2026-09-24
RSS_IDS = {"2609.26811", "2609.26820", "2205.06398", "2009.13987"}
CATS = ["cs.LG", "cs.AI", "cs.CL", "stat.ML"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def client() -> Http:
    return Http(httpx.Client(timeout=5), retries=0, sleep=lambda s: None)


def settings(server: HTTPServer, tmp_path: Path, **arxiv: Any) -> Settings:
    s = Settings()
    s.storage.data_dir = str(tmp_path / "data")
    s.sources.huggingface.url = server.url_for("/api/daily_papers")
    s.sources.arxiv.api_url = server.url_for("/api/query")
    s.sources.arxiv.rss_url = server.url_for("/rss")
    s.sources.arxiv.request_interval_s = 0
    s.sources.github.enabled = False
    for key, value in arxiv.items():
        setattr(s.sources.arxiv, key, value)
    return s


def entry(pid: str, published: str, cats: tuple[str, ...] = ("cs.CL",)) -> str:
    terms = "".join(f'<category term="{c}"/>' for c in cats)
    return (
        f"<entry><id>http://arxiv.org/abs/{pid}v1</id><title>Paper {pid}</title>"
        f"<summary>About {pid}.</summary><published>{published}</published>"
        f'<updated>{published}</updated>{terms}<arxiv:primary_category term="{cats[0]}"/>'
        "</entry>"
    )


def listing(total: int, *entries: str) -> Response:
    return Response(
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><title>arXiv Query</title>'
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        + "".join(entries)
        + "</feed>",
        content_type="application/atom+xml",
    )


# -- Hugging Face: a list still filling is "not ready", exit 75 ------------------------------


def test_a_list_still_filling_is_not_ready_and_writes_nothing(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    # What the API answers at 23:30 UTC: the day's list so far.
    so_far = json.loads((FIXTURES / "hf" / "2026-06-12.json").read_bytes())[:7]
    httpserver.expect_request("/api/daily_papers").respond_with_json(so_far)
    httpserver.expect_request("/api/query").respond_with_data("", status=503)
    s = settings(httpserver, tmp_path)
    early = pipeline.collect_edition(
        s, "2026-06-12", client(), progress=lambda m: None, clock=lambda: utc(2026, 6, 12, 23, 30)
    )
    assert early.exit_code == pipeline.EX_TEMPFAIL == 75
    assert early.not_ready is not None and early.not_ready.source == "huggingface"
    assert early.line() == (
        "Not ready: huggingface's list of 2026-06-12 is still open until 2026-06-13 09:00 "
        "Asia/Seoul (00:00 UTC); nothing collected for 2026-06-12. Retry after 2026-06-13 "
        "09:00 Asia/Seoul (00:00 UTC) (exit 75)."
    )
    assert httpserver.log == [] and not early.path.exists()
    closed = pipeline.collect_edition(
        s, "2026-06-12", client(), progress=lambda m: None, clock=lambda: utc(2026, 6, 13, 0, 5)
    )
    assert closed.exit_code == 0 and closed.candidates is not None
    assert len(closed.candidates.papers) == 7 and closed.path.is_file()


def test_with_source_day_previous_the_edition_asks_for_the_day_before(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(
        "/api/daily_papers", query_string={"date": "2026-06-12", "limit": "100"}
    ).respond_with_json([{"paper": {"id": "2606.00001", "title": "Listed on the 12th"}}])
    httpserver.expect_request("/api/query").respond_with_data("", status=503)
    s = settings(httpserver, tmp_path)
    s.edition.source_day = "previous"
    report = pipeline.collect_edition(
        s, "2026-06-13", client(), progress=lambda m: None, clock=lambda: utc(2026, 6, 13, 0, 5)
    )
    assert report.candidates is not None and report.candidates.date == "2026-06-13"
    assert [p.daily_date for p in report.candidates.papers] == ["2026-06-12"]
    assert report.line().startswith("1 candidates of 2026-06-12 -> ")


# -- arXiv: the listing of the source day, from the RSS or from the API ---------------------


def test_the_rss_listing_of_the_day_is_kept(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/api/daily_papers").respond_with_json([])
    httpserver.expect_request("/rss/cs.LG+cs.AI+cs.CL+stat.ML").respond_with_data(RSS)
    httpserver.expect_request("/api/query").respond_with_data("", status=503)
    said: list[str] = []
    s = settings(httpserver, tmp_path, categories=CATS, announce_types=["new", "cross"])
    papers, _ = collect_papers(s, client(), date(2026, 9, 24), said.append)
    # The two new items and the cross-list; the replacement is not a kept announce type.
    assert {p.id for p in papers} == RSS_IDS - {"2009.13987"}
    assert "arxiv rss: 3 papers announced on 2026-09-24" in said
    assert not any("search_query" in str(r.url) for r, _ in httpserver.log)


def test_an_rss_feed_of_another_day_gives_nothing_and_the_api_listing_is_read(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    asked: list[dict[str, str]] = []

    def api(request: Request) -> Response:
        asked.append(dict(request.args))
        return listing(
            2,
            entry("2609.30001", "2026-09-23T19:00:00Z", ("cs.LG", "cs.AI")),
            entry("2609.30002", "2026-09-24T18:30:00Z"),  # after the cutoff: Monday's listing
        )

    httpserver.expect_request("/api/daily_papers").respond_with_json([])
    httpserver.expect_request("/rss/cs.LG+cs.AI+cs.CL+stat.ML").respond_with_data(RSS)
    httpserver.expect_request("/api/query").respond_with_handler(api)
    said: list[str] = []
    s = settings(httpserver, tmp_path, categories=CATS)
    papers, warnings = collect_papers(s, client(), date(2026, 9, 25), said.append)
    assert [p.id for p in papers] == ["2609.30001"] and not RSS_IDS & {p.id for p in papers}
    held = "the feed holds 2026-09-24"
    assert f"arxiv rss: nothing dated 2026-09-25 ({held}); reading the API listing" in said
    assert [a["search_query"] for a in asked] == [
        "(cat:cs.LG OR cat:cs.AI OR cat:cs.CL OR cat:stat.ML) "
        "AND submittedDate:[202609231800 TO 202609241800]"
    ]
    assert papers[0].categories == ["cs.LG", "cs.AI"] and papers[0].sources == ["arxiv"]
    assert warnings == []


def test_a_backfill_pages_through_the_listing_query_politely(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    # Thursday 2026-06-11's listing: submissions from Tuesday 14:00 to Wednesday 14:00 EDT.
    inside = [f"2606.{20000 + i}" for i in range(12)]
    cross = inside[5]

    def api(request: Request) -> Response:
        start, size = int(request.args["start"]), int(request.args["max_results"])
        rows = [
            entry(pid, "2026-06-10T12:00:00Z", ("math.OC", "cs.LG") if pid == cross else ("cs.CL",))
            for pid in inside[start : start + size]
        ]
        return listing(len(inside), *rows)

    httpserver.expect_request("/api/daily_papers").respond_with_json([])
    httpserver.expect_request("/rss/cs.CL+cs.LG").respond_with_data(RSS)
    httpserver.expect_request("/api/query").respond_with_handler(api)
    s = settings(
        httpserver,
        tmp_path,
        categories=["cs.CL", "cs.LG"],
        listing_page_size=10,
        announce_types=["new"],
    )
    papers, _ = collect_papers(s, client(), date(2026, 6, 11), lambda m: None)
    assert sorted(p.id for p in papers) == sorted(set(inside) - {cross})  # "new" only
    pages = [r.args for r, _ in httpserver.log if "search_query" in r.args]
    assert [(a["start"], a["max_results"]) for a in pages] == [("0", "10"), ("10", "10")]
    assert {a["sortBy"] for a in pages} == {"submittedDate"}
    assert {a["sortOrder"] for a in pages} == {"ascending"}
    assert pages[0]["search_query"].endswith("submittedDate:[202606091800 TO 202606101800]")
    # Listed papers carry the API's metadata already: no id_list request for them.
    assert not any("id_list" in r.args for r, _ in httpserver.log)


def test_a_weekend_has_no_arxiv_listing_and_nothing_to_wait_for(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/api/daily_papers").respond_with_json([])
    said: list[str] = []
    s = settings(httpserver, tmp_path, categories=["cs.CL"])
    papers, _ = collect_papers(s, client(), date(2026, 6, 13), said.append)
    assert papers == [] and "arxiv: no listing dated 2026-06-13 (Saturday)" in said
    assert [r.path for r, _ in httpserver.log] == ["/api/daily_papers"]


# -- configured feeds: the items of the day in the feed's time zone -------------------------


def test_a_feed_keeps_the_items_of_the_day_in_its_time_zone(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    def item(pid: str, when: str) -> str:
        date_xml = f"<pubDate>{when}</pubDate>" if when else ""
        return (
            f"<item><title>T {pid}</title><link>https://arxiv.org/abs/{pid}</link>{date_xml}</item>"
        )

    httpserver.expect_request("/api/daily_papers").respond_with_json([])
    httpserver.expect_request("/api/query").respond_with_data("", status=503)
    httpserver.expect_request("/lab.xml").respond_with_data(
        '<rss version="2.0"><channel><title>lab</title>'
        + item("2606.00001", "Fri, 12 Jun 2026 23:30:00 +0000")  # 08:30 on the 13th in Seoul
        + item("2606.00002", "Sat, 13 Jun 2026 10:00:00 +0900")
        + item("2606.00003", "Fri, 12 Jun 2026 10:00:00 +0000")  # the 12th in Seoul
        + item("2606.00004", "")
        + "</channel></rss>"
    )
    s = settings(httpserver, tmp_path)
    s.sources.feeds = [
        FeedSettings(name="lab", url=httpserver.url_for("/lab.xml"), timezone="Asia/Seoul")
    ]
    said: list[str] = []
    papers, _ = collect_papers(s, client(), date(2026, 6, 13), said.append)
    assert sorted(p.id for p in papers) == ["2606.00001", "2606.00002"]
    assert "feed lab: 2 papers of 2026-06-13 (1 of other days, 1 undated left out)" in said
    # The feed's day closes at midnight in Seoul: before that it is not ready.
    s.sources.huggingface.enabled = False
    waiting = pipeline.collect_edition(
        s, "2026-06-13", client(), clock=lambda: utc(2026, 6, 13, 14, 0)
    )
    assert waiting.exit_code == 75 and waiting.not_ready is not None
    assert (waiting.not_ready.source, waiting.not_ready.ready_at) == ("feeds", utc(2026, 6, 13, 15))
