#!/usr/bin/env python3
"""Collect a 30-paper day from a local server and print where the time goes.

The server (pytest-httpserver, threaded) answers like the real services, with a fixed latency
per response: the recorded Daily Papers list of 2026-06-12 (with its GitHub stars taken away,
so GitHub is asked), the bundled arXiv API answer, GitHub repositories, and for every paper a
LaTeXML page (two papers in three) or a 404 and a generated PDF. Then it measures, side by side
in the same run, the choices made in ``newsletter/sources``: the HTML parser (selectolax vs lxml,
same walker, same output) and the PDF extractor (pypdfium2 vs pypdf vs pdfminer.six).

    .venv/bin/python scripts/bench_collect.py [--latency-ms 40] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from benchlib import median_s
from fpdf import FPDF
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from newsletter.config import Settings
from newsletter.fulltext import fetch_fulltext
from newsletter.fulltext.dom import BACKENDS
from newsletter.fulltext.html import latexml_to_text
from newsletter.fulltext.pdf import pdf_to_text
from newsletter.http import make_http
from newsletter.models import Paper
from newsletter.sources import arxiv, collect_papers, github, huggingface

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-06-12"
PAGE = (ROOT / "tests/fixtures/latexml/2606.00001v2.html").read_text(encoding="utf-8")
SAMPLE_API = ROOT / "newsletter/samples" / DAY / "export.arxiv.org" / f"query-{DAY}.xml"


def big_page(copies: int = 40) -> str:
    """The fixture's sections repeated, about the size of a real arXiv HTML paper (~1 MB)."""
    head, rest = PAGE.split('<section class="ltx_section" id="S1">', 1)
    body, tail = rest.split('<section class="ltx_appendix"', 1)
    body = '<section class="ltx_section" id="S1">' + body
    # Real pages carry MathML for every formula; give each copy more of it.
    mathml = (
        '<math alttext="\\\\sum_{i=1}^{n} a_{i} b_{i}" class="ltx_Math" display="inline">'
        "<semantics><mrow>"
        + "<msub><mi>a</mi><mi>i</mi></msub><mo>+</mo>" * 12
        + "</mrow><annotation>x</annotation></semantics></math>"
    )
    para = (
        '<div class="ltx_para"><p class="ltx_p">'
        + f"We measure {mathml} across settings and report the mean of five runs. " * 3
        + "</p></div>"
    )
    copies_html = [
        re.sub(r'id="S(\d)', rf'id="S{i}x\1', body).replace(
            "</section>\n<section", f"{para * 6}</section>\n<section", 1
        )
        for i in range(copies)
    ]
    return head + "".join(copies_html) + '<section class="ltx_appendix"' + tail


def make_pdf(pages: int = 12) -> bytes:
    """A paper-like PDF of ``pages`` pages: numbered sections, paragraphs, references."""
    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 7, "Sparse Routing for Long-Context Agents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    sentence = (
        "sparse routing sends each query to the memory blocks that matter and skips "
        "the rest which keeps accuracy while cutting latency for long context agents"
    )
    words = sentence.split(" ")
    section = 0
    while pdf.page_no() < pages:
        section += 1
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 6, f"{section} Section number {section}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        for para in range(3):
            # Varied sentences, so no line repeats the way running headers do.
            sentences = [
                " ".join(words[(section * 7 + para * 3 + k) % len(words) :][:9]).capitalize()
                + f" in run {section}.{para}.{k}."
                for k in range(12)
            ]
            pdf.multi_cell(0, 5, " ".join(sentences), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    pdf.multi_cell(0, 6, "References", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def serve(latency_s: float, day: list[dict[str, Any]], html: str, pdf: bytes) -> HTTPServer:
    server = HTTPServer(threaded=True)
    api_xml = SAMPLE_API.read_bytes()

    def delayed(body: bytes | str, ctype: str, status: int = 200) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            time.sleep(latency_s)
            return Response(body, status=status, content_type=ctype)

        return handler

    server.expect_request("/api/daily_papers").respond_with_handler(
        delayed(json.dumps(day), "application/json")
    )
    server.expect_request("/api/query").respond_with_handler(
        delayed(api_xml, "application/atom+xml")
    )
    server.expect_request(re.compile(r"^/gh/repos/.+")).respond_with_handler(
        delayed(json.dumps({"stargazers_count": 123}), "application/json")
    )
    for index, item in enumerate(day):
        pid = item["paper"]["id"]
        if index % 3 == 2:
            server.expect_request(
                re.compile(rf"^/html/{re.escape(pid)}(v\d+)?$")
            ).respond_with_handler(delayed("No HTML", "text/html", 404))
        else:
            server.expect_request(
                re.compile(rf"^/html/{re.escape(pid)}(v\d+)?$")
            ).respond_with_handler(delayed(html, "text/html; charset=utf-8"))
        server.expect_request(re.compile(rf"^/pdf/{re.escape(pid)}(v\d+)?$")).respond_with_handler(
            delayed(pdf, "application/pdf")
        )
    server.start()
    return server


def settings_for(server: HTTPServer) -> Settings:
    s = Settings()
    s.sources.huggingface.url = server.url_for("/api/daily_papers")
    s.sources.arxiv.api_url = server.url_for("/api/query")
    s.sources.arxiv.html_url = server.url_for("/html")
    s.sources.arxiv.pdf_url = server.url_for("/pdf")
    s.sources.arxiv.fulltext_interval_s = 0  # pacing is arXiv's rule, not a cost to measure
    s.sources.github.api_url = server.url_for("/gh")
    return s


def bench_collect(latency_ms: float) -> None:
    day = json.loads((ROOT / "tests/fixtures/hf" / f"{DAY}.json").read_bytes())
    for item in day:
        item["paper"].pop("githubStars", None)
    html, pdf = big_page(), make_pdf()
    server = serve(latency_ms / 1000, day, html, pdf)
    settings = settings_for(server)
    src = settings.sources
    print(
        f"== collect a {len(day)}-paper day from a local server "
        f"({latency_ms:.0f} ms per response; HTML page {len(html) / 1e6:.2f} MB, "
        f"PDF {len(pdf) / 1e3:.0f} KB)"
    )
    try:
        with (
            tempfile.TemporaryDirectory() as cache,
            make_http(contact="bench@example.com", cache_dir=Path(cache)) as http,
        ):
            t0 = time.perf_counter()
            papers = huggingface.fetch_daily(http, src.huggingface.url, DAY)
            t1 = time.perf_counter()
            meta = arxiv.fetch_metadata(
                http, src.arxiv.api_url, sorted(p.id for p in papers), src.arxiv.batch_size, 0
            )
            for paper in papers:
                if paper.id in meta:
                    paper.version = meta[paper.id].version
            t2 = time.perf_counter()
            repos = sum(1 for p in papers if p.github_repo)
            timings = {}
            for workers in (1, 4):
                for p in papers:
                    p.github_stars = None
                start = time.perf_counter()
                github.fill_stars(http, src.github.api_url, papers, "", workers)
                timings[workers] = time.perf_counter() - start
            print(f"  daily papers (1 request)       {t1 - t0:7.3f} s")
            print(f"  arXiv API ({len(meta)} of {len(papers)} known, 1 batch)  {t2 - t1:7.3f} s")
            print(
                f"  GitHub stars, {repos} repos, 1 at a time {timings[1]:7.3f} s; "
                f"4 at a time {timings[4]:7.3f} s ({timings[1] / timings[4]:.1f}x)"
            )
            print("  (arXiv's 3 s between API requests costs nothing here: 30 ids are 1 batch)")
            start = time.perf_counter()
            settings.sources.arxiv.request_interval_s = 0
            found, _ = collect_papers(
                settings, http, date.fromisoformat(DAY), progress=lambda m: None
            )
            print(
                f"  the whole collect stage, all sources: {time.perf_counter() - start:7.3f} s "
                f"for {len(found)} candidates"
            )
            fulltexts(http, settings, papers)
    finally:
        server.clear()
        server.stop()


def fulltexts(http: Any, settings: Settings, papers: list[Paper]) -> None:
    parse: dict[str, list[float]] = {"html": [], "pdf": []}

    def one(paper: Paper) -> str:
        return fetch_fulltext(http, settings, paper)[0].source

    start = time.perf_counter()
    sources = [one(p) for p in papers]
    serial = time.perf_counter() - start
    start = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, [p.model_copy(update={"version": None}) for p in papers]))
    parallel = time.perf_counter() - start
    counts = {k: sources.count(k) for k in ("html", "pdf", "abstract")}
    html, pdf = big_page(), make_pdf()
    parse["html"].append(median_s(lambda: latexml_to_text(html), 3))
    parse["pdf"].append(median_s(lambda: pdf_to_text(pdf, "t"), 3))
    print(
        f"  full texts {counts}: 1 at a time {serial:7.3f} s; 4 at a time "
        f"{parallel:7.3f} s (unversioned, so not from the cache)"
    )
    print(
        f"    of which parsing: one HTML page {parse['html'][0] * 1000:6.1f} ms, "
        f"one PDF {parse['pdf'][0] * 1000:6.1f} ms (the rest is waiting on the server)"
    )
    hits = http.cache_hits
    start = time.perf_counter()
    for p in papers:
        fetch_fulltext(http, settings, p)
    print(
        f"  full texts again, 1 at a time: {time.perf_counter() - start:7.3f} s "
        f"({http.cache_hits - hits} answered by the on-disk cache; unversioned papers and "
        "404s go to the server again; parsing stays)"
    )


def bench_html(repeat: int) -> None:
    html = big_page()
    print(f"== HTML parser: LaTeXML page of {len(html) / 1e6:.2f} MB, median of {repeat}")
    out = {name: latexml_to_text(html, name) for name in ("selectolax", "lxml")}
    same = out["selectolax"] == out["lxml"]
    times = {
        name: median_s(lambda n=name: latexml_to_text(html, n), repeat)  # type: ignore[misc]
        for name in ("selectolax", "lxml")
    }
    for name, seconds in times.items():
        print(f"  {name:11s} {seconds * 1000:8.1f} ms  ({len(out[name]):,} chars of text)")
    print(
        f"  lxml / selectolax = {times['lxml'] / times['selectolax']:.2f}x; "
        f"identical output: {same}"
    )
    parse = {
        name: median_s(lambda n=name: BACKENDS[n].parse(html), repeat)  # type: ignore[misc]
        for name in ("selectolax", "lxml")
    }
    print(
        f"  of which building the tree: selectolax {parse['selectolax'] * 1000:.1f} ms, "
        f"lxml {parse['lxml'] * 1000:.1f} ms (the rest is the shared walker)"
    )


def bench_pdf(repeat: int) -> None:
    import io

    import pypdfium2 as pdfium

    body = make_pdf(pages=20)

    def with_pdfium() -> str:
        doc = pdfium.PdfDocument(body)
        try:
            return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
        finally:
            doc.close()

    def with_pypdf() -> str:
        from pypdf import PdfReader

        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)

    def with_pdfminer() -> str:
        from pdfminer.high_level import extract_text

        return str(extract_text(io.BytesIO(body)))

    print(
        f"== PDF text extraction: generated 20-page PDF ({len(body) / 1e3:.0f} KB), "
        f"median of {repeat}"
    )
    results = {}
    for name, func in (
        ("pypdfium2", with_pdfium),
        ("pypdf", with_pypdf),
        ("pdfminer.six", with_pdfminer),
    ):
        try:
            text = func()
        except ImportError:
            print(f"  {name:13s} not installed")
            continue
        seconds = median_s(func, repeat)
        headings = len(re.findall(r"^\d+ Section number \d+\s*$", text, re.MULTILINE))
        results[name] = seconds
        print(
            f"  {name:13s} {seconds * 1000:8.1f} ms  {len(text):,} chars, "
            f"{headings} section headings on lines of their own"
        )
    base = results.get("pypdfium2")
    if base:
        print(
            "  "
            + "; ".join(
                f"{name} / pypdfium2 = {sec / base:.1f}x"
                for name, sec in results.items()
                if name != "pypdfium2"
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--latency-ms", type=float, default=40.0, help="delay of every server response (default 40)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per measured median")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    bench_collect(args.latency_ms)
    bench_html(args.repeat)
    bench_pdf(args.repeat)


if __name__ == "__main__":
    main()
