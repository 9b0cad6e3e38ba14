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
    assert picks[0].reason == "adds topics not yet covered: benchmarks, video"
    assert picks[2].reason == "next by upvotes among the rest"
    assert [p.rank for p in picks] == [2, 3, 4]
    # Readers see the reasons: a Korean edition gets them in Korean.
    korean = heuristic(pool, ranked(pool, 1, "ko"), 3, taxonomy, "ko")
    assert [p.id for p in korean] == [p.id for p in picks]
    assert korean[0].reason == "아직 다루지 않은 주제: benchmarks, video"
    assert ranked(pool, 1, "ko")[0].reason == "추천수 1위"
