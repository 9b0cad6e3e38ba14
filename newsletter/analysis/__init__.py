"""Analysis: the seams between the stages and whatever writes the cards and picks the papers.

``Analyzer`` writes one card per selected paper; ``Recommender`` picks the M recommended
papers. Each has an LLM implementation (``analyzer.LLMAnalyzer``, ``recommender.
LLMRecommender``, behind any OpenAI-compatible endpoint) and one that needs no model
(``offline.OfflineAnalyzer``, ``heuristic.HeuristicRecommender``). ``make_analyzer`` and
``make_recommender`` choose by the settings; only the LLM ones import the OpenAI SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from ..models import Paper, PaperAnalysis, Selected

if TYPE_CHECKING:
    from ..config import Settings
    from ..http import Http

Progress = Callable[[str], None]


@dataclass
class Recommendation:
    """The recommended papers, how they were chosen, and what the choice cost."""

    picks: list[Selected]
    method: Literal["llm", "heuristic"]
    model: str | None = None
    warnings: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = None


class Recommender(Protocol):
    def recommend(
        self, pool: list[Paper], ranked: list[Selected], m: int, languages: Sequence[str] = ()
    ) -> Recommendation:
        """M papers from ``pool`` beyond the ``ranked`` ones, each with its reason in the
        edition's language and in each of ``languages``."""
        ...

    def usage_line(self) -> str | None:
        """One line of calls, tokens and cost for this run, or None without a model."""
        ...


class Analyzer(Protocol):
    kind: Literal["llm", "offline"]

    def analyze_many(
        self,
        papers: list[Paper],
        progress: Progress | None = None,
        on_result: Callable[[PaperAnalysis], None] | None = None,
        language: str | None = None,
    ) -> list[PaperAnalysis]:
        """One analysis per paper in ``language`` (default: the edition's), in order;
        ``on_result`` gets each as soon as it is done."""
        ...

    def usage_line(self) -> str | None:
        """One line of calls, tokens and cost for this run, or None without a model."""
        ...


def make_analyzer(
    settings: Settings, http: Http | None, progress: Progress | None = None
) -> Analyzer:
    """The LLM analyzer when ``llm.base_url`` is set, else the abstract-card one."""
    if not settings.llm_enabled:
        from .offline import OfflineAnalyzer

        return OfflineAnalyzer(settings)
    from .analyzer import make_llm_analyzer

    return make_llm_analyzer(settings, http, progress=progress)


def make_recommender(settings: Settings) -> Recommender:
    """The LLM recommender when ``llm.base_url`` is set, else greedy topic coverage."""
    if not settings.llm_enabled:
        from .heuristic import HeuristicRecommender

        return HeuristicRecommender(settings)
    from .analyzer import make_llm_recommender

    return make_llm_recommender(settings)
