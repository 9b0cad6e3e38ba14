"""Choosing without an LLM: top N by upvotes, then M more by greedy topic coverage.

*Greedy topic coverage*: repeatedly take the remaining candidate that adds the most topics
the edition does not cover yet; ties go to more upvotes, then more GitHub stars, then more
comments, then the smaller arXiv id. It favours breadth the way an editor would, and is
deterministic. The LLM recommender fills any gap in its picks with it too.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import Settings, TopicSettings
from ..models import Paper, Selected
from ..reasons import coverage_reason, ranked_reason
from ..topics import rule_topics
from . import Recommendation


def _popularity(p: Paper) -> tuple[int, int, int]:
    return (p.upvotes or 0, p.github_stars or 0, p.comments or 0)


def with_reasons(sel: Selected, reasons: dict[str, str]) -> Selected:
    """``sel`` with its reason in each language (the first one is the edition's)."""
    return sel.model_copy(update={"reason": next(iter(reasons.values())), "reasons": reasons})


def ranked(papers: list[Paper], n: int, languages: Sequence[str] = ("en",)) -> list[Selected]:
    """The top ``n`` papers by upvotes (ties: stars, comments, id); a paper without upvotes
    (unknown or none yet) is never ranked by them. Reasons in each of ``languages``."""
    with_votes = [p for p in papers if p.upvotes]
    order = sorted(with_votes, key=lambda p: (tuple(-x for x in _popularity(p)), p.id))
    return [
        with_reasons(
            Selected(id=p.id, kind="ranked", rank=i + 1, reason=""),
            {lang: ranked_reason(lang, i + 1) for lang in languages},
        )
        for i, p in enumerate(order[:n])
    ]


def heuristic(
    papers: list[Paper],
    taken: list[Selected],
    m: int,
    taxonomy: dict[str, TopicSettings],
    languages: Sequence[str] = ("en",),
) -> list[Selected]:
    """M more by greedy topic coverage (see the module docstring)."""
    chosen_ids = {s.id for s in taken}
    by_id = {p.id: p for p in papers}
    covered: set[str] = set()
    for s in taken:
        covered.update(rule_topics(by_id[s.id], taxonomy))
    pool = [p for p in papers if p.id not in chosen_ids]
    topics = {p.id: set(rule_topics(p, taxonomy)) for p in pool}
    picks: list[Selected] = []
    while pool and len(picks) < m:
        best = min(
            pool, key=lambda p: (-len(topics[p.id] - covered), *(-x for x in _popularity(p)), p.id)
        )
        new = sorted(topics[best.id] - covered)
        sel = Selected(id=best.id, kind="recommended", reason="", rank=len(taken) + len(picks) + 1)
        picks.append(
            with_reasons(sel, {lang: coverage_reason(lang, best, new) for lang in languages})
        )
        covered |= topics[best.id]
        pool.remove(best)
    return picks


class HeuristicRecommender:
    """The recommender used when no LLM is configured."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def recommend(
        self, pool: list[Paper], ranked_sel: list[Selected], m: int, languages: Sequence[str] = ()
    ) -> Recommendation:
        """M more by greedy topic coverage."""
        s = self.settings
        langs = list(dict.fromkeys([s.edition.language, *languages]))
        picks = heuristic(pool, ranked_sel, m, s.topics, langs)
        return Recommendation(picks=picks, method="heuristic")

    def usage_line(self) -> str | None:
        """No model, no usage."""
        return None
