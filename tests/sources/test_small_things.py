"""Details seen on real data: one GitHub request per repository, one link for a project page
that is the repository, arXiv errors named even with HTTP 400, comments on one line."""

from __future__ import annotations

from datetime import date

import httpx
from pytest_httpserver import HTTPServer

from newsletter.config import Settings
from newsletter.http import Http
from newsletter.models import Paper
from newsletter.sources import arxiv, collect_papers, github, same_link

# The arXiv API's answer to a malformed id, as its manual shows it.
ERROR_FEED = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom" '
    'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
    "<title>ArXiv Query: search_query=&amp;id_list=1234.12345</title>"
    "<opensearch:totalResults>1</opensearch:totalResults>"
    "<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>"
    "<title>Error</title><summary>incorrect id format for 1234.12345</summary>"
    "<author><name>arXiv api core</name></author></entry></feed>"
)


def client() -> Http:
    return Http(httpx.Client(timeout=5), retries=0, sleep=lambda s: None)


def test_an_arxiv_error_entry_is_named_even_with_http_400(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/query").respond_with_data(
        ERROR_FEED, status=400, content_type="application/atom+xml"
    )
    warnings: list[str] = []
    found = arxiv.fetch_metadata(
        client(), httpserver.url_for("/api/query"), ["1234.12345"], interval_s=0, warnings=warnings
    )
    assert found == {}
    assert "arxiv: HTTP 400: incorrect id format for 1234.12345" in warnings[0]


def test_an_arxiv_comment_is_one_line_like_a_title(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/query").respond_with_data(
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'
        "<entry><id>http://arxiv.org/abs/2606.00001v2</id><title>A\n   title</title>"
        "<arxiv:comment>12 pages,\n      5 figures;\taccepted at\n  ACL 2026</arxiv:comment>"
        "<arxiv:journal_ref>Proc.\n   ACL</arxiv:journal_ref></entry></feed>",
        content_type="application/atom+xml",
    )
    found = arxiv.fetch_metadata(
        client(), httpserver.url_for("/api/query"), ["2606.00001"], interval_s=0
    )
    paper = found["2606.00001"]
    assert (paper.title, paper.comment, paper.journal_ref) == (
        "A title",
        "12 pages, 5 figures; accepted at ACL 2026",
        "Proc. ACL",
    )


def test_github_is_asked_once_per_repository(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gh/repos/org/shared").respond_with_json({"stargazers_count": 9})
    papers = [
        Paper(id="2606.00001", title="a", github_repo="https://github.com/org/shared"),
        Paper(id="2606.00002", title="b", github_repo="https://github.com/Org/Shared/tree/main"),
        Paper(id="2606.00003", title="c", github_repo="https://github.com/org/shared.git"),
    ]
    warnings = github.fill_stars(client(), httpserver.url_for("/gh"), papers)
    assert warnings == [] and [p.github_stars for p in papers] == [9, 9, 9]
    assert len(httpserver.log) == 1


def test_a_failing_shared_repository_names_every_paper_once(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gh/repos/org/gone").respond_with_data("", status=404)
    papers = [
        Paper(id=f"2606.0000{i}", title="t", github_repo="https://github.com/org/gone")
        for i in (1, 2)
    ]
    warnings = github.fill_stars(client(), httpserver.url_for("/gh"), papers)
    assert len(httpserver.log) == 1 and len(warnings) == 1
    assert warnings[0].startswith("2606.00001, 2606.00002: stars unknown: github: HTTP 404")


def test_a_project_page_that_is_the_repository_is_shown_once(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/daily_papers").respond_with_json(
        [
            {
                "paper": {
                    "id": "2606.00001",
                    "title": "Same link twice",
                    "githubRepo": "https://github.com/org/tool",
                    "githubStars": 3,
                    "projectPage": "http://www.github.com/org/tool/",
                }
            },
            {
                "paper": {
                    "id": "2606.00002",
                    "title": "Own page",
                    "githubRepo": "https://github.com/org/other",
                    "githubStars": 1,
                    "projectPage": "https://org.github.io/other/",
                }
            },
        ]
    )
    s = Settings()
    s.sources.huggingface.url = httpserver.url_for("/api/daily_papers")
    s.sources.arxiv.enabled = False
    papers, _ = collect_papers(s, client(), date(2026, 6, 12), lambda m: None)
    by_id = {p.id: p for p in papers}
    assert by_id["2606.00001"].project_page is None
    assert by_id["2606.00001"].github_repo == "https://github.com/org/tool"
    assert by_id["2606.00002"].project_page == "https://org.github.io/other/"
    assert not same_link("https://github.com/org/tool", None)
