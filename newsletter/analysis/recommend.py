"""Choosing the edition's papers: top N by upvotes, then M recommended.

Without an LLM the recommended papers come from a documented heuristic, *greedy topic
coverage*: repeatedly take the remaining candidate that adds the most topics the edition does
not cover yet; ties go to more upvotes, then more GitHub stars, then more comments, then the
smaller arXiv id. It favours breadth the way an editor would, and is deterministic.
"""

from __future__ import annotations

from ..config import TopicSettings
from ..models import Paper, Selected
from ..topics import rule_topics


def _popularity(p: Paper) -> tuple[int, int, int]:
    return (p.upvotes or 0, p.github_stars or 0, p.comments or 0)


def ranked(papers: list[Paper], n: int) -> list[Selected]:
    """The top ``n`` papers by upvotes (ties: stars, comments, id)."""
    with_votes = [p for p in papers if p.upvotes is not None]
    order = sorted(with_votes, key=lambda p: (tuple(-x for x in _popularity(p)), p.id))
    return [
        Selected(id=p.id, kind="ranked", rank=i + 1, reason=f"upvotes rank #{i + 1}")
        for i, p in enumerate(order[:n])
    ]


def heuristic(papers: list[Paper], taken: list[Selected], m: int,
              taxonomy: dict[str, TopicSettings]) -> list[Selected]:
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
        best = min(pool, key=lambda p: (-len(topics[p.id] - covered),
                                        *(-x for x in _popularity(p)), p.id))
        new = sorted(topics[best.id] - covered)
        reason = (f"adds topics not yet covered: {', '.join(new)}" if new
                  else "next by upvotes among the rest")
        picks.append(Selected(id=best.id, kind="recommended", reason=reason,
                              rank=len(taken) + len(picks) + 1))
        covered |= topics[best.id]
        pool.remove(best)
    return picks
