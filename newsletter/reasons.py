"""Why a paper was selected, in the words a subscriber reads, in each language.

A card says why its paper is in the edition: "3rd most upvoted" for the ranked ones,
"recommended: ..." for the others, with the recommender's own reason when it gave one. Only a
paper with upvotes is ever given an upvote reason.
"""

from __future__ import annotations

from .models import Paper, Selected

_TEXT = {
    "ko": {
        "ranked": "추천수 {n}위",
        "recommended": "추천: {why}",
        "new_topics": "이번 호에서 아직 다루지 않은 주제({topics})",
        "next": "남은 논문 중 추천수가 가장 많음",
        "picked": "오늘의 다른 논문 가운데 골랐습니다",
    },
    "en": {
        "ranked": "{nth} most upvoted",
        "recommended": "recommended: {why}",
        "new_topics": "brings in {topics}, not yet covered in this edition",
        "next": "the most upvoted of the rest",
        "picked": "picked from today's other papers",
    },
}


def _words(language: str) -> dict[str, str]:
    return _TEXT.get(language, _TEXT["en"])


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def ranked_reason(language: str, n: int) -> str:
    """'3rd most upvoted' / '추천수 3위' (the first: 'most upvoted')."""
    text = _words(language)["ranked"].format(n=n, nth=ordinal(n))
    return text.removeprefix("1st ") if n == 1 else text


def recommended_reason(language: str, why: str) -> str:
    """'recommended: WHY' / '추천: WHY'."""
    return _words(language)["recommended"].format(why=why.strip())


def coverage_reason(language: str, paper: Paper, new_topics: list[str]) -> str:
    """Greedy topic coverage's reason: the topics it adds, else upvotes (only if it has some)."""
    t = _words(language)
    if new_topics:
        why = t["new_topics"].format(topics=", ".join(new_topics))
    elif paper.upvotes:
        why = t["next"]
    else:
        why = t["picked"]
    return recommended_reason(language, why)


def reason_for(selected: Selected, language: str) -> str:
    """The reason to show in ``language``: the one written at selection, else one made from
    the selection's kind and rank (a ranked paper's rank is its place by upvotes)."""
    if language in selected.reasons:
        return selected.reasons[language]
    if selected.kind == "ranked":
        return ranked_reason(language, selected.rank)
    return recommended_reason(language, _words(language)["picked"])
