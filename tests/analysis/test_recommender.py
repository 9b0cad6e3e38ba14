"""LLM recommendation against a local OpenAI-compatible server: ids checked, repaired, filled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import FIXTURES as FIXTURES_DIR
from support.llm_server import LLMServer, fail, ok, serving, user_text

from newsletter.analysis import heuristic as recommend
from newsletter.analysis.analyzer import make_llm_recommender as make_recommender
from newsletter.config import Settings
from newsletter.files import write_model
from newsletter.models import Candidates, Paper, Selection
from newsletter.sources.huggingface import parse_item
from newsletter.stages.select import select

FIXTURES = FIXTURES_DIR
POOL = [
    parse_item(x, "2026-06-12", "fixture")
    for x in json.loads((FIXTURES / "hf" / "2026-06-12.json").read_text(encoding="utf-8"))
]
INTERESTS = "agent safety and tool use; robots"


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    with serving() as server:
        yield server


def settings(tmp_path: Path, server: LLMServer, language: str = "en", **llm: Any) -> Settings:
    values: dict[str, Any] = {
        "base_url": server.url,
        "model": "local-model",
        "max_retries": 1,
        "retry_backoff_s": 0.01,
        "timeout_s": 5,
        "interests": INTERESTS,
    }
    values.update(llm)
    return Settings.model_validate(
        {
            "llm": values,
            "edition": {"language": language, "ranked": 3, "recommended": 2},
            "storage": {"data_dir": str(tmp_path / "data")},
        }
    )


def ranked(n: int = 3) -> list[Any]:
    return recommend.ranked(POOL, n)


def rest() -> list[Paper]:
    ids = {s.id for s in ranked()}
    return [p for p in POOL if p.id not in ids]


def test_picks_and_reasons_are_kept_and_the_prompt_shows_the_candidates(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    a, b = "2606.07867", "2606.08103"
    llm_server.add(
        ok(
            {
                "picks": [
                    {"id": a, "reason": "Shows agents are least safe at the start of a session."},
                    {"id": b, "reason": "A cheap VR labeling route to robot manipulation."},
                ]
            }
        )
    )
    rec = make_recommender(settings(tmp_path, llm_server))
    picks = rec.picks(POOL, ranked(), 2)
    assert [(p.id, p.kind, p.rank) for p in picks] == [(a, "recommended", 4), (b, "recommended", 5)]
    assert picks[0].reason == "recommended: Shows agents are least safe at the start of a session."
    [body] = llm_server.requests
    assert body["model"] == "local-model"
    assert body["response_format"]["json_schema"]["name"] == "recommendation"
    text = user_text(body)
    assert INTERESTS in text and "Pick exactly 2 papers" in text
    candidates = text.split("Candidates:", 1)[1]
    for paper in rest():
        assert f"id {paper.id} | {paper.title}" in candidates
    head = text.split("Candidates:", 1)[0]
    for sel in ranked():
        assert f"id {sel.id} |" not in candidates
        assert f"- {sel.id} |" in head
    # In rank order: the prompt is the cache key and must not depend on set ordering.
    spots = [head.index(f"- {sel.id} |") for sel in ranked()]
    assert spots == sorted(spots)
    assert "id 2606.13594 | See What I See" in candidates
    assert "upvotes 3, org University of Michigan\n  Multi-agent systems communicate" in candidates
    assert rec.method == "llm" and rec.warnings == []


def test_bad_ids_go_back_in_one_repair(tmp_path: Path, llm_server: LLMServer) -> None:
    top = ranked()[0].id
    llm_server.add(
        ok(
            {
                "picks": [
                    {"id": "2606.99999", "reason": "made up"},
                    {"id": top, "reason": "already in"},
                    {"id": "2606.08103", "reason": "robots"},
                    {"id": "2606.08103", "reason": "robots again"},
                ]
            }
        ),
        ok(
            {
                "picks": [
                    {"id": "2606.08103", "reason": "robots"},
                    {"id": "2606.12451v1", "reason": "tool retrieval audit"},
                ]
            }
        ),
    )
    picks = make_recommender(settings(tmp_path, llm_server)).picks(POOL, ranked(), 2)
    asked = user_text(llm_server.requests[1])
    assert "2606.99999 is not a candidate id" in asked
    assert f"{top} is already ranked" in asked
    assert "2606.08103 is named more than once" in asked
    assert [p.id for p in picks] == ["2606.08103", "2606.12451"]


def test_what_the_repair_cannot_fix_is_filled_by_the_heuristic(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    llm_server.add(
        ok({"picks": [{"id": "2606.08103", "reason": "robots"}, {"id": "nope", "reason": "?"}]}),
        ok("not json at all"),
    )
    rec = make_recommender(settings(tmp_path, llm_server))
    picks = rec.picks(POOL, ranked(), 2)
    assert picks[0].id == "2606.08103" and picks[0].reason == "recommended: robots"
    expected = recommend.heuristic(POOL, [*ranked(), picks[0]], 1, Settings().topics)[0]
    assert picks[1].id == expected.id and picks[1].reason == expected.reason
    assert any("not JSON" in w for w in rec.warnings)
    # Subscribers read the reason; operators learn how the gap was filled.
    assert "1 of 2 picks by greedy topic coverage" in " ".join(rec.warnings)


def test_an_endpoint_that_is_down_means_the_heuristic(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    llm_server.add(fail(503), fail(503))
    rec = make_recommender(settings(tmp_path, llm_server))
    picks = rec.picks(POOL, ranked(), 2)
    assert [p.id for p in picks] == [
        p.id for p in recommend.heuristic(POOL, ranked(), 2, Settings().topics)
    ]
    assert rec.method == "heuristic" and "HTTP 503" in rec.warnings[0]


def test_select_stage_records_the_model_and_a_rerun_uses_the_cache(
    tmp_path: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the bundled example list: Korean and English subscribers
    s = settings(tmp_path, llm_server, language="ko")
    paths = s.layout.edition("2026-06-12")
    write_model(
        paths.candidates,
        Candidates.model_validate(
            {"date": "2026-06-12", "collected_at": "2026-06-12T00:00:00Z", "papers": POOL}
        ),
    )
    answer = {
        "picks": [
            {
                "id": "2606.07867",
                "reason": "세션 초반 에이전트의 안전 공백을 다룹니다.",
                "reason_en": "Covers the safety gap of agents early in a session.",
            },
            {
                "id": "2606.08103",
                "reason": "VR 라벨링으로 로봇 조작을 쉽게 합니다.",
                "reason_en": "VR labeling makes robot manipulation data cheap.",
            },
        ]
    }
    llm_server.add(ok(answer))
    said: list[str] = []
    selection = select(s, "2026-06-12", make_recommender(s), progress=said.append)
    asked = llm_server.requests[0]
    assert "정확히 2편" in user_text(asked)
    assert '"reason_en": "the same reason in English"' in user_text(asked)
    schema = asked["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["picks"]["items"]["required"] == ["id", "reason", "reason_en"]
    assert selection.method == "llm" and selection.model == "local-model"
    assert [p.kind for p in selection.papers] == ["ranked"] * 3 + ["recommended"] * 2
    stored = Selection.model_validate_json(paths.selection.read_bytes())
    assert stored.papers[3].reason == "추천: " + answer["picks"][0]["reason"]
    assert stored.papers[3].reasons == {
        "ko": stored.papers[3].reason,
        "en": "recommended: Covers the safety gap of agents early in a session.",
    }
    assert stored.papers[0].reasons == {"ko": "추천수 1위", "en": "most upvoted"}
    again = make_recommender(s)
    select(s, "2026-06-12", again, force=True, progress=said.append)
    assert len(llm_server.requests) == 1
    assert "0 calls" in again.usage_line() and "1 from cache" in again.usage_line()


def test_too_many_picks_keep_the_first_m_and_too_few_are_asked_again(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    ids = [p.id for p in rest()][:4]
    llm_server.add(ok({"picks": [{"id": i, "reason": "good"} for i in ids]}))
    picks = make_recommender(settings(tmp_path, llm_server)).picks(POOL, ranked(), 2)
    assert [p.id for p in picks] == ids[:2] and len(llm_server.requests) == 1
    llm_server.add(
        ok({"picks": [{"id": ids[2], "reason": "good"}]}),
        ok({"picks": [{"id": ids[2], "reason": "good"}, {"id": ids[3], "reason": "also good"}]}),
    )
    picks = make_recommender(settings(tmp_path / "b", llm_server)).picks(POOL, ranked(), 2)
    assert "only 1 picks, asked for 2" in user_text(llm_server.requests[2])
    assert [p.id for p in picks] == ids[2:4]


def test_a_korean_reason_with_chinese_characters_is_repaired(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    leaky = {"picks": [{"id": "2606.08103", "reason": "로봇 조작의 数据 수집을 쉽게 합니다."}]}
    clean = {"picks": [{"id": "2606.08103", "reason": "로봇 조작의 데이터 수집을 쉽게 합니다."}]}
    llm_server.add(ok(leaky), ok(clean))
    picks = make_recommender(settings(tmp_path, llm_server, "ko")).picks(POOL, ranked(), 1)
    assert "(数据)" in user_text(llm_server.requests[1])
    assert picks[0].reason == "추천: " + clean["picks"][0]["reason"]


def test_a_missing_or_korean_english_reason_is_asked_again_then_left_to_the_card(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    first = {"picks": [{"id": "2606.08103", "reason": "로봇 조작을 쉽게 합니다."}]}
    second = {
        "picks": [
            {"id": "2606.08103", "reason": "로봇 조작을 쉽게 합니다.", "reason_en": "로봇 조작"}
        ]
    }
    llm_server.add(ok(first), ok(second))
    rec = make_recommender(settings(tmp_path, llm_server, "ko"))
    [pick] = rec.picks(POOL, ranked(), 1, ["en"])
    assert "2606.08103 has no 'reason_en' (English)" in user_text(llm_server.requests[1])
    # Still Hangul after the repair: dropped, the card gives a general English reason.
    assert pick.reasons == {"ko": "추천: 로봇 조작을 쉽게 합니다."}
    assert any(
        "'reason_en' of 2606.08103 has characters that are not English" in w for w in rec.warnings
    )
    assert "no en reason for 2606.08103" in " ".join(rec.warnings)


def test_a_reason_never_speaks_of_upvotes_a_paper_does_not_have(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    pool = [p.model_copy(update={"upvotes": None}) if p.id == "2606.08103" else p for p in POOL]
    claim = {"picks": [{"id": "2606.08103", "reason": "Many upvotes for robot manipulation."}]}
    llm_server.add(ok(claim), ok(claim))
    rec = make_recommender(settings(tmp_path, llm_server))
    [pick] = rec.picks(pool, ranked(), 1)
    assert "mentions upvotes, but it has none" in user_text(llm_server.requests[1])
    assert pick.reason == "recommended: picked from today's other papers"
