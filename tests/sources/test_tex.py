"""TeX in titles and abstracts leaves the collectors as readable text, and so reaches the email.

The arXiv answers are real (tests/fixtures/arxiv/tex-metadata.xml); Daily Papers copies their
titles and abstracts, TeX included, as it does.
"""

from __future__ import annotations

from datetime import date

import feedparser
import httpx
from pytest_httpserver import HTTPServer
from support import FIXTURES
from support.render_edition import load_cards

from newsletter.config import Settings
from newsletter.http import Http
from newsletter.models import Paper
from newsletter.render import Renderer
from newsletter.sources import collect_papers

DAY = "2026-06-12"
TEX_XML = (FIXTURES / "arxiv" / "tex-metadata.xml").read_bytes()
LEFTOVERS = ("\\textbf", "\\textit", "$\\", "$^", "--", "~")


def daily_papers() -> list[dict[str, object]]:
    """The Daily Papers items of the fixture's papers: arXiv's title and abstract, as HF has
    them (GF-DiT without an abstract: the arXiv API fills it in)."""
    items = []
    for entry in feedparser.parse(TEX_XML).entries:
        pid = entry.id.rsplit("/", 1)[1].removesuffix("v1")
        paper = {"id": pid, "title": entry.title, "upvotes": 3}
        if entry.get("summary") and pid != "2606.13501":
            paper["summary"] = entry.summary
        items.append({"paper": paper})
    return items


def collect(server: HTTPServer) -> dict[str, Paper]:
    server.expect_request("/api/daily_papers").respond_with_json(daily_papers())
    server.expect_request("/api/query").respond_with_data(TEX_XML, content_type="text/xml")
    s = Settings()
    s.sources.huggingface.url = server.url_for("/api/daily_papers")
    s.sources.arxiv.api_url = server.url_for("/api/query")
    s.sources.arxiv.request_interval_s = 0
    s.sources.github.enabled = False
    http = Http(httpx.Client(timeout=5), retries=0, sleep=lambda s: None)
    papers, _ = collect_papers(s, http, date.fromisoformat(DAY), progress=lambda m: None)
    return {p.id: p for p in papers}


def test_tex_from_the_sources_becomes_readable_unicode(httpserver: HTTPServer) -> None:
    papers = collect(httpserver)
    assert papers["2507.08798"].title.endswith("CMB lensing from ACT DR6 and Planck PR4")
    assert papers["2501.07409"].title == "On the inverse stability of zⁿ+c."
    assert papers["2408.06155"].title == (
        "Testing the flux tube expansion factor – solar wind speed relation with Solar Orbiter data"
    )
    ssb = papers["2512.05105"].abstract
    assert "we propose Semantic Soft Bootstrapping (SSB), a self-distillation" in ssb
    # Plain text around the TeX is left alone: a percent sign is not a TeX comment here.
    assert "Our experiments show a jump of 10.6%, and 10% improvements in accuracy" in ssb
    assert ssb.endswith("https://huggingface.co/purbeshmitra/semantic-soft-bootstrapping.")
    gf = papers["2606.13501"].abstract
    assert "improves throughput by up to 6.01×, reduces mean latency by up to 95%, lowers" in gf
    assert "from 778 ms to approximately 60 μs." in gf
    for paper in papers.values():
        for text in (paper.title, paper.abstract):
            assert not any(t in text for t in LEFTOVERS), text


def test_the_email_shows_the_collected_text(httpserver: HTTPServer) -> None:
    papers = collect(httpserver)
    card = load_cards()[0]
    paper = papers["2512.05105"]
    card = card.model_copy(update={"paper": paper})
    card.analysis.analyzer = "offline"
    card.analysis.analysis.core_idea = paper.abstract
    out = Renderer("en", "AI Paper Digest").render(DAY, [card], None, DAY, nonce="0" * 12)
    for part in (out.html, out.text):
        assert "Semantic Soft Bootstrapping (SSB)" in part
        assert "\\textbf" not in part and "$\\" not in part
