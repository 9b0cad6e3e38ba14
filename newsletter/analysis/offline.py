"""The analyzer used when no LLM is configured: the abstract as the card, clearly labeled."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from ..config import Settings, TopicSettings
from ..models import Analysis, FullText, Paper, PaperAnalysis
from ..topics import rule_topics

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")
# Abbreviations after which a full stop does not end the sentence.
_ABBREVIATIONS = (
    "e.g.",
    "i.e.",
    "et al.",
    "etc.",
    "vs.",
    "cf.",
    "fig.",
    "figs.",
    "eq.",
    "sec.",
    "no.",
    "approx.",
    "resp.",
)


def first_sentence(text: str) -> str:
    """The text up to its first sentence end (not after 'e.g.' or inside parentheses)."""
    text = " ".join(text.split())
    for match in _SENTENCE_END.finditer(text):
        head = text[: match.start()]
        if head.count("(") > head.count(")") or head.lower().endswith(_ABBREVIATIONS):
            continue
        return head
    return text


def analyze_offline(
    paper: Paper, taxonomy: dict[str, TopicSettings], language: str
) -> PaperAnalysis:
    """One-line summary from ``ai_summary`` or the abstract's first sentence; abstract as body."""
    tags = paper.ai_keywords[:8] or paper.categories[:8]
    analysis = Analysis(
        summary=paper.ai_summary or first_sentence(paper.abstract) or paper.title,
        core_idea=paper.abstract,
        problem="",
        method=[],
        key_technique="",
        results=[],
        improvements=[],
        applications=[],
        limitations=[],
        tags=tags,
        topics=rule_topics(paper, taxonomy),
        prerequisites=[],
    )
    return PaperAnalysis(
        id=paper.id,
        fulltext=FullText(
            source="abstract", chars=len(paper.abstract), note="no LLM configured: abstract only"
        ),
        analysis=analysis,
        analyzer="offline",
        language=language,
        abstract_only=True,
    )


class OfflineAnalyzer:
    """The analyzer used when no LLM is configured: every card is the abstract."""

    kind: Literal["llm", "offline"] = "offline"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def analyze_many(
        self,
        papers: list[Paper],
        progress: Callable[[str], None] | None = None,
        on_result: Callable[[PaperAnalysis], None] | None = None,
        language: str | None = None,
    ) -> list[PaperAnalysis]:
        """The abstract card of each paper (the same in every language but for its labels)."""
        out = []
        lang = language or self.settings.edition.language
        for paper in papers:
            card = analyze_offline(paper, self.settings.topics, lang)
            if on_result is not None:
                on_result(card)
            out.append(card)
        return out

    def usage_line(self) -> str | None:
        """No model, no usage."""
        return None
