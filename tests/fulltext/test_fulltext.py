"""Full text for analysis: LaTeXML HTML, then a generated PDF, then the abstract."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from pathlib import Path

import httpx
import pytest
from fpdf import FPDF
from pytest_httpserver import HTTPServer
from support import FIXTURES as FIXTURES_DIR
from werkzeug import Request, Response

from newsletter.config import Settings
from newsletter.fulltext import fetch_fulltext
from newsletter.fulltext.html import latexml_to_text
from newsletter.fulltext.pdf import PdfError, pdf_to_text
from newsletter.http import Http
from newsletter.models import Paper

PAGE = (FIXTURES_DIR / "latexml" / "2606.00001v2.html").read_bytes()
ABSTRACT = (
    "Agents that read long contexts spend most of their compute on tokens they never "
    "use. We route each query to a few memory blocks."
)
PARA = (
    "Sparse routing sends each query to the memory blocks that matter and skips the rest, "
    "which keeps accuracy while cutting the latency of long-context agents. "
) * 4


def make_pdf(sections: list[tuple[str, list[str]]]) -> bytes:
    """A small paper-like PDF: title, sections with paragraphs, references at the end."""
    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 7, "Sparse Routing for Long-Context Agents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, "Ada Lovelace, Alan Turing", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for heading, paragraphs in sections:
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        for text in paragraphs:
            pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    return bytes(pdf.output())


PAPER_PDF = make_pdf(
    [
        ("Abstract", [ABSTRACT]),
        ("1 Introduction", [PARA, "Long contexts are costly. " + PARA]),
        ("2 Method", [PARA]),
        ("2.1 Training", [PARA]),
        ("3 Results", [PARA]),
        ("References", ["[1] A. Vaswani et al. Attention is all you need. NeurIPS 2017."]),
    ]
)


def paper(pid: str = "2606.00001", version: str | None = "v2") -> Paper:
    return Paper(
        id=pid, version=version, title="Sparse Routing for Long-Context Agents", abstract=ABSTRACT
    )


def setup(
    server: HTTPServer,
    tmp_path: Path | None = None,
    max_bytes: int = 25_000_000,
    timeout: float = 5.0,
) -> tuple[Http, Settings]:
    settings = Settings()
    settings.sources.arxiv.html_url = server.url_for("/html")
    settings.sources.arxiv.pdf_url = server.url_for("/pdf")
    settings.sources.arxiv.fulltext_interval_s = 0
    http = Http(
        httpx.Client(timeout=timeout, follow_redirects=True),
        retries=0,
        max_bytes=max_bytes,
        cache_dir=tmp_path / "cache" if tmp_path else None,
        sleep=lambda s: None,
    )
    return http, settings


# -- LaTeXML ----------------------------------------------------------------------------------


def test_latexml_page_becomes_sectioned_text() -> None:
    text = latexml_to_text(PAGE)
    blocks = text.strip().split("\n\n")
    assert blocks[0] == "# Sparse Routing for Long-Context Agents"
    assert blocks[1] == "## Abstract"
    assert blocks[2].startswith("Agents that read long contexts") and "$k$ of $n$" in blocks[2]
    headings = [b for b in blocks if b.startswith("#")]
    assert headings == [
        "# Sparse Routing for Long-Context Agents",
        "## Abstract",
        "## 1 Introduction",
        "## 2 Method",
        "### 2.1 Training",
        "#### Warm start.",
        "## 3 Results",
        "## Appendix A Hyperparameters",
    ]
    assert "- a router trained with no extra labels;" in blocks
    assert "$$s_{i}=q^{\\top}W b_{i}$$" in blocks
    assert "Figure 1: Latency against context length for dense and sparse routing." in blocks
    table = blocks.index("Table 1: Accuracy and latency on LongAgentBench.")
    assert blocks[table + 1].splitlines() == [
        "Method | Acc. (%) | Latency (s)",
        "Dense | 71.2 | 9.3",
        "Ours ($k=8$) | 71.5 | 3.0",
    ]
    assert (
        "Long-context models (Vaswani et al., 2017) attend to every token. Our "
        "contributions are:" in blocks
    )


def test_latexml_wrapped_tables_algorithms_and_theorems() -> None:
    blocks = latexml_to_text(PAGE).strip().split("\n\n")
    caption = blocks.index("Table 2: Accuracy as the number of routed blocks grows.")
    assert blocks[caption + 1].splitlines() == [
        "Blocks $k$ | 4 | 8 | 16",
        "Acc. (%) | 68.0 | 71.5 | 71.6",
    ]
    algorithm = blocks.index("Algorithm 1 Sparse routing")
    assert blocks[algorithm + 1].splitlines() == [
        "1: for each query $q$ do",
        "2: keep the top-$k$ blocks",
    ]
    proposition = blocks.index("Proposition 1.")
    assert blocks[proposition + 1] == "Routing never reads more than $k/n$ of the memory."


@pytest.mark.parametrize(
    "dropped",
    [
        "References",
        "Attention is all you need",
        "Report Github Issue",
        "Report issue",
        "\\foo",
        "experimental HTML",
        "License: CC BY 4.0",
        "Back to arXiv",
        "internship",
        "github.com/example",
        "failed: wrapfig",
        "Ada Lovelace",
        "Generated on",
        "(1)",
        "Submit without Github",
        "closePopup",
        "ltx_",
    ],
)
def test_latexml_drops_chrome_references_and_errors(dropped: str) -> None:
    assert dropped not in latexml_to_text(PAGE)


def test_latexml_paragraphs_are_single_lines_separated_by_one_blank_line() -> None:
    text = latexml_to_text(PAGE)
    assert "\n\n\n" not in text
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        if not all(" | " in line or re.match(r"\d+: ", line) for line in lines):
            assert len(lines) == 1, block  # only tables and listings span lines
        assert block == block.strip() and "  " not in block


def test_lxml_backend_gives_the_same_text() -> None:
    assert latexml_to_text(PAGE, "lxml") == latexml_to_text(PAGE, "selectolax")


# -- PDF --------------------------------------------------------------------------------------


def test_generated_pdf_becomes_sectioned_text() -> None:
    text = pdf_to_text(PAPER_PDF, "Sparse Routing for Long-Context Agents", ABSTRACT)
    blocks = text.strip().split("\n\n")
    assert blocks[:2] == ["# Sparse Routing for Long-Context Agents", "## Abstract"]
    assert blocks[2].startswith("Agents that read long contexts")
    headings = [b for b in blocks if b.startswith("#")]
    assert headings[2:] == ["## 1 Introduction", "## 2 Method", "### 2.1 Training", "## 3 Results"]
    assert "Attention is all you need" not in text  # references cut
    assert "Ada Lovelace" not in text  # front matter replaced by the abstract
    assert any(b.startswith("Long contexts are costly.") for b in blocks)
    assert all("\n" not in b for b in blocks)


def test_not_a_pdf_is_a_clear_error() -> None:
    with pytest.raises(PdfError, match="not a PDF \\(starts '<!DOCTYPE html>"):
        pdf_to_text(b"<!DOCTYPE html><html>captcha</html>", "t")
    with pytest.raises(PdfError, match="unreadable PDF"):
        pdf_to_text(b"%PDF-1.7\n garbage that is no PDF at all", "t")


# -- fetch_fulltext ---------------------------------------------------------------------------


def test_html_is_used_and_cached_by_version(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/html/2606.00001v2").respond_with_data(
        PAGE, content_type="text/html; charset=utf-8"
    )
    http, settings = setup(httpserver, tmp_path)
    record, text = fetch_fulltext(http, settings, paper())
    assert record.source == "html" and record.note is None
    assert record.url == httpserver.url_for("/html/2606.00001v2")
    assert record.chars == len(text) and text.startswith("# Sparse Routing")
    assert record.sha256 == hashlib.sha256(text.encode()).hexdigest()
    again, text_again = fetch_fulltext(http, settings, paper())
    assert (again, text_again) == (record, text)
    assert len(httpserver.log) == 1  # the second came from the on-disk cache


def test_unversioned_paper_is_not_cached(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/html/2606.00001").respond_with_data(PAGE)
    http, settings = setup(httpserver, tmp_path)
    for _ in range(2):
        assert fetch_fulltext(http, settings, paper(version=None))[0].source == "html"
    assert len(httpserver.log) == 2


def test_no_html_falls_back_to_the_pdf(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/html/2606.00001v2").respond_with_data(
        "<html><body><h1>No HTML for '2606.00001v2'</h1></body></html>", status=404
    )
    httpserver.expect_request("/pdf/2606.00001v2").respond_with_data(
        PAPER_PDF, content_type="application/pdf"
    )
    http, settings = setup(httpserver)
    with caplog.at_level(logging.WARNING):
        record, text = fetch_fulltext(http, settings, paper())
    assert record.source == "pdf" and record.url.endswith("/pdf/2606.00001v2")
    assert record.note == "html: HTTP 404, none published"
    assert "## 2 Method" in text
    assert "2606.00001" in caplog.text and "/html/2606.00001v2" in caplog.text


def test_html_that_is_not_latexml_falls_back(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/html/2606.00001v2").respond_with_data(
        "<!DOCTYPE html><html><body>Conversion failed</body></html>"
    )
    httpserver.expect_request("/pdf/2606.00001v2").respond_with_data(PAPER_PDF)
    http, settings = setup(httpserver)
    record, _ = fetch_fulltext(http, settings, paper())
    assert record.source == "pdf" and "not a LaTeXML page" in (record.note or "")


@pytest.mark.parametrize(
    "pdf_body, why",
    [
        (b"<!DOCTYPE html><html>Are you a robot?</html>", "pdf: not a PDF"),
        (b"", "pdf: HTTP 200 with an empty body"),
        (b"%PDF-1.4\nthis is not really a pdf", "pdf: unreadable PDF"),
    ],
)
def test_bad_pdf_falls_back_to_the_abstract_and_says_so(
    httpserver: HTTPServer, pdf_body: bytes, why: str
) -> None:
    httpserver.expect_request("/html/2606.00001v2").respond_with_data("", status=404)
    httpserver.expect_request("/pdf/2606.00001v2").respond_with_data(pdf_body)
    http, settings = setup(httpserver)
    record, text = fetch_fulltext(http, settings, paper())
    assert record.source == "abstract" and record.url == "https://arxiv.org/abs/2606.00001"
    assert record.note is not None and why in record.note and "html: HTTP 404" in record.note
    assert text == f"# {paper().title}\n\n## Abstract\n\n{ABSTRACT}\n"


def test_oversized_pdf_and_html_timeout_fall_back() -> None:
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(30)  # answers only after the test: the client must give up on its own
        return Response(PAGE)

    server = HTTPServer(threaded=True)  # the held answer must not hold up the next request
    server.start()
    server.expect_request("/html/2606.00001v2").respond_with_handler(slow)
    server.expect_request("/pdf/2606.00001v2").respond_with_data(PAPER_PDF + b"\n%" + b"0" * 60_000)
    # The timeout also bounds the PDF request, which must get through: generous, not tight.
    http, settings = setup(server, max_bytes=50_000, timeout=1.5)
    try:
        record, _ = fetch_fulltext(http, settings, paper())
    finally:
        release.set()
        server.clear()
        server.stop()
    assert record.source == "abstract"
    note = record.note or ""
    assert re.search(r"html: timed out", note) and "over the 50,000-byte limit" in note


def test_scanned_pdf_without_text_falls_back(httpserver: HTTPServer) -> None:
    blank = FPDF()
    blank.add_page()
    httpserver.expect_request("/html/2606.00001v2").respond_with_data("", status=404)
    httpserver.expect_request("/pdf/2606.00001v2").respond_with_data(bytes(blank.output()))
    http, settings = setup(httpserver)
    record, _ = fetch_fulltext(http, settings, paper())
    assert record.source == "abstract" and "no text layer" in (record.note or "")


def test_fulltext_downloads_are_paced_but_cache_hits_are_not(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    for pid in ("2606.00001", "2606.00002"):
        httpserver.expect_request(f"/html/{pid}v2").respond_with_data(PAGE)
    settings = Settings()
    settings.sources.arxiv.html_url = httpserver.url_for("/html")
    settings.sources.arxiv.fulltext_interval_s = 2.0
    sleeps: list[float] = []
    http = Http(
        httpx.Client(timeout=5),
        retries=0,
        cache_dir=tmp_path,
        sleep=sleeps.append,
        clock=lambda: 0.0,
    )  # a clock that stands still: the wait is exactly the interval
    for pid in ("2606.00001", "2606.00002", "2606.00001"):
        assert fetch_fulltext(http, settings, paper(pid))[0].source == "html"
    assert sleeps == [2.0]


def test_pdf_running_headers_and_page_numbers_are_dropped() -> None:
    class Paged(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, "Preprint. Under review.", new_x="LMARGIN", new_y="NEXT")

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, str(self.page_no()), align="C")

    pdf = Paged()
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for section in range(1, 7):
        pdf.multi_cell(0, 6, f"{section} Part {section}", new_x="LMARGIN", new_y="NEXT")
        for k in range(6):
            pdf.multi_cell(0, 5, f"Paragraph {section}.{k}: " + PARA, new_x="LMARGIN", new_y="NEXT")
    assert pdf.page_no() >= 3
    text = pdf_to_text(bytes(pdf.output()), "T", ABSTRACT)
    assert "Preprint. Under review." not in text
    assert not re.search(r"^\d+$", text, re.MULTILINE)
    assert "## 6 Part 6" in text and "Paragraph 6.5:" in text


def test_a_captcha_page_served_as_the_pdf_is_not_cached(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/html/2606.00001v2").respond_with_data("", status=404)
    answers = [
        Response("<!DOCTYPE html><html>Too many requests</html>", content_type="text/html"),
        Response(PAPER_PDF),
    ]
    httpserver.expect_request("/pdf/2606.00001v2").respond_with_handler(
        lambda request: answers.pop(0)
    )
    http, settings = setup(httpserver, tmp_path)
    assert fetch_fulltext(http, settings, paper())[0].source == "abstract"
    assert fetch_fulltext(http, settings, paper())[0].source == "pdf"
    assert fetch_fulltext(http, settings, paper())[0].source == "pdf"  # now from the cache
    assert http.cache_hits == 1


def test_fulltexts_record_then_replay(httpserver: HTTPServer, tmp_path: Path) -> None:
    from newsletter.http import make_http

    httpserver.expect_request("/html/2606.00001v2").respond_with_data(PAGE)
    httpserver.expect_request("/html/2606.00002v1").respond_with_data("", status=404)
    httpserver.expect_request("/pdf/2606.00002v1").respond_with_data(
        PAPER_PDF, content_type="application/pdf"
    )
    _, settings = setup(httpserver)
    papers = [paper(), paper("2606.00002", "v1")]
    with make_http(record=tmp_path / "rec", retries=0, cache_dir=tmp_path / "cache") as http:
        live = [fetch_fulltext(http, settings, p) for p in papers]
    httpserver.clear()
    with make_http(replay=tmp_path / "rec") as http:
        again = [fetch_fulltext(http, settings, p) for p in papers]
    assert [r.source for r, _ in live] == ["html", "pdf"]
    assert again == live
    assert len(httpserver.log) == 0
    assert not (tmp_path / "cache").exists()  # a recording run bypasses the cache


def test_pdf_lines_that_only_look_like_headings_stay_text() -> None:
    body = make_pdf(
        [
            ("1 Introduction", [PARA]),
            ("2 Method", ["7 Billion Parameters Are Enough", PARA]),
            ("2.1 Training", [PARA]),
            ("3 Results", ["2021 Was A Good Year For Routing", PARA]),
        ]
    )
    text = pdf_to_text(body, "T", ABSTRACT)
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# T",
        "## Abstract",
        "## 1 Introduction",
        "## 2 Method",
        "### 2.1 Training",
        "## 3 Results",
    ]
    assert "7 Billion Parameters Are Enough" in text


def test_html_without_title_or_abstract_gets_them_from_the_paper(httpserver: HTTPServer) -> None:
    page = PAGE.decode()
    page = re.sub(r'<h1 class="ltx_title ltx_title_document">.*?</h1>', "", page, flags=re.S)
    page = re.sub(r'<div class="ltx_abstract">.*?</div>', "", page, count=1, flags=re.S)
    httpserver.expect_request("/html/2606.00001v2").respond_with_data(page)
    http, settings = setup(httpserver)
    record, text = fetch_fulltext(http, settings, paper())
    assert record.source == "html"
    assert text.startswith(f"# {paper().title}\n\n## Abstract\n\n{ABSTRACT}\n\n## 1 Introduction")


@pytest.mark.parametrize("parser", ["selectolax", "lxml"])
def test_latexml_odd_pages(parser: str) -> None:
    assert latexml_to_text("", parser) == ""
    assert latexml_to_text("<html><body></body></html>", parser) == ""
    odd = (
        "<article class='ltx_document'><table class='ltx_tabular'></table><ul><li></li></ul>"
        "<figure></figure><p>a <math><mi>x</mi><mo>+</mo><mn>1</mn></math> b</p>"
        "<table class='ltx_equation'><tr><td><math><mi>y</mi></math></td></tr></table>"
        "</article>"
    )
    assert latexml_to_text(odd, parser) == "a $x+1$ b\n\n$$y$$\n"


def test_a_page_nested_too_deeply_falls_back(httpserver: HTTPServer) -> None:
    deep = "<article class='ltx_document'>" + "<div>" * 5000 + "x" + "</div>" * 5000 + "</article>"
    httpserver.expect_request("/html/2606.00001v2").respond_with_data(deep)
    httpserver.expect_request("/pdf/2606.00001v2").respond_with_data(PAPER_PDF)
    http, settings = setup(httpserver)
    record, _ = fetch_fulltext(http, settings, paper())
    assert record.source == "pdf" and record.note == "html: page nested too deeply to read"


@pytest.mark.parametrize("level", [logging.WARNING, logging.DEBUG])
def test_an_unexpected_error_falls_back_and_shows_its_traceback_only_with_debug(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, level: int
) -> None:
    http, settings = setup(httpserver)
    http.close()  # a programming error (a closed client), not a failing arXiv
    with caplog.at_level(level, logger="newsletter.fulltext"):
        record, _ = fetch_fulltext(http, settings, paper())
    assert record.source == "abstract" and "html: RuntimeError" in (record.note or "")
    failed = [r for r in caplog.records if "failed for 2606.00001" in r.getMessage()]
    assert len(failed) == 2  # html, then pdf
    assert all(bool(r.exc_info) == (level == logging.DEBUG) for r in failed)
