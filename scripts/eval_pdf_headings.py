#!/usr/bin/env python3
"""Score the headings ``pdf_to_text`` finds in the LaTeX test corpus against the ground truth.

For each ``tests/fixtures/pdf/NAME.pdf`` with a ``NAME.headings.json`` beside it, the
``##``/``###`` lines of ``pdf_to_text`` are matched to the expected headings by number and
title (case-insensitive, whitespace-normalised; each expected heading matches at most once).
Prints expected, found, true positives, precision and recall per paper and overall, the
misses and the false headings, and the median time of 5 runs per PDF.

    .venv/bin/python scripts/eval_pdf_headings.py [--repeat 5] [--text NAME]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.fulltext.pdf import pdf_to_text

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pdf"
_FOUND = re.compile(r"^(#{2,6}) (.+)$")
_NUMBER = re.compile(r"^(?P<num>(?:\d{1,2}|[A-Z])(?:\.\d{1,2})*)\.?\s+(?P<title>\S.*)$")

Key = tuple[str, str]


@dataclass
class Score:
    name: str
    expected: int
    found: int
    hits: int
    misses: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def precision(self) -> float:
        return self.hits / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.hits / self.expected if self.expected else 1.0


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def heading_key(line: str) -> Key | None:
    """(number, title) of a ``##``..``######`` line, or None for any other line."""
    found = _FOUND.match(line)
    if not found:
        return None
    text = found[2].strip()
    numbered = _NUMBER.match(text)
    if numbered and (numbered["num"][0].isdigit() or "." in numbered["num"]):
        return numbered["num"], _norm(numbered["title"])
    return "", _norm(text)


def found_headings(text: str) -> list[Key]:
    """The headings of ``pdf_to_text`` output, in order."""
    return [key for key in map(heading_key, text.splitlines()) if key]


def expected_headings(path: Path) -> list[Key]:
    return [(h["number"], _norm(h["title"])) for h in json.loads(path.read_text())]


def score(name: str, expected: list[Key], found: list[Key]) -> Score:
    """Match found headings to expected ones, each expected heading at most once."""
    left = Counter(expected)
    hits, false = 0, []
    for key in found:
        if left[key] > 0:
            left[key] -= 1
            hits += 1
        else:
            false.append(" ".join(part for part in key if part))
    misses = []
    for key in expected:
        if left[key] > 0:
            left[key] -= 1
            misses.append(" ".join(part for part in key if part))
    return Score(name, len(expected), len(found), hits, misses, false)


def corpus() -> list[tuple[str, Path, Path]]:
    """(name, pdf, headings.json) for every paper of the corpus, sorted by name."""
    papers = []
    for truth in sorted(CORPUS.glob("*.headings.json")):
        name = truth.name.removesuffix(".headings.json")
        papers.append((name, truth.with_name(f"{name}.pdf"), truth))
    return papers


def evaluate(repeat: int = 5) -> list[Score]:
    scores = []
    for name, pdf, truth in corpus():
        body = pdf.read_bytes()
        text = pdf_to_text(body, name)
        result = score(name, expected_headings(truth), found_headings(text))
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            pdf_to_text(body, name)
            times.append(time.perf_counter() - started)
        result.seconds = statistics.median(times) if times else 0.0
        scores.append(result)
    return scores


def total(scores: list[Score]) -> Score:
    return Score(
        "overall",
        sum(s.expected for s in scores),
        sum(s.found for s in scores),
        sum(s.hits for s in scores),
        seconds=sum(s.seconds for s in scores),
    )


def report(scores: list[Score]) -> str:
    head = ("paper", "expected", "found", "tp", "prec", "recall", "ms")
    rows = ["{:<10} {:>8} {:>6} {:>4} {:>6} {:>6} {:>7}".format(*head)]
    for s in [*scores, total(scores)]:
        rows.append(
            f"{s.name:<10} {s.expected:>8} {s.found:>6} {s.hits:>4} "
            f"{s.precision:>6.3f} {s.recall:>6.3f} {s.seconds * 1000:>7.1f}"
        )
    for s in scores:
        for miss in s.misses:
            rows.append(f"  {s.name}: missed  {miss!r}")
        for wrong in s.false:
            rows.append(f"  {s.name}: false   {wrong!r}")
    rows.append("(ms: median of the runs per PDF; overall: their sum)")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per PDF (median)")
    parser.add_argument("--text", metavar="NAME", help="print pdf_to_text of one paper and stop")
    args = parser.parse_args()
    if args.text:
        print(pdf_to_text((CORPUS / f"{args.text}.pdf").read_bytes(), args.text), end="")
        return 0
    scores = evaluate(args.repeat)
    print(report(scores))
    overall = total(scores)
    return 0 if overall.precision >= 0.95 and overall.recall >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
