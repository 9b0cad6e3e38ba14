"""The card checks, the token budgeter, answer parsing and the prompt templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import FIXTURES as FIXTURES_DIR

from newsletter.analysis import prompts as templates
from newsletter.analysis.budget import CUT_MARK, estimate_tokens, fit, split_sections
from newsletter.analysis.checks import (
    bounded,
    check,
    foreign_script,
    invented_numbers,
    repeated_fields,
)
from newsletter.analysis.schema import (
    AnswerError,
    analysis_schema,
    parse_analysis,
    parse_recommendation,
)
from newsletter.config import Settings
from newsletter.errors import ConfigError
from newsletter.models import Analysis

FIXTURES = FIXTURES_DIR
CARDS = json.loads((FIXTURES / "llm" / "cards.json").read_text(encoding="utf-8"))
DAY = {
    x["paper"]["id"]: x["paper"]
    for x in json.loads((FIXTURES / "hf" / "2026-06-12.json").read_text(encoding="utf-8"))
}
TAXONOMY = list(Settings().topics)


def source(pid: str) -> str:
    return f"# {DAY[pid]['title']}\n\n## Abstract\n\n{DAY[pid]['summary']}\n"


def card(pid: str, lang: str, **changes: object) -> Analysis:
    return Analysis.model_validate({**CARDS[pid][lang], **changes})


@pytest.mark.parametrize(
    ("pid", "lang"), [(pid, lang) for pid, langs in CARDS.items() for lang in langs]
)
def test_faithful_cards_pass(pid: str, lang: str) -> None:
    assert check(card(pid, lang), language=lang, source=source(pid), taxonomy=TAXONOMY) == []


def test_empty_fields_are_named() -> None:
    bad = card("2606.13174", "ko", problem=" ", limitations=[], tags=["x", ""])
    problems = check(bad, language="ko", source=source("2606.13174"), taxonomy=TAXONOMY)
    assert "field 'problem' is empty" in problems
    assert "field 'limitations' is empty" in problems
    assert "field 'tags' has an empty item" in problems


def test_chinese_in_korean_is_caught_with_the_leaked_words() -> None:
    base = CARDS["2606.13174"]["ko"]
    bad = card(
        "2606.13174", "ko", method=[*base["method"], "교정을 检索하고 样本 규칙을 链처럼 잇습니다."]
    )
    problems = check(bad, language="ko", source=source("2606.13174"), taxonomy=TAXONOMY)
    assert len(problems) == 1
    assert "field 'method'" in problems[0]
    for word in ("检索", "样本", "链"):
        assert f"'{word}'" in problems[0]


def test_kana_and_hangul_are_foreign_where_they_should_be() -> None:
    assert foreign_script("에이전트가 メモリ를 씁니다", "ko") == ["メ", "モ", "リ"]
    assert foreign_script("입력・출력 〜 「요약」", "ko") == []
    assert foreign_script("The agent uses 메모리", "en") == ["메", "모", "리"]
    assert foreign_script("The agent (α, β) uses memory — “fine”", "en") == []


def test_a_quoted_original_term_is_allowed_only_when_the_paper_has_it() -> None:
    src = 'The Hindi word "आरोग्य" means health.'
    assert foreign_script('힌디어 "आरोग्य"(건강)라는 이름', "ko", src) == []
    assert foreign_script('힌디어 "आरोग्य"(건강)라는 이름', "ko", "no such word") != []


def test_numbers_must_come_from_the_source_in_any_accepted_form() -> None:
    src = source("2606.13174") + "\nWe also see a 2x speedup, twice as fast, and 47k tools."
    good = [
        "위반율 37.6%",
        "0.376로 감소",
        "57.5 percent",
        "2배 빠름",
        "2× faster",
        "47,000개 도구",
    ]
    assert invented_numbers(good, src) == []
    assert invented_numbers(["위반율이 93.47%에서 37.6%로", "3배 빠름"], src) == ["93.47", "3"]
    assert invented_numbers(["accuracy 0.9347"], "reaches 93.47% accuracy") == []


def test_invented_number_in_results_is_a_problem() -> None:
    base = CARDS["2606.08103"]["en"]
    bad = card("2606.08103", "en", results=[*base["results"], "Success rises to 81.5%."])
    problems = check(bad, language="en", source=source("2606.08103"), taxonomy=TAXONOMY)
    assert problems == [
        "field 'results' has numbers that are not in the paper: 81.5; quote "
        "only the paper's own figures"
    ]


def test_a_field_copied_into_another_is_caught() -> None:
    base = CARDS["2606.13594"]["ko"]
    bad = card("2606.13594", "ko", prerequisites=[base["core_idea"]])
    problems = check(bad, language="ko", source=source("2606.13594"), taxonomy=TAXONOMY)
    assert problems == [
        "field 'prerequisites' repeats field 'core_idea'; say something "
        "different in 'prerequisites'"
    ]


def test_a_term_used_in_a_sentence_is_not_a_repeat() -> None:
    base = CARDS["2606.00467"]["ko"]
    assert "LLM 판정자(LLM-as-a-judge)" in base["problem"]
    assert "LLM 판정자(LLM-as-a-judge)" in base["prerequisites"]
    assert (
        check(
            card("2606.00467", "ko"), language="ko", source=source("2606.00467"), taxonomy=TAXONOMY
        )
        == []
    )


def test_topics_outside_the_taxonomy() -> None:
    bad = card("2606.13174", "en", topics=["agents", "quantum"])
    problems = check(bad, language="en", source=source("2606.13174"), taxonomy=TAXONOMY)
    assert len(problems) == 1 and "quantum" in problems[0] and "robotics" in problems[0]


def test_schema_is_strict_and_limits_topics() -> None:
    schema = analysis_schema(["llm", "agents"])
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(Analysis.model_fields)
    assert schema["properties"]["topics"]["items"] == {"type": "string", "enum": ["llm", "agents"]}
    assert schema["properties"]["method"]["minItems"] == 1


def test_parse_analysis_errors_name_the_fields() -> None:
    with pytest.raises(AnswerError) as info:
        parse_analysis("Sure! Here is the card: summary is ...")
    assert "not JSON" in str(info.value)
    partial = {k: v for k, v in CARDS["2606.13174"]["en"].items() if k not in ("results", "tags")}
    with pytest.raises(AnswerError) as info:
        parse_analysis(json.dumps(partial))
    assert info.value.problems == ["field 'results' is missing", "field 'tags' is missing"]
    fenced = "```json\n" + json.dumps(CARDS["2606.13174"]["en"]) + "\n```"
    assert parse_analysis(fenced).summary.startswith("TRACE")
    assert parse_recommendation('{"picks": [{"id": "1", "reason": "r"}]}').picks[0].id == "1"


LONG = " ".join(["Routing sends each query to the blocks that matter."] * 30)


def paper_text() -> str:
    return (
        "\n\n".join(
            [
                "# Sparse Routing",
                "## Abstract",
                "We route queries. " * 5,
                "## 1 Introduction",
                LONG,
                "## 2 Related Work",
                LONG,
                "## 3 Method",
                LONG,
                "### 3.1 Training",
                LONG,
                "## 4 Experiments",
                LONG + " Accuracy is 71.5.",
                "## 5 Conclusion",
                "We conclude.",
                "## References",
                "[1] Someone. A paper. 2017. " * 40,
                "## A Proofs",
                LONG,
            ]
        )
        + "\n"
    )


def test_sections_and_their_kinds() -> None:
    kinds = [(s.heading, s.kind) for s in split_sections(paper_text())]
    assert kinds == [
        ("", "title"),
        ("## Abstract", "abstract"),
        ("## 1 Introduction", "introduction"),
        ("## 2 Related Work", "related"),
        ("## 3 Method", "method"),
        ("## 4 Experiments", "experiments"),
        ("## 5 Conclusion", "conclusion"),
        ("## References", "references"),
        ("## A Proofs", "appendix"),
    ]


def test_budget_keeps_priorities_and_document_order() -> None:
    text = paper_text()
    whole = fit(text, 100_000)
    assert whole.text == text and not whole.dropped
    tight = fit(text, 1200)
    assert tight.tokens <= 1200
    # The long body sections share the budget evenly; the rest, appendix, references go.
    assert tight.kept == ["Abstract", "5 Conclusion"]
    assert tight.cut == ["1 Introduction", "3 Method", "4 Experiments"]
    assert tight.dropped == ["2 Related Work", "A Proofs", "References"]
    roomy = fit(text, 2000)
    assert roomy.cut == ["2 Related Work"] and roomy.dropped == ["A Proofs", "References"]
    assert "## References" not in tight.text and "## A Proofs" not in tight.text
    order = [
        tight.text.index(h)
        for h in (
            "## Abstract",
            "## 1 Introduction",
            "## 3 Method",
            "## 4 Experiments",
            "## 5 Conclusion",
        )
    ]
    assert order == sorted(order)
    tiny = fit(text, 500)
    assert tiny.tokens <= 500
    assert "## Abstract" in tiny.text and CUT_MARK in tiny.text
    assert "## 2 Related Work" not in tiny.text


def test_token_estimate_counts_hangul_per_character() -> None:
    assert estimate_tokens("abcd" * 10) == 10
    assert estimate_tokens("한국어") == 3


def test_bundled_prompts_load_and_render() -> None:
    for task in ("analyze", "recommend"):
        for lang in ("ko", "en"):
            prompt = templates.load(task, lang)
            assert prompt.version.startswith(f"{task}-{lang}-")
            assert prompt.render("repair", problems="- x").count("- x") == 1


def test_a_broken_prompt_file_names_itself(tmp_path: Path) -> None:
    (tmp_path / "analyze.ko.txt").write_text("no version line\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"analyze\.ko\.txt:1: a prompt file starts"):
        templates.load("analyze", "ko", str(tmp_path))
    (tmp_path / "analyze.ko.txt").write_text(
        "version: x\n=== system ===\n$nope\n=== user ===\nu\n=== repair ===\nr\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="unknown or malformed placeholder"):
        templates.load("analyze", "ko", str(tmp_path)).render("system", title="t")


def test_harmless_answer_shapes_are_forgiven() -> None:
    base = CARDS["2606.13174"]["en"]
    shaped = {
        "analysis": dict(
            base,
            method="- mine corrections\n2. compile checks",
            tags="coding agents, memory",
            problem=["One.", "Two."],
            title="not a field",
        )
    }
    got = parse_analysis("<think>Let me {think}.</think>\n" + json.dumps(shaped))
    assert got.method == ["mine corrections", "compile checks"]
    assert got.tags == ["coding agents", "memory"] and got.problem == "One. Two."


def test_korean_number_units_compare_with_the_paper() -> None:
    src = "Applying ToolSense to ToolBench (~47k tools)"
    assert invented_numbers(["약 4만 7천 개 도구", "4.7만 개 도구"], src) == []
    assert invented_numbers(["5만 개 도구"], src) == ["50000"]


def test_fields_over_their_bound_are_cut_and_named() -> None:
    huge = card(
        "2606.13594",
        "ko",
        core_idea="가" * 2_000_000,
        method=["단계"] * 100_000,
        tags=["x" * 500],
    )
    cut, problems = bounded(huge)
    assert len(cut.core_idea) == 3_000 and cut.core_idea.endswith("…")
    assert len(cut.method) == 12 and len(cut.tags[0]) == 80
    assert problems == [
        "field 'core_idea' is 2,000,000 characters, over the limit of 3,000; it was cut: "
        "keep it short",
        "field 'method' has 100,000 items (at most 12), the longest 2 characters (at most "
        "1,000); it was cut: keep it short",
        "field 'tags' has 1 items (at most 12), the longest 500 characters (at most 80); it was "
        "cut: keep it short",
    ]
    faithful = card("2606.13594", "ko")
    assert bounded(faithful) == (faithful, [])


def test_long_near_copies_are_repeats_and_long_different_texts_are_not() -> None:
    long_text = " ".join(
        f"{i}번째 관찰: 긴 문맥에서도 캐시를 줄이면서 정확도를 지키는 방법을 살펴본다."
        for i in range(60)
    )  # ~3,000 characters
    near_copy = long_text.replace("번째", "번 째", 3)
    bad = card("2606.13594", "ko", core_idea=long_text, key_technique=near_copy)
    assert repeated_fields(bad) == [("key_technique", "core_idea")]
    # Twelve items of 1,000 characters in every list field, none repeating another.
    items = [f"{i}번 항목 " + "가나다라마바사아자차카타파하"[i % 14] * 990 for i in range(12)]
    wide = card("2606.13594", "ko", method=items, results=[t + "!" for t in items[::-1]])
    assert ("results", "method") in repeated_fields(wide)  # same items, other order
