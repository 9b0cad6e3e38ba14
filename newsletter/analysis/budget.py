"""Fit a paper's full text into a token budget, keeping the parts that explain it best.

The text comes from ``sources.fulltext``: ``# title``, then ``## Heading`` sections. Sections are
kept by priority (abstract, introduction, method, experiments and results, conclusion, then the
rest); references and appendices are the first to go. A section that does not fit whole is cut
at a paragraph (or sentence) boundary and marked. The kept sections stay in document order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CUT_MARK = "[…]"

# (kind, priority, heading pattern); the first match wins, lower priority is kept first.
_KINDS: tuple[tuple[str, int, re.Pattern[str]], ...] = tuple(
    (kind, prio, re.compile(pattern, re.IGNORECASE))
    for kind, prio, pattern in (
        ("references", 9, r"\b(references|bibliography|works cited)\b"),
        ("appendix", 8, r"\b(appendix|appendices|supplementary|supplemental)\b"),
        ("acknowledgments", 8, r"\backnowledge?ments?\b"),
        ("abstract", 0, r"\babstract\b"),
        ("introduction", 1, r"\b(introduction|motivation|overview)\b"),
        ("related", 6, r"\b(related work|prior work|background|literature)\b"),
        (
            "conclusion",
            4,
            r"\b(conclusions?|concluding|discussion|limitations?|future work|"
            r"summary)\b",
        ),
        (
            "experiments",
            3,
            r"\b(experiments?|experimental|evaluations?|results?|ablations?|"
            r"analysis|benchmarks?|empirical|findings)\b",
        ),
        (
            "method",
            2,
            r"\b(method|methods|methodology|approach|model|framework|architecture|"
            r"design|algorithm|preliminar\w*|formulation|training|system|pipeline|"
            r"dataset|data)\b",
        ),
    )
)
_OTHER_PRIORITY = 5


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: ~4 characters per token for ASCII, 1 per other character."""
    ascii_chars = sum(1 for c in text if ord(c) < 128)
    return (ascii_chars + 3) // 4 + (len(text) - ascii_chars)


@dataclass
class Section:
    heading: str  # "" for the text before the first "## " heading (the title)
    body: str
    kind: str
    priority: int

    @property
    def text(self) -> str:
        return f"{self.heading}\n\n{self.body}".strip() if self.heading else self.body.strip()


@dataclass
class Budgeted:
    """What is sent: the text, its estimated tokens, and which sections were cut or left out."""

    text: str
    tokens: int
    source_tokens: int
    kept: list[str] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def note(self) -> str:
        """One line for the record, e.g. 'kept 5 of 8 sections (cut: 4 Experiments ...)'."""
        parts = [f"{self.tokens} of {self.source_tokens} estimated tokens"]
        if self.cut:
            parts.append("cut: " + ", ".join(self.cut))
        if self.dropped:
            parts.append("left out: " + ", ".join(self.dropped))
        return "; ".join(parts)


def _classify(heading: str, after_references: bool) -> tuple[str, int]:
    title = heading.lstrip("#").strip()
    for kind, prio, pattern in _KINDS:
        if pattern.search(title):
            return kind, prio
    if after_references:
        # Sections after the bibliography are appendices even when unlabeled ("## A Proofs").
        return "appendix", 8
    return "other", _OTHER_PRIORITY


def split_sections(text: str) -> list[Section]:
    """The text's ``## `` sections (subsections stay inside their section)."""
    sections: list[Section] = []
    heading = ""
    lines: list[str] = []
    after_refs = False

    def close() -> None:
        nonlocal after_refs
        body = "\n".join(lines).strip()
        if heading:
            kind, prio = _classify(heading, after_refs)
            after_refs = after_refs or kind in ("references", "appendix")
        else:
            kind, prio = "title", -1
        if heading or body:
            sections.append(Section(heading, body, kind, prio))

    for line in text.splitlines():
        if line.startswith("## "):
            close()
            heading, lines = line.strip(), []
        else:
            lines.append(line)
    close()
    return sections


def _cut(section: Section, tokens: int) -> str:
    """The section shortened to about ``tokens``, at a paragraph or sentence boundary."""
    head = section.heading
    used = estimate_tokens(head) + estimate_tokens(CUT_MARK) + 2
    kept: list[str] = []
    for para in re.split(r"\n\s*\n", section.body):
        cost = estimate_tokens(para) + 1
        if used + cost <= tokens:
            kept.append(para)
            used += cost
            continue
        sentences = re.split(r"(?<=[.!?])\s+", para)
        partial = []
        for sentence in sentences:
            cost = estimate_tokens(sentence) + 1
            if used + cost > tokens:
                break
            partial.append(sentence)
            used += cost
        if partial:
            kept.append(" ".join(partial))
        break
    body = "\n\n".join(kept + [CUT_MARK])
    return f"{head}\n\n{body}".strip() if head else body


def _level(costs: list[int], budget: int) -> int:
    """The largest share L with sum(min(cost, L)) <= budget (water-filling)."""
    spent, left = 0, len(costs)
    for cost in sorted(costs):
        if spent + cost * left > budget:
            # The rest are all at least this big: they share what is left evenly.
            return max(0, (budget - spent) // left)
        spent += cost
        left -= 1
    return max(costs, default=0)


# Tiers filled in turn: the title and abstract, the body that explains the paper (shared out
# evenly, so a long method section cannot crowd out the experiments), the rest, appendices,
# references.
_TIERS = ((-1, 0), (1, 2, 3, 4), (5, 6), (8,), (9,))


def fit(text: str, budget: int) -> Budgeted:
    """The full text within ``budget`` estimated tokens, sections kept by priority."""
    sections = split_sections(text)
    source_tokens = estimate_tokens(text)
    if source_tokens <= budget:
        return Budgeted(
            text=text,
            tokens=source_tokens,
            source_tokens=source_tokens,
            kept=[s.heading[3:] for s in sections if s.heading],
        )
    out: dict[int, str] = {}
    remaining = budget
    result = Budgeted(text="", tokens=0, source_tokens=source_tokens)
    for tier in _TIERS:
        group = [(i, s) for i, s in enumerate(sections) if s.priority in tier]
        if not group:
            continue
        costs = {i: estimate_tokens(s.text) + 1 for i, s in group}
        share = _level(list(costs.values()), remaining)
        for i, s in group:
            name = s.heading[3:] or "title"
            if costs[i] <= share:
                out[i] = s.text
                remaining -= costs[i]
                if s.heading:
                    result.kept.append(name)
            elif share >= 40:
                out[i] = _cut(s, share)
                remaining -= estimate_tokens(out[i]) + 1
                result.cut.append(name)
            elif s.heading:
                result.dropped.append(name)
        if any(costs[i] > share for i, _ in group):
            remaining = 0  # a higher tier was cut: nothing of a lower one goes in
    result.text = "\n\n".join(out[i] for i in sorted(out)) + "\n"
    result.tokens = estimate_tokens(result.text)
    return result
