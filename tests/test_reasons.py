"""Why a paper was selected, in the words of each language (newsletter.reasons)."""

from __future__ import annotations

import pytest

from newsletter.models import Paper, Selected
from newsletter.reasons import coverage_reason, ordinal, ranked_reason, reason_for


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (101, "101st"),
        (111, "111th"),
    ],
)
def test_ordinal(n: int, text: str) -> None:
    assert ordinal(n) == text


def test_reasons_read_as_sentences_in_each_language() -> None:
    assert ranked_reason("en", 1) == "most upvoted"
    assert ranked_reason("en", 3) == "3rd most upvoted"
    assert ranked_reason("ko", 3) == "추천수 3위"
    voted = Paper(id="2606.00001", title="t", upvotes=4)
    unvoted = Paper(id="2606.00002", title="t")
    assert coverage_reason("en", voted, ["robotics"]) == (
        "recommended: brings in robotics, not yet covered in this edition"
    )
    assert coverage_reason("en", voted, []) == "recommended: the most upvoted of the rest"
    # Without upvotes, never an upvote reason.
    assert coverage_reason("en", unvoted, []) == "recommended: picked from today's other papers"
    assert "추천수" not in coverage_reason("ko", unvoted, [])


def test_a_language_the_selection_has_no_reason_in_gets_one_made() -> None:
    ranked = Selected(
        id="2606.00001", kind="ranked", reason="추천수 2위", rank=2, reasons={"ko": "추천수 2위"}
    )
    picked = Selected(
        id="2606.00002",
        kind="recommended",
        reason="추천: 좋은 논문",
        rank=6,
        reasons={"ko": "추천: 좋은 논문"},
    )
    assert reason_for(ranked, "ko") == "추천수 2위"
    assert reason_for(ranked, "en") == "2nd most upvoted"
    assert reason_for(picked, "en") == "recommended: picked from today's other papers"
