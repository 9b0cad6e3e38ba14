"""Without an LLM: the abstract card and the greedy topic-coverage recommendation."""

from __future__ import annotations

from newsletter.analysis.heuristic import heuristic, ranked
from newsletter.analysis.offline import analyze_offline, first_sentence
from newsletter.config import Settings, TopicSettings
from newsletter.models import Paper

TAXONOMY = Settings().topics


def make(pid: str, **fields: object) -> Paper:
    return Paper.model_validate({"id": pid, "title": f"Paper {pid}", **fields})


def test_the_abstract_card_uses_ai_summary_and_keywords() -> None:
    p = make(
        "2606.00001",
        abstract="We build a robot arm. It grasps cups.",
        ai_summary="A robot arm that grasps cups.",
        ai_keywords=["robot arm", "grasping"],
        categories=["cs.RO"],
    )
    card = analyze_offline(p, TAXONOMY, "ko")
    assert card.analysis.summary == "A robot arm that grasps cups."
    assert card.analysis.core_idea == p.abstract
    assert card.analysis.tags == ["robot arm", "grasping"]
    assert card.analysis.topics == ["robotics"]
    assert card.analyzer == "offline" and card.abstract_only
    assert card.fulltext.source == "abstract" and "no LLM" in (card.fulltext.note or "")


def test_without_ai_fields_the_first_sentence_and_categories() -> None:
    p = make(
        "2606.00002",
        abstract="Speech models mishear accents (e.g. Scots). We fix it.",
        categories=["eess.AS", "cs.CL"],
    )
    card = analyze_offline(p, TAXONOMY, "en")
    assert card.analysis.summary == "Speech models mishear accents (e.g. Scots)."
    assert card.analysis.tags == ["eess.AS", "cs.CL"]
    # eess.AS makes it speech; cs.CL alone says nothing (it holds more than language models).
    assert card.analysis.topics == ["speech"]
    assert first_sentence("") == ""


def test_heuristic_adds_uncovered_topics_then_upvotes() -> None:
    # Topics by category and keyword, from a taxonomy of its own (the logic is under test).
    taxonomy = {
        "llm": TopicSettings(arxiv_categories=["cs.CL"]),
        "video": TopicSettings(keywords=["video"]),
        "robotics": TopicSettings(arxiv_categories=["cs.RO"]),
        "benchmarks": TopicSettings(keywords=["benchmark"]),
    }
    pool = [
        make("2606.00010", upvotes=50, categories=["cs.CL"]),
        make("2606.00011", upvotes=40, categories=["cs.CL"]),
        make("2606.00012", upvotes=1, categories=["cs.RO"]),
        make("2606.00013", upvotes=2, categories=["cs.CL"], abstract="A video benchmark."),
        make("2606.00014", upvotes=3, categories=["cs.CL"]),
    ]
    top = ranked(pool, 1)
    assert [s.id for s in top] == ["2606.00010"]
    picks = heuristic(pool, top, 3, taxonomy)
    # 00013 adds video + benchmarks (two new topics), 00012 adds robotics, then upvotes.
    assert [p.id for p in picks] == ["2606.00013", "2606.00012", "2606.00011"]
    assert picks[0].reason == (
        "recommended: brings in benchmarks, video, not yet covered in this edition"
    )
    assert picks[2].reason == "recommended: the most upvoted of the rest"
    assert [p.rank for p in picks] == [2, 3, 4]
    assert [s.reason for s in ranked(pool, 3)] == [
        "most upvoted",
        "2nd most upvoted",
        "3rd most upvoted",
    ]
    # Subscribers see the reasons: in every language they read, the edition's first.
    both = heuristic(pool, ranked(pool, 1, ["ko", "en"]), 3, taxonomy, ["ko", "en"])
    assert [p.id for p in both] == [p.id for p in picks]
    assert both[0].reason == "추천: 이번 호에서 아직 다루지 않은 주제(benchmarks, video)"
    assert both[0].reasons == {"ko": both[0].reason, "en": picks[0].reason}
    assert ranked(pool, 1, ["ko", "en"])[0].reasons == {"ko": "추천수 1위", "en": "most upvoted"}


def test_a_paper_without_upvotes_is_never_given_an_upvote_reason() -> None:
    pool = [
        make("2606.00020", upvotes=5, categories=["cs.CL"]),
        make("2606.00021", upvotes=None, categories=["cs.CL"]),
        make("2606.00022", upvotes=0, categories=["cs.CL"]),
    ]
    top = ranked(pool, 3)
    assert [s.id for s in top] == ["2606.00020"]  # unknown and zero upvotes rank nothing
    picks = heuristic(pool, top, 2, TAXONOMY, ["en", "ko"])
    assert {p.id for p in picks} == {"2606.00021", "2606.00022"}
    for pick in picks:
        assert "upvote" not in pick.reason and "추천수" not in pick.reasons["ko"]
        assert pick.reason == "recommended: picked from today's other papers"
