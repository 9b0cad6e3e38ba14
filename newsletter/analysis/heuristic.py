"""Choosing without an LLM: top N by upvotes, then M more by greedy topic coverage.

*Greedy topic coverage*: repeatedly take the remaining candidate that adds the most topics
the edition does not cover yet; ties go to more upvotes, then more GitHub stars, then more
comments, then the smaller arXiv id. It favours breadth the way an editor would, and is
deterministic. The LLM recommender fills any gap in its picks with it too.
"""

from __future__ import annotations

from ..config import Settings, TopicSettings
from ..models import Paper, Selected
from ..topics import rule_topics
from . import Recommendation


def _popularity(p: Paper) -> tuple[int, int, int]:
    return (p.upvotes or 0, p.github_stars or 0, p.comments or 0)


# Reasons are shown to subscribers on each card, so they are written in the edition's language.
_REASONS = {
    "ko": {
        "ranked": "추천수 {n}위",
        "new_topics": "아직 다루지 않은 주제: {topics}",
        "next": "나머지 중 추천수 순",
        "heuristic": " (규칙 기반)",
    },
    "en": {
        "ranked": "#{n} by upvotes",
        "new_topics": "adds topics not yet covered: {topics}",
        "next": "next by upvotes among the rest",
        "heuristic": " (heuristic)",
    },
}


def reason_text(language: str, key: str, **values: object) -> str:
    return _REASONS.get(language, _REASONS["en"])[key].format(**values)


def ranked(papers: list[Paper], n: int, language: str = "en") -> list[Selected]:
    """The top ``n`` papers by upvotes (ties: stars, comments, id)."""
    with_votes = [p for p in papers if p.upvotes is not None]
    order = sorted(with_votes, key=lambda p: (tuple(-x for x in _popularity(p)), p.id))
    return [
        Selected(
            id=p.id, kind="ranked", rank=i + 1, reason=reason_text(language, "ranked", n=i + 1)
        )
        for i, p in enumerate(order[:n])
    ]


def heuristic(
    papers: list[Paper],
    taken: list[Selected],
    m: int,
    taxonomy: dict[str, TopicSettings],
    language: str = "en",
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
        reason = (
            reason_text(language, "new_topics", topics=", ".join(new))
            if new
            else reason_text(language, "next")
        )
        picks.append(
            Selected(
                id=best.id, kind="recommended", reason=reason, rank=len(taken) + len(picks) + 1
            )
        )
        covered |= topics[best.id]
        pool.remove(best)
    return picks


class HeuristicRecommender:
    """The recommender used when no LLM is configured."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def recommend(self, pool: list[Paper], ranked_sel: list[Selected], m: int) -> Recommendation:
        """M more by greedy topic coverage."""
        s = self.settings
        picks = heuristic(pool, ranked_sel, m, s.topics, s.edition.language)
        return Recommendation(picks=picks, method="heuristic")

    def usage_line(self) -> str | None:
        """No model, no usage."""
        return None
