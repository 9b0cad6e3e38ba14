"""Sections of real LaTeX PDFs (tests/fixtures/pdf, see its README): headings, cuts, furniture."""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
from functools import cache
from types import ModuleType

import pytest
from support import FIXTURES, REPO

from newsletter.fulltext.pdf import pdf_to_text

ROOT = REPO
CORPUS = FIXTURES / "pdf"
PAPERS = ("onecol", "twocol", "tables", "workshop")


def load_eval() -> ModuleType:
    """scripts/eval_pdf_headings.py, whose scoring the tests share."""
    spec = importlib.util.spec_from_file_location(
        "eval_pdf_headings", ROOT / "scripts" / "eval_pdf_headings.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


EVAL = load_eval()


@cache
def text_of(name: str) -> str:
    return pdf_to_text((CORPUS / f"{name}.pdf").read_bytes(), f"Title of {name}", "")


def blocks_of(name: str) -> list[str]:
    return text_of(name).strip().split("\n\n")


def headings_of(name: str) -> list[str]:
    return [b for b in blocks_of(name) if b.startswith("#")]


def test_corpus_is_complete() -> None:
    names = [name for name, _, _ in EVAL.corpus()]
    assert sorted(names) == sorted(PAPERS)
    for name in PAPERS:
        assert (CORPUS / f"{name}.tex").is_file()


def test_heading_precision_and_recall_overall_and_per_paper() -> None:
    scores = [
        EVAL.score(name, EVAL.expected_headings(truth), EVAL.found_headings(text_of(name)))
        for name, _, truth in EVAL.corpus()
    ]
    overall = EVAL.total(scores)
    report = EVAL.report(scores)
    assert overall.precision >= 0.95 and overall.recall >= 0.95, report
    for score in scores:
        assert score.precision >= 0.9 and score.recall >= 0.9, report


def test_scoring_counts_misses_and_false_headings() -> None:
    expected = [("", "abstract"), ("1", "introduction"), ("2", "method")]
    found = EVAL.found_headings("## ABSTRACT\n\n## Abstract\n\n## 1 INTRODUCTION\n\nx\n\n#### 7 X")
    score = EVAL.score("toy", expected, found)
    assert (score.hits, score.found, score.expected) == (2, 4, 3)
    assert score.misses == ["2 method"] and score.false == ["abstract", "7 x"]


@pytest.mark.parametrize("name", PAPERS)
def test_abstract_heading_appears_once(name: str) -> None:
    headings = [h.lower() for h in headings_of(name)]
    assert headings.count("## abstract") == 1
    assert headings[:2] == [f"# title of {name}", "## abstract"]


def test_table_cells_never_become_headings() -> None:
    titles = {h.split(" ", 1)[1].lower() for h in headings_of("tables")}
    for cell in ("method", "results", "discussion", "abstract 1,200 0", "heading"):
        assert cell not in titles
    cells = re.compile(r"#+ (2\.1|3 training|1 introduction 1,187|[a-z ]+ section name)")
    assert not any(cells.match(h.lower()) for h in headings_of("tables"))
    assert sum(h.lower() == "## 1 introduction" for h in headings_of("tables")) == 1
    assert "Method section name 2" in text_of("tables")  # the cells stay as text


def test_affiliations_and_emails_never_become_headings() -> None:
    for name in PAPERS:
        for heading in headings_of(name):
            assert not re.search(r"department|university|institute|lab\b|@", heading, re.I)


@pytest.mark.parametrize("name", PAPERS)
def test_a_heading_is_never_glued_to_its_paragraph(name: str) -> None:
    expected = EVAL.expected_headings(CORPUS / f"{name}.headings.json")
    printed = [" ".join(part for part in key if part) for key in expected]
    for block in blocks_of(name):
        if block.startswith("#"):
            continue
        for heading in printed:
            assert not block.lower().startswith(heading + " "), (heading, block[:80])
    headings = [EVAL.heading_key(h) for h in headings_of(name)[1:]]
    assert all(key in expected for key in headings), headings


def test_the_two_column_paper_reads_like_the_page() -> None:
    blocks = blocks_of("twocol")
    intro = next(i for i, b in enumerate(blocks) if b.lower() == "## 1 introduction")
    assert blocks[intro + 1].startswith("Running language models on phones")
    wrapped = "### 2.2 Memory hierarchy of neural processing units in edge devices"
    assert wrapped in blocks
    text = text_of("twocol")
    assert "slower on our NPUs than a 16-node tree" in text  # the footnote is not in between
    assert any(b.startswith("1We use “tree” for any set") for b in blocks)  # but kept


@pytest.mark.parametrize(
    "name, gone",
    [
        ("onecol", ["Wald", "Sequential tests", "Chain-of-thought prompting elicits"]),
        ("twocol", ["Medusa", "SpecInfer", "Leviathan"]),
        ("tables", ["GROBID", "Annotation Guidelines", "Per-Venue Results", "Statistics 88.4"]),
        ("workshop", ["Induction heads.", "Probe Examples", "access code", "Per-Model"]),
    ],
)
def test_references_and_everything_after_are_cut(name: str, gone: list[str]) -> None:
    text = text_of(name)
    for words in gone:
        assert words not in text
    assert not re.search(r"^#+ .*(references|bibliography)", text, re.I | re.M)


@pytest.mark.parametrize(
    "name, furniture",
    [
        ("onecol", ["Preprint. Under review.", "Page 2", "\n3 Method"]),
        ("twocol", ["EdgeSys", "Ribeiro et al.", "arXiv:2606", "ana.ribeiro@"]),
        ("tables", ["Where Do Section Parsers Fail?", "nit.example.org"]),
        ("workshop", ["Sandoval and K.", "-- 2 --", "– 2 –", "cltavu.example"]),
    ],
)
def test_running_headers_footers_stamp_and_front_matter_are_dropped(
    name: str, furniture: list[str]
) -> None:
    text = text_of(name)
    for words in furniture:
        assert words not in text.replace(f"# Title of {name}", "")
    assert not re.search(r"^\d+$", text, re.M)  # no page numbers


def test_running_head_with_the_section_name_does_not_end_or_repeat_sections() -> None:
    # onecol prints the current section ("3  Method", "REFERENCES") at the top of even pages.
    headings = headings_of("onecol")
    assert headings.count("## 3 Method") == 1
    assert headings[-1] == "## Acknowledgments"
    assert "The stopping rule cannot detect this case" in text_of("onecol")


def test_hyphenation_across_lines_is_undone_and_compounds_kept() -> None:
    text = text_of("onecol")
    assert "self-consistency aggregates many sampled chains" in text
    assert "ag-gregates" not in text and "ag- gregates" not in text


def test_same_result_every_time_and_from_threads() -> None:
    body = (CORPUS / "twocol.pdf").read_bytes()
    first = pdf_to_text(body, "T")
    results: list[str] = []

    def run() -> None:
        results.append(pdf_to_text(body, "T"))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [first] * 4


def test_headings_by_font_survive_a_gap_in_the_numbering() -> None:
    """A heading set like the others is kept after a missed number; body text never is."""
    from fpdf import FPDF

    para = "Routing sends each query to the blocks that matter and skips the rest. " * 5
    pdf = FPDF()
    pdf.add_page()
    for heading, lines in [
        ("Abstract", [para]),
        ("1 Introduction", [para]),
        ("2 Method", ["5 Billion Tokens Were Used", para]),
        ("4 Results", [para]),  # no section 3
        ("4.1 Ablations", [para]),
        ("Broader Impact", [para]),
        ("References", ["[1] A. Author. A Paper. 2020."]),
    ]:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 12 if "." not in heading else 11)
        pdf.multi_cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        for text in lines:
            pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    text = pdf_to_text(bytes(pdf.output()), "T")
    assert [ln for ln in text.splitlines() if ln.startswith("#")] == [
        "# T",
        "## Abstract",
        "## 1 Introduction",
        "## 2 Method",
        "## 4 Results",
        "### 4.1 Ablations",
        "## Broader Impact",
    ]
    assert "5 Billion Tokens Were Used" in text and "A Paper" not in text
