"""Collectors against recorded responses served by a real local HTTP server."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from support import FIXTURES as FIXTURES_DIR
from werkzeug import Request, Response

from newsletter.config import Settings
from newsletter.errors import SourceError
from newsletter.files import write_model
from newsletter.http import Http
from newsletter.models import Paper, Selected, Selection
from newsletter.sources import arxiv, arxiv_rss, collect_papers, feeds, github, huggingface, merge
from newsletter.stages.select import recently_delivered

FIXTURES = FIXTURES_DIR
DAY = "2026-06-12"
HF_DAY = json.loads((FIXTURES / "hf" / f"{DAY}.json").read_bytes())
API_XML = (FIXTURES / "arxiv" / "query-transformer-cs.LG.xml").read_bytes()
RSS_XML = (FIXTURES / "arxiv" / "rss-cs.LG+cs.AI+cs.CL+stat.ML.xml").read_bytes()
ATOM_XML = (FIXTURES / "arxiv" / "atom-cs.LG-trimmed.xml").read_bytes()


def make_client(retries: int = 0) -> Http:
    return Http(
        httpx.Client(timeout=5, follow_redirects=True), retries=retries, sleep=lambda s: None
    )


def settings_for(server: HTTPServer, **arxiv: Any) -> Settings:
    s = Settings()
    s.sources.huggingface.url = server.url_for("/api/daily_papers")
    s.sources.arxiv.api_url = server.url_for("/api/query")
    s.sources.arxiv.rss_url = server.url_for("/rss")
    s.sources.arxiv.request_interval_s = 0.01
    s.sources.github.api_url = server.url_for("/gh")
    for key, value in arxiv.items():
        setattr(s.sources.arxiv, key, value)
    return s


def api_feed(*entries: str) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns="http://www.w3.org/2005/Atom"><title>arXiv Query</title>'
        + "".join(entries)
        + "</feed>"
    )


def api_entry(
    pid: str, version: str = "v1", cats: tuple[str, ...] = ("cs.CL", "cs.AI"), comment: str = ""
) -> str:
    cat_xml = "".join(
        f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in cats
    )
    extra = f"<arxiv:comment>{comment}</arxiv:comment>" if comment else ""
    return (
        f"<entry><id>http://arxiv.org/abs/{pid}{version}</id>"
        f"<title>Paper {pid}</title><summary>About {pid}.</summary>"
        "<published>2026-06-10T17:00:00Z</published><updated>2026-06-11T09:00:00Z</updated>"
        f'<link href="https://arxiv.org/abs/{pid}{version}" rel="alternate" type="text/html"/>'
        f'<link href="https://arxiv.org/pdf/{pid}{version}" rel="related" '
        'type="application/pdf" title="pdf"/>'
        f'{cat_xml}<arxiv:primary_category term="{cats[0]}"/>{extra}'
        "<author><name>A. Author</name></author></entry>"
    )


# -- Hugging Face Daily Papers ----------------------------------------------------------------


def test_daily_papers_fields_are_read_from_where_they_live(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/api/daily_papers", query_string={"date": DAY, "limit": "100"}
    ).respond_with_json(HF_DAY)
    papers = huggingface.fetch_daily(make_client(), httpserver.url_for("/api/daily_papers"), DAY)
    assert len(papers) == 30 == len({p.id for p in papers})
    by_id = {p.id: p for p in papers}
    for item in HF_DAY:
        inner, paper = item["paper"], by_id[item["paper"]["id"]]
        assert paper.upvotes == inner["upvotes"]
        assert paper.comments == item["numComments"]
        assert paper.github_stars == inner.get("githubStars")
        assert paper.github_repo == inner.get("githubRepo")
        assert paper.project_page == inner.get("projectPage")
        assert paper.ai_summary == inner["ai_summary"]
        assert paper.ai_keywords == inner["ai_keywords"]
        org = inner.get("organization") or item.get("organization")
        assert paper.organization == (org["fullname"] if org else None)
        assert paper.daily_date == DAY and paper.sources == ["huggingface"]
    assert any(p.github_stars for p in papers) and any(p.organization for p in papers)


def test_outer_organization_and_absent_keys(httpserver: HTTPServer) -> None:
    items = [
        {
            "paper": {"id": "2606.00001", "title": "Only the outer org"},
            "organization": {"name": "acme", "fullname": "ACME Research"},
            "numComments": 3,
        },
        {"paper": {"id": "2606.00002v3", "title": "Bare", "upvotes": 4}},
    ]
    httpserver.expect_request("/api/daily_papers").respond_with_json(items)
    a, b = huggingface.fetch_daily(make_client(), httpserver.url_for("/api/daily_papers"), DAY)
    assert (a.organization, a.comments, a.upvotes) == ("ACME Research", 3, None)
    assert (b.id, b.version, b.upvotes, b.organization, b.ai_keywords) == (
        "2606.00002",
        "v3",
        4,
        None,
        [],
    )


def test_daily_papers_odd_types_are_tolerated(httpserver: HTTPServer) -> None:
    items = [
        {
            "paper": {
                "id": "2606.00003",
                "title": "Odd",
                "upvotes": "7",
                "authors": 3,
                "ai_keywords": "llm",
                "organization": {"fullname": {"x": 1}, "name": "lab"},
                "githubRepo": 5,
                "projectPage": "",
            },
            "numComments": None,
        }
    ]
    httpserver.expect_request("/api/daily_papers").respond_with_json(items)
    (paper,) = huggingface.fetch_daily(make_client(), httpserver.url_for("/api/daily_papers"), DAY)
    assert (paper.upvotes, paper.authors, paper.ai_keywords, paper.organization) == (
        None,
        [],
        [],
        "lab",
    )
    assert (paper.github_repo, paper.project_page, paper.comments) == (None, None, None)


def test_daily_papers_follow_pages_while_full(httpserver: HTTPServer) -> None:
    items = [
        {"paper": {"id": f"2606.0000{i}", "title": f"P{i}", "upvotes": i}} for i in range(1, 6)
    ]
    url = httpserver.url_for("/api/daily_papers")
    httpserver.expect_request(
        "/api/daily_papers", query_string={"date": DAY, "limit": "2"}
    ).respond_with_json(items[:2])
    httpserver.expect_request(
        "/api/daily_papers", query_string={"date": DAY, "limit": "2", "p": "1"}
    ).respond_with_json(items[2:4])
    httpserver.expect_request(
        "/api/daily_papers", query_string={"date": DAY, "limit": "2", "p": "2"}
    ).respond_with_json(items[4:])
    papers = huggingface.fetch_daily(make_client(), url, DAY, limit=2)
    assert [p.upvotes for p in papers] == [1, 2, 3, 4, 5]


def test_daily_papers_error_body_is_an_empty_day_and_400_an_error(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/api/daily_papers")
    httpserver.expect_request(
        "/api/daily_papers", query_string={"date": DAY, "limit": "100"}
    ).respond_with_json({"error": "No daily papers for this date"})
    assert huggingface.fetch_daily(make_client(), url, DAY) == []
    httpserver.expect_request(
        "/api/daily_papers", query_string={"date": "2026-13-01", "limit": "100"}
    ).respond_with_json({"error": "Invalid date"}, status=400)
    with pytest.raises(SourceError, match="HTTP 400: Invalid date") as err:
        huggingface.fetch_daily(make_client(), url, "2026-13-01")
    assert err.value.source == "huggingface" and "date=2026-13-01" in err.value.url


@pytest.mark.parametrize(
    "body, status, expected",
    [
        ('[{"paper": {"id": "2606.00467", "title": "On the', 200, "expected JSON, got not JSON"),
        ("<!DOCTYPE html><html><title>Hugging Face</title></html>", 200, "got HTML"),
        ("", 200, "HTTP 200 with an empty body"),
        ('{"papers": []}', 200, "expected a JSON array, got dict"),
        ("Bad gateway", 502, "HTTP 502"),
    ],
)
def test_daily_papers_bad_bodies_name_source_and_url(
    httpserver: HTTPServer, body: str, status: int, expected: str
) -> None:
    httpserver.expect_request("/api/daily_papers").respond_with_data(body, status=status)
    url = httpserver.url_for("/api/daily_papers")
    with pytest.raises(SourceError) as err:
        huggingface.fetch_daily(make_client(), url, DAY)
    assert expected in str(err.value)
    assert str(err.value).startswith("huggingface: ") and url in str(err.value)


def test_bad_item_or_later_page_keeps_what_was_read(httpserver: HTTPServer) -> None:
    good = [{"paper": {"id": "2606.00001", "title": "Good"}}, {"paper": "?"}]
    httpserver.expect_request(
        "/api/daily_papers", query_string={"date": DAY, "limit": "2"}
    ).respond_with_json(good)
    httpserver.expect_request(
        "/api/daily_papers", query_string={"date": DAY, "limit": "2", "p": "1"}
    ).respond_with_data("[{", status=200)
    warnings: list[str] = []
    papers = huggingface.fetch_daily(
        make_client(), httpserver.url_for("/api/daily_papers"), DAY, limit=2, warnings=warnings
    )
    assert [p.id for p in papers] == ["2606.00001"]
    assert "item 1" in warnings[0] and "no 'paper' object" in warnings[0]
    assert "p=1" in warnings[1] and "kept the 1 papers" in warnings[1]


# -- arXiv API --------------------------------------------------------------------------------


def test_arxiv_api_entry_fields() -> None:
    import feedparser

    entries = [arxiv.parse_api_entry(e) for e in feedparser.parse(API_XML).entries]
    papers = [p for p in entries if p is not None]
    assert len(papers) == 5
    first = papers[0]
    assert (first.id, first.version) == ("2606.13677", "v1")
    assert first.primary_category and first.primary_category in first.categories
    assert first.pdf_link == "https://arxiv.org/pdf/2606.13677v1"
    assert first.published and first.authors


def test_arxiv_metadata_in_batches_paced(httpserver: HTTPServer) -> None:
    ids = ["2606.00001", "2606.00002", "2606.00003"]
    seen: list[str] = []

    def handler(request: Request) -> Response:
        batch = request.args["id_list"].split(",")
        seen.append(request.args["id_list"])
        known = [api_entry(pid, comment="12 pages") for pid in batch if pid != "2606.00003"]
        return Response(api_feed(*known), content_type="application/atom+xml")

    httpserver.expect_request("/api/query").respond_with_handler(handler)
    sleeps: list[float] = []
    # A clock that stands still: each wait is exactly what the pacing asks for.
    http = Http(httpx.Client(timeout=5), retries=0, sleep=sleeps.append, clock=lambda: 0.0)
    found = arxiv.fetch_metadata(
        http, httpserver.url_for("/api/query"), ids, batch_size=2, interval_s=3.0
    )
    assert seen == ["2606.00001,2606.00002", "2606.00003"]
    assert sorted(found) == ["2606.00001", "2606.00002"]
    assert found["2606.00001"].comment == "12 pages"
    assert found["2606.00001"].categories == ["cs.CL", "cs.AI"]
    assert sleeps == [3.0]  # one request per interval


def test_arxiv_429_then_200(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/api/query").respond_with_data(
        "Rate exceeded.", status=429, headers={"Retry-After": "2"}
    )
    httpserver.expect_ordered_request("/api/query").respond_with_data(
        api_feed(api_entry("2606.00001", "v2")), content_type="application/atom+xml"
    )
    sleeps: list[float] = []
    http = Http(httpx.Client(timeout=5), retries=3, sleep=sleeps.append, clock=lambda: 0.0)
    found = arxiv.fetch_metadata(
        http, httpserver.url_for("/api/query"), ["2606.00001"], interval_s=0
    )
    assert found["2606.00001"].version == "v2"
    assert sleeps == [2.0]


def test_arxiv_failed_batch_is_a_warning(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/query").respond_with_data("<html>oops</html>")
    warnings: list[str] = []
    found = arxiv.fetch_metadata(
        make_client(),
        httpserver.url_for("/api/query"),
        ["2606.00001"],
        interval_s=0,
        warnings=warnings,
    )
    assert found == {}
    assert "not an RSS/Atom feed" in warnings[0] and "/api/query" in warnings[0]


# -- arXiv RSS and other feeds ---------------------------------------------------------------


def test_rss_keeps_the_configured_announce_types(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/rss/cs.LG+cs.AI").respond_with_data(
        RSS_XML, content_type="application/rss+xml"
    )
    url = httpserver.url_for("/rss")
    every = arxiv_rss.fetch_rss(
        make_client(),
        url,
        ["cs.LG", "cs.AI"],
        ["new", "cross", "replace", "replace-cross"],
        interval_s=0,
    )
    new = arxiv_rss.fetch_rss(make_client(), url, ["cs.LG", "cs.AI"], ["new"], interval_s=0)
    assert len(every) == 4
    assert 0 < len(new) < len(every)
    assert all(p.upvotes is None and p.abstract and p.categories for p in every)
    assert not any(p.abstract.startswith("arXiv:") for p in every)


def test_atom_variant_is_read_too(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/rss/cs.LG").respond_with_data(
        ATOM_XML, content_type="application/atom+xml"
    )
    papers = arxiv_rss.fetch_rss(
        make_client(), httpserver.url_for("/rss"), ["cs.LG"], ["new", "cross"], interval_s=0
    )
    assert {p.id for p in papers} >= {"2609.28553", "2402.10149"}
    first = next(p for p in papers if p.id == "2609.28553")
    assert first.authors[:2] == ["Quang Minh Nguyen", "Thuy Quynh Nguyen"]
    assert len(first.authors) == 6
    assert first.doi == "10.1109/MAPR72750.2026.11685822"
    assert first.journal_ref and first.journal_ref.startswith("2026 International Conference")
    assert first.published == "2026-09-25T04:00:00+00:00"
    assert first.abstract.startswith("Drug toxicity prediction")


def test_feed_error_names_the_bad_category(httpserver: HTTPServer) -> None:
    error_feed = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Feed error for query: cs.LG+cs.XX</title></feed>"
    )
    httpserver.expect_request("/rss/cs.LG+cs.XX").respond_with_data(error_feed)
    httpserver.expect_request("/rss/cs.XX").respond_with_data(error_feed)
    httpserver.expect_request("/rss/cs.LG").respond_with_data(ATOM_XML)
    warnings: list[str] = []
    papers = arxiv_rss.fetch_rss(
        make_client(),
        httpserver.url_for("/rss"),
        ["cs.LG", "cs.XX"],
        ["new", "cross"],
        warnings=warnings,
        interval_s=0,
    )
    assert papers  # the good category is still read
    assert len(warnings) == 1 and "category cs.XX" in warnings[0]
    with pytest.raises(SourceError, match="no feed for category cs.XX"):
        arxiv_rss.fetch_rss(
            make_client(), httpserver.url_for("/rss"), ["cs.XX"], ["new"], interval_s=0
        )


@pytest.mark.parametrize("body", ["this is not xml", "<html><title>Login</title></html>", ""])
def test_feed_that_is_not_a_feed(httpserver: HTTPServer, body: str) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(body)
    with pytest.raises(SourceError) as err:
        feeds.fetch_feed(make_client(), "lab", httpserver.url_for("/feed.xml"))
    assert err.value.source == "feed:lab" and err.value.url.endswith("/feed.xml")
    assert "feed" in err.value.problem


def test_generic_feed_keeps_items_that_link_arxiv(httpserver: HTTPServer) -> None:
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Lab picks</title>'
        "<item><title>A paper</title><link>https://arxiv.org/abs/2606.00007v2</link>"
        "<description>Nice.</description></item>"
        "<item><title>A blog post</title><link>https://blog.example/post</link></item>"
        "</channel></rss>"
    )
    httpserver.expect_request("/picks.xml").respond_with_data(rss)
    papers = feeds.fetch_feed(make_client(), "picks", httpserver.url_for("/picks.xml"))
    assert [(p.id, p.version, p.sources) for p in papers] == [("2606.00007", "v2", ["feed:picks"])]


def test_generic_atom_feed_with_html_summary_and_several_authors(httpserver: HTTPServer) -> None:
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Lab</title>'
        "<entry><id>tag:lab,2026:1</id><title>Routing</title>"
        '<link href="https://arxiv.org/pdf/2606.00009v1"/>'
        "<author><name>Ada Lovelace</name></author><author><name>Alan Turing</name></author>"
        '<summary type="html">&lt;p&gt;We route &amp;amp; &lt;b&gt;skip&lt;/b&gt;.&lt;/p&gt;'
        "</summary><updated>2026-06-12T08:00:00Z</updated></entry></feed>"
    )
    httpserver.expect_request("/lab.atom").respond_with_data(atom)
    (paper,) = feeds.fetch_feed(make_client(), "lab", httpserver.url_for("/lab.atom"))
    assert (paper.id, paper.authors, paper.abstract, paper.published) == (
        "2606.00009",
        ["Ada Lovelace", "Alan Turing"],
        "We route & skip.",
        "2026-06-12T08:00:00+00:00",
    )


# -- merge, GitHub, the whole collect --------------------------------------------------------


def test_merge_dedupes_by_id_and_arxiv_wins_its_fields() -> None:
    hf = Paper(id="2606.00001", version=None, title="T", upvotes=5, sources=["huggingface"])
    rss = Paper(
        id="2606.00001", version="v1", title="T", categories=["cs.LG"], sources=["arxiv-rss"]
    )
    api = Paper(
        id="2606.00001",
        version="v2",
        title="T (api)",
        categories=["cs.CL", "cs.LG"],
        primary_category="cs.CL",
        sources=["arxiv"],
    )
    for other in (rss, api):
        merge(hf, other)
    assert (hf.version, hf.categories, hf.primary_category, hf.upvotes, hf.title) == (
        "v2",
        ["cs.CL", "cs.LG"],
        "cs.CL",
        5,
        "T",
    )
    assert hf.sources == ["arxiv", "arxiv-rss", "huggingface"]


def test_github_stars_filled_with_token_and_failures_left_unknown(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_GH_TOKEN", "sekret")
    auth: list[str] = []

    def repo(request: Request) -> Response:
        auth.append(request.headers.get("Authorization", ""))
        return Response(json.dumps({"stargazers_count": 321}), content_type="application/json")

    httpserver.expect_request("/gh/repos/org/good").respond_with_handler(repo)
    httpserver.expect_request("/gh/repos/org/gone").respond_with_data("", status=404)
    papers = [
        Paper(id="2606.00001", title="a", github_repo="https://github.com/org/good"),
        Paper(id="2606.00002", title="b", github_repo="https://github.com/org/gone"),
        Paper(id="2606.00003", title="c", github_repo="https://github.com/org/x", github_stars=7),
    ]
    warnings = github.fill_stars(make_client(), httpserver.url_for("/gh"), papers, "sekret", 2)
    assert [p.github_stars for p in papers] == [321, None, 7]
    assert auth == ["Bearer sekret"]
    assert len(warnings) == 1 and "2606.00002" in warnings[0] and "HTTP 404" in warnings[0]


def test_github_rate_limit_stops_asking(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gh/repos/org/r0").respond_with_data(
        "{}", status=403, headers={"X-RateLimit-Remaining": "0"}
    )
    papers = [
        Paper(id=f"2606.0000{i}", title="t", github_repo=f"https://github.com/org/r{i}")
        for i in range(5)
    ]
    warnings = github.fill_stars(make_client(), httpserver.url_for("/gh"), papers, "", 1)
    assert len(httpserver.log) == 1
    assert "rate limit spent" in warnings[0] and "4 more repositories" in warnings[-1]


def test_github_bug_is_not_turned_into_stars_unknown(httpserver: HTTPServer) -> None:
    http = make_client()
    http.close()  # a programming error (a closed client), not a GitHub failure
    papers = [Paper(id="2606.00001", title="a", github_repo="https://github.com/org/good")]
    with pytest.raises(RuntimeError, match="closed"):
        github.fill_stars(http, httpserver.url_for("/gh"), papers, "", 1)


def test_collect_papers_merges_every_source(httpserver: HTTPServer) -> None:
    items = [
        {
            "paper": {
                "id": "2606.00001",
                "title": "Known",
                "upvotes": 9,
                "githubRepo": "https://github.com/org/known",
            },
            "numComments": 1,
        },
        {
            "paper": {
                "id": "2606.00002",
                "title": "Lagging",
                "upvotes": 3,
                "summary": "From Daily Papers.",
            }
        },
    ]
    httpserver.expect_request("/api/daily_papers").respond_with_json(items)
    httpserver.expect_request("/rss/cs.LG").respond_with_data(ATOM_XML)

    def api(request: Request) -> Response:
        ids = request.args["id_list"].split(",")
        return Response(api_feed(*(api_entry(i) for i in ids if i != "2606.00002")))

    httpserver.expect_request("/api/query").respond_with_handler(api)
    httpserver.expect_request("/gh/repos/org/known").respond_with_json({"stargazers_count": 42})
    settings = settings_for(httpserver, categories=["cs.LG"])
    # The Atom fixture is the listing dated Friday 2026-09-25.
    friday = date(2026, 9, 25)
    papers, warnings = collect_papers(settings, make_client(), friday, progress=lambda m: None)
    by_id = {p.id: p for p in papers}
    known, lagging = by_id["2606.00001"], by_id["2606.00002"]
    assert (known.upvotes, known.github_stars, known.categories, known.version) == (
        9,
        42,
        ["cs.CL", "cs.AI"],
        "v1",
    )
    assert "huggingface" in known.sources and "arxiv" in known.sources
    assert (lagging.upvotes, lagging.abstract, lagging.categories) == (3, "From Daily Papers.", [])
    assert "2609.28553" in by_id and by_id["2609.28553"].upvotes is None
    assert any("no metadata for 2606.00002" in w for w in warnings)


# -- dedupe against recent editions ----------------------------------------------------------


def test_recently_delivered_looks_back_dedupe_days(tmp_path: Path) -> None:
    settings = Settings()
    settings.storage.data_dir = str(tmp_path)
    settings.edition.dedupe_days = 3
    for day, pid in [
        ("2026-06-11", "2606.00001"),
        ("2026-06-09", "2606.00002"),
        ("2026-06-08", "2606.00003"),
        ("2026-06-12", "2606.00004"),
    ]:
        sel = Selection(
            date=day,
            method="heuristic",
            papers=[Selected(id=pid, kind="ranked", reason="upvotes", rank=1)],
        )
        write_model(settings.layout.edition(day).selection, sel)
    assert recently_delivered(settings, "2026-06-12") == {"2606.00001", "2606.00002"}
    settings.edition.dedupe_days = 0
    assert recently_delivered(settings, "2026-06-12") == set()


@pytest.mark.parametrize(
    "url, slug",
    [
        ("https://github.com/org/repo", "org/repo"),
        ("https://github.com/org/repo.git", "org/repo"),
        ("https://github.com/org/repo/tree/main/src", "org/repo"),
        ("http://www.github.com/Org-1/re.po/?tab=readme#x", "Org-1/re.po"),
        ("https://gitlab.com/org/repo", None),
        ("https://github.com/org", None),
    ],
)
def test_repo_slug(url: str, slug: str | None) -> None:
    assert github.repo_slug(url) == slug
