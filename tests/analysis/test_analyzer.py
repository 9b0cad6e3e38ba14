"""The LLM analyzer against a real local OpenAI-compatible server: what is sent, what is kept."""

from __future__ import annotations

import email.utils
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from support import FIXTURES as FIXTURES_DIR
from support.llm_server import Answer, LLMServer, fail, ok, serving, user_text

from newsletter.analysis import make_analyzer
from newsletter.analysis.client import LLMClient
from newsletter.config import Settings
from newsletter.config.secrets import read_secrets
from newsletter.errors import EndpointRefused
from newsletter.http import Http
from newsletter.models import Paper
from newsletter.sources.huggingface import parse_item

FIXTURES = FIXTURES_DIR
CARDS = json.loads((FIXTURES / "llm" / "cards.json").read_text(encoding="utf-8"))
ITEMS = {
    x["paper"]["id"]: x
    for x in json.loads((FIXTURES / "hf" / "2026-06-12.json").read_text(encoding="utf-8"))
}
TRACE, KV, GPS = "2606.13174", "2606.13594", "2606.08103"


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    with serving() as server:
        yield server


def paper(pid: str) -> Paper:
    return parse_item(ITEMS[pid], "2026-06-12", "fixture")


def settings(tmp_path: Path, server: LLMServer, language: str = "ko", **llm: Any) -> Settings:
    values: dict[str, Any] = {
        "base_url": server.url,
        "model": "glm-4.7",
        "max_retries": 2,
        "retry_backoff_s": 0.01,
        "timeout_s": 5,
        "price_input_per_mtok": 0.6,
        "price_output_per_mtok": 2.2,
    }
    values.update(llm)
    return Settings.model_validate(
        {
            "llm": values,
            "edition": {"language": language},
            "storage": {"data_dir": str(tmp_path / "data")},
        }
    )


def test_a_good_korean_card_is_kept_with_usage_and_cost(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    llm_server.add(ok(CARDS[TRACE]["ko"], usage=(1500, 700)))
    s = settings(tmp_path, llm_server)
    analyzer = make_analyzer(s, None)
    [result] = analyzer.analyze_many([paper(TRACE)])
    [body] = llm_server.requests
    assert body["model"] == "glm-4.7"
    assert body["temperature"] == pytest.approx(0.3)
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    topics = fmt["json_schema"]["schema"]["properties"]["topics"]["items"]["enum"]
    assert topics == list(s.topics)
    sent = user_text(body)
    assert "## Abstract" in sent and "57.5% of applicable preference checks" in sent
    assert "arXiv: 2606.13174" in sent and "초록만 있음" in sent
    assert "한자" in body["messages"][0]["content"]  # the Korean system prompt
    assert result.analyzer == "llm" and result.model == "glm-4.7"
    assert result.prompt_version == "analyze-ko-1" and result.language == "ko"
    assert result.abstract_only is True and result.warnings == []
    assert result.analysis.summary == CARDS[TRACE]["ko"]["summary"]
    assert result.usage == {"calls": 1, "prompt_tokens": 1500, "completion_tokens": 700}
    assert result.cost_usd == pytest.approx((1500 * 0.6 + 700 * 2.2) / 1e6)
    line = analyzer.usage_line()
    assert "1 call, 1,500 input + 700 output tokens, $0.0024" in line
    calls = (tmp_path / "data" / "cache" / "llm" / "calls.jsonl").read_text().splitlines()
    assert json.loads(calls[0])["subject"] == TRACE and json.loads(calls[0])["outcome"] == "ok"


def test_an_english_card(tmp_path: Path, llm_server: LLMServer) -> None:
    llm_server.add(ok(CARDS[GPS]["en"]))
    [result] = make_analyzer(settings(tmp_path, llm_server, "en"), None).analyze_many([paper(GPS)])
    assert "everyday analogy" in user_text(llm_server.requests[0])
    assert result.language == "en" and result.warnings == []
    assert result.analysis.topics == ["robotics", "vision"]


@pytest.mark.parametrize(("pid", "lang"), [("2606.00467", "ko"), ("2606.11409", "en")])
def test_more_faithful_cards_pass_untouched(
    tmp_path: Path, llm_server: LLMServer, pid: str, lang: str
) -> None:
    llm_server.add(ok(CARDS[pid][lang]))
    [result] = make_analyzer(settings(tmp_path, llm_server, lang), None).analyze_many([paper(pid)])
    assert len(llm_server.requests) == 1 and result.warnings == []
    assert result.analysis.model_dump() == CARDS[pid][lang]


def test_a_rerun_is_answered_from_the_cache(tmp_path: Path, llm_server: LLMServer) -> None:
    llm_server.add(ok(CARDS[TRACE]["ko"]))
    s = settings(tmp_path, llm_server)
    first = make_analyzer(s, None).analyze_many([paper(TRACE)])[0]
    again = make_analyzer(s, None)
    second = again.analyze_many([paper(TRACE)])[0]
    assert len(llm_server.requests) == 1
    assert second.analysis == first.analysis and second.usage["from_cache"] == 1
    assert again.usage.calls == 0 and again.usage.prompt_tokens == 0
    assert "0 calls" in again.usage_line() and "1 from cache" in again.usage_line()
    # Another model, language or prompt is another key.
    llm_server.add(ok(CARDS[TRACE]["en"]))
    make_analyzer(settings(tmp_path, llm_server, "en"), None).analyze_many([paper(TRACE)])
    assert len(llm_server.requests) == 2


def test_not_json_is_repaired_with_the_error_quoted(tmp_path: Path, llm_server: LLMServer) -> None:
    chatter = "물론입니다! 이 논문은 코딩 에이전트에 관한 것입니다."
    llm_server.add(ok(chatter), ok(CARDS[TRACE]["ko"]))
    [result] = make_analyzer(settings(tmp_path, llm_server), None).analyze_many([paper(TRACE)])
    first, repair = llm_server.requests
    assert repair["messages"][:2] == first["messages"]
    assert repair["messages"][2] == {"role": "assistant", "content": chatter}
    assert "the answer is not JSON" in repair["messages"][3]["content"]
    assert result.analyzer == "llm" and result.warnings == []
    assert result.usage["calls"] == 2


def test_missing_fields_twice_fall_back_to_the_abstract_card(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    partial = {k: v for k, v in CARDS[TRACE]["ko"].items() if k not in ("results", "problem")}
    llm_server.add(ok(partial), ok(partial))
    [result] = make_analyzer(settings(tmp_path, llm_server), None).analyze_many([paper(TRACE)])
    assert "field 'problem' is missing" in user_text(llm_server.requests[1])
    assert "field 'results' is missing" in user_text(llm_server.requests[1])
    assert result.analyzer == "offline" and result.abstract_only
    assert result.fallback is not None and "field 'results' is missing" in result.fallback
    assert result.analysis.core_idea == paper(TRACE).abstract
    assert result.warnings == [f"abstract card (glm-4.7 failed): {result.fallback}"]
    assert result.usage["calls"] == 2 and result.model is None


def test_chinese_characters_in_korean_are_repaired(tmp_path: Path, llm_server: LLMServer) -> None:
    leaky = dict(CARDS[TRACE]["ko"])
    leaky["method"] = [*leaky["method"][:3], "교정 규칙을 检索하여 样本으로 저장합니다."]
    llm_server.add(ok(leaky), ok(CARDS[TRACE]["ko"]))
    [result] = make_analyzer(settings(tmp_path, llm_server), None).analyze_many([paper(TRACE)])
    asked = user_text(llm_server.requests[1])
    assert "field 'method' contains characters that are not Korean ('检索', '样本')" in asked
    assert result.warnings == []
    assert result.analysis.method == CARDS[TRACE]["ko"]["method"]


def test_what_the_repair_leaves_is_stored_as_warnings(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    leaky = dict(CARDS[KV]["ko"])
    leaky["core_idea"] = leaky["core_idea"] + " 이것은 链 구조와 같습니다."
    leaky["results"] = [*leaky["results"], "평균 정확도가 88.1%로 올랐습니다."]
    llm_server.add(ok(leaky), ok(leaky))
    [result] = make_analyzer(settings(tmp_path, llm_server), None).analyze_many([paper(KV)])
    assert result.analyzer == "llm"
    assert result.warnings == [
        "field 'core_idea' contains characters that are not Korean ('链'); write them in "
        "Korean, or as the English term",
        "field 'results' has numbers that are not in the paper: 88.1; quote only the "
        "paper's own figures",
    ]


def test_an_invented_number_is_sent_back(tmp_path: Path, llm_server: LLMServer) -> None:
    bad = dict(CARDS[GPS]["en"])
    bad["results"] = ["The method reaches a 91% success rate on 9 objects."]
    llm_server.add(ok(bad), ok(CARDS[GPS]["en"]))
    [result] = make_analyzer(settings(tmp_path, llm_server, "en"), None).analyze_many([paper(GPS)])
    assert "numbers that are not in the paper: 91;" in user_text(llm_server.requests[1])
    assert result.analysis.results == CARDS[GPS]["en"]["results"] and not result.warnings


def test_an_unknown_topic_is_dropped_after_the_repair(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    odd = dict(CARDS[TRACE]["en"], topics=["agents", "software-engineering"])
    llm_server.add(ok(odd), ok(odd))
    [result] = make_analyzer(settings(tmp_path, llm_server, "en"), None).analyze_many(
        [paper(TRACE)]
    )
    assert "topics outside the taxonomy: software-engineering" in user_text(llm_server.requests[1])
    assert result.analysis.topics == ["agents"]
    assert result.warnings == ["topics outside the taxonomy dropped: software-engineering"]


def test_429_backs_off_and_retries(tmp_path: Path, llm_server: LLMServer) -> None:
    llm_server.add(
        fail(429, "rate limited", retry_after="0"), fail(503, "busy"), ok(CARDS[TRACE]["ko"])
    )
    analyzer = make_analyzer(settings(tmp_path, llm_server), None)
    [result] = analyzer.analyze_many([paper(TRACE)])
    assert len(llm_server.requests) == 3 and result.analyzer == "llm"
    # The two requests that failed are calls too: in the card, the run's line and the log.
    assert result.usage["calls"] == 3 and result.usage["failed_calls"] == 2
    assert "3 calls (2 failed)" in analyzer.usage_line()
    log = (tmp_path / "data" / "cache" / "llm" / "calls.jsonl").read_text().splitlines()
    assert [json.loads(row)["outcome"] for row in log] == ["HTTP 429", "HTTP 503", "ok"]


def test_an_endpoint_that_stays_down_gives_an_abstract_card_not_cached(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    llm_server.add(*[fail(500, "down")] * 3)
    s = settings(tmp_path, llm_server, max_retries=2)
    analyzer = make_analyzer(s, None)
    [result] = analyzer.analyze_many([paper(TRACE)])
    assert len(llm_server.requests) == 3
    assert result.analyzer == "offline" and "HTTP 500" in (result.fallback or "")
    assert "after 3 attempt(s)" in (result.fallback or "")
    assert "1 failed after retries" in analyzer.usage_line()
    assert "3 calls (3 failed)" in analyzer.usage_line()
    assert result.usage["calls"] == 3 and result.usage["failed_calls"] == 3
    llm_server.add(ok(CARDS[TRACE]["ko"]))
    [later] = make_analyzer(s, None).analyze_many([paper(TRACE)])
    assert later.analyzer == "llm" and len(llm_server.requests) == 4


def test_a_timeout_is_a_failure_after_the_configured_seconds(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    release = threading.Event()
    # The answer is held until the analyzer has returned: only the client's own timeout can
    # end the wait (were it ignored, the card would come back from the LLM after 30 s).
    llm_server.add(Answer(content=json.dumps(CARDS[TRACE]["ko"]), hold=lambda: release.wait(30)))
    s = settings(tmp_path, llm_server, timeout_s=0.3, max_retries=0)
    try:
        [result] = make_analyzer(s, None).analyze_many([paper(TRACE)])
    finally:
        release.set()
    assert result.analyzer == "offline" and "timed out" in (result.fallback or "")
    assert "timeout 0.3s" in (result.fallback or "")


def test_json_schema_refused_falls_back_to_json_object(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    llm_server.add(
        fail(400, "response_format json_schema is not supported"),
        ok(CARDS[TRACE]["ko"]),
        ok(CARDS[KV]["ko"]),
    )
    s = settings(tmp_path, llm_server, max_concurrency=1)
    results = make_analyzer(s, None).analyze_many([paper(TRACE), paper(KV)])
    formats = [r.get("response_format") for r in llm_server.requests]
    assert formats[0]["type"] == "json_schema"
    assert formats[1:] == [{"type": "json_object"}, {"type": "json_object"}]
    assert [r.analyzer for r in results] == ["llm", "llm"]


def test_a_fixed_mode_is_not_downgraded(tmp_path: Path, llm_server: LLMServer) -> None:
    llm_server.add(fail(400, "bad response_format"))
    s = settings(tmp_path, llm_server, response_format="json_schema")
    analyzer = make_analyzer(s, None)
    [result] = analyzer.analyze_many([paper(TRACE)])
    assert len(llm_server.requests) == 1 and result.analyzer == "offline"
    assert "rejected the request for 2606.13174 (HTTP 400: bad response_format)" in (
        result.fallback or ""
    )
    assert result.usage == {
        "calls": 1,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "failed_calls": 1,
    }
    assert "1 call (1 failed)" in analyzer.usage_line()
    log = (tmp_path / "data" / "cache" / "llm" / "calls.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["outcome"] == "HTTP 400: bad response_format"
    llm_server.add(ok(CARDS[TRACE]["ko"]))
    make_analyzer(settings(tmp_path, llm_server, response_format="none"), None).analyze_many(
        [paper(TRACE)]
    )
    assert "response_format" not in llm_server.requests[-1]


def test_a_context_overflow_fails_one_paper_and_keeps_the_format(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    llm_server.add(
        fail(400, "This model's maximum context length is 8192 tokens"), ok(CARDS[KV]["ko"])
    )
    s = settings(tmp_path, llm_server, max_concurrency=1)
    long_one, fine = make_analyzer(s, None).analyze_many([paper(TRACE), paper(KV)])
    assert long_one.analyzer == "offline" and "maximum context length" in (long_one.fallback or "")
    assert fine.analyzer == "llm"
    assert llm_server.requests[1]["response_format"]["type"] == "json_schema"


def test_newer_openai_parameters_are_adapted_to(tmp_path: Path, llm_server: LLMServer) -> None:
    llm_server.add(
        fail(
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
        ),
        fail(400, "Unsupported value: 'temperature' does not support 0.3 with this model."),
        ok(CARDS[TRACE]["ko"]),
    )
    [result] = make_analyzer(settings(tmp_path, llm_server), None).analyze_many([paper(TRACE)])
    first, second, third = llm_server.requests
    assert first["max_tokens"] == 4096 and "max_completion_tokens" not in first
    assert second["max_completion_tokens"] == 4096 and "max_tokens" not in second
    assert "temperature" not in third and third["response_format"]["type"] == "json_schema"
    assert result.analyzer == "llm"


def test_a_bad_key_stops_the_run_naming_the_variable(
    tmp_path: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.add(fail(401, "invalid api key"))
    s = settings(tmp_path, llm_server, api_key_env="MY_LLM_KEY")
    s.secrets = read_secrets(
        {"MY_LLM_KEY": "sk-wrong"},
        llm_api_key="MY_LLM_KEY",
        smtp_password="",
        unsubscribe_key="",
        github_token="",
    )
    with pytest.raises(EndpointRefused, match=r"HTTP 401.*invalid api key.*\$MY_LLM_KEY"):
        make_analyzer(s, None).analyze_many([paper(TRACE)])
    assert llm_server.headers[0]["authorization"] == "Bearer sk-wrong"


def test_concurrency_is_bounded(tmp_path: Path, llm_server: LLMServer) -> None:
    def answer(body: dict[str, Any]) -> Answer:
        text = user_text(body)
        pid = next(p for p in (TRACE, KV) if f"arXiv: {p}" in text)
        # Each answer waits until two requests were in flight at once (so the limit is really
        # reached); the short delay then gives a third, if the limit leaked, time to arrive.
        return Answer(
            content=json.dumps(CARDS[pid]["ko"]),
            delay=0.05,
            hold=lambda: llm_server.wait_in_flight(2),
        )

    llm_server.responder = answer
    ids = [TRACE, KV] * 3
    papers = [paper(p) for p in ids]
    # Distinct versions, so each is its own cache entry and really reaches the server.
    papers = [p.model_copy(update={"version": f"v{i + 1}"}) for i, p in enumerate(papers)]
    results = make_analyzer(settings(tmp_path, llm_server, max_concurrency=2), None).analyze_many(
        papers
    )
    assert len(llm_server.requests) == 6 and llm_server.max_in_flight == 2
    assert [r.id for r in results] == ids
    assert [r.analysis.summary for r in results] == [CARDS[p]["ko"]["summary"] for p in ids]


LONG = " ".join(["Workers remember each correction the user gave in earlier sessions."] * 40)


def latexml_page(abstract: str) -> str:
    def section(title: str, body: str) -> str:
        return (
            f'<section class="ltx_section"><h2 class="ltx_title ltx_title_section">'
            f'{title}</h2><div class="ltx_para"><p class="ltx_p">{body}</p></div></section>'
        )

    return (
        '<!DOCTYPE html><html><head><meta name="generator" content="LaTeXML"/>'
        '<title>TRACE</title></head><body><div class="ltx_page_main"><article class="ltx_document">'
        '<h1 class="ltx_title ltx_title_document">Compiling User Corrections</h1>'
        '<div class="ltx_abstract"><h6 class="ltx_title ltx_title_abstract">Abstract</h6>'
        '<p class="ltx_p">'
        + abstract
        + "</p></div>"
        + section("1 Introduction", "INTRO-MARK " + LONG)
        + section("2 Method", "METHOD-MARK " + LONG)
        + section("3 Experiments", "EXPERIMENTS-MARK " + LONG)
        + section("4 Conclusion", "CONCLUSION-MARK We compile corrections.")
        + section("References", "REFERENCES-MARK " + LONG)
        + section("Appendix A Prompts", "APPENDIX-MARK " + LONG)
        + "</article></div>"
        + '<footer class="ltx_page_footer">Generated by LaTeXML</footer></body></html>'
    )


def test_the_full_text_is_fetched_and_fitted_to_the_budget(
    tmp_path: Path, llm_server: LLMServer, httpserver: HTTPServer
) -> None:
    p = paper(TRACE).model_copy(update={"version": "v1"})
    httpserver.expect_request("/html/2606.13174v1").respond_with_data(
        latexml_page(p.abstract), content_type="text/html"
    )
    s = settings(tmp_path, llm_server, "en", token_budget=900)
    s.sources.arxiv.html_url = httpserver.url_for("/html")
    s.sources.arxiv.fulltext_interval_s = 0
    llm_server.add(ok(CARDS[TRACE]["en"]))
    with httpx.Client(timeout=5) as client:
        http = Http(client, retries=0)
        [result] = make_analyzer(s, http).analyze_many([p])
    sent = user_text(llm_server.requests[0])
    body = sent.split("<<<", 1)[1]
    for mark in ("57.5%", "INTRO-MARK", "METHOD-MARK", "EXPERIMENTS-MARK", "CONCLUSION-MARK"):
        assert mark in body
    assert "REFERENCES-MARK" not in body and "APPENDIX-MARK" not in body
    assert "full text (HTML)" in sent
    assert result.fulltext.source == "html" and not result.abstract_only
    assert "cut: 1 Introduction, 2 Method, 3 Experiments" in (result.fulltext.note or "")
    assert "Appendix A Prompts" in (result.fulltext.note or "")
    assert result.warnings == [] and len(llm_server.requests) == 1


def test_when_the_model_fails_the_card_keeps_why_html_and_pdf_were_not_used(
    tmp_path: Path, llm_server: LLMServer, httpserver: HTTPServer
) -> None:
    p = paper(TRACE).model_copy(update={"version": "v1"})
    httpserver.expect_request("/html/2606.13174v1").respond_with_data("gone", status=404)
    httpserver.expect_request("/pdf/2606.13174v1").respond_with_data("not a pdf")
    s = settings(tmp_path, llm_server, "en", max_retries=0)
    s.sources.arxiv.html_url = httpserver.url_for("/html")
    s.sources.arxiv.pdf_url = httpserver.url_for("/pdf")
    s.sources.arxiv.fulltext_interval_s = 0
    llm_server.add(fail(500, "down"))
    with httpx.Client(timeout=5) as client:
        [result] = make_analyzer(s, Http(client, retries=0)).analyze_many([p])
    note = result.fulltext.note or ""
    assert result.analyzer == "offline" and result.fulltext.source == "abstract"
    assert note.startswith("html: ") and "HTTP 404" in note and "pdf: " in note
    assert note.endswith("LLM card failed: " + (result.fallback or "?"))


def test_a_cut_off_answer_is_named_and_missing_usage_is_estimated(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    whole = json.dumps(CARDS[TRACE]["en"])
    llm_server.add(
        Answer(content=whole[:300], finish_reason="length", usage=None),
        Answer(content=whole, usage=None),
    )
    [result] = make_analyzer(settings(tmp_path, llm_server, "en"), None).analyze_many(
        [paper(TRACE)]
    )
    assert "cut off at the output token limit" in user_text(llm_server.requests[1])
    assert result.analyzer == "llm" and result.usage["calls"] == 2
    # No usage in the answers: estimated from the text, never silently zero.
    assert result.usage["prompt_tokens"] > 400 and result.usage["completion_tokens"] > 200


def test_a_retry_after_http_date_is_honored(tmp_path: Path, llm_server: LLMServer) -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    llm_server.add(fail(429, "rate limited", retry_after=when), ok(CARDS[TRACE]["ko"]))
    sleeps: list[float] = []
    client = LLMClient(settings(tmp_path, llm_server).llm, sleep=sleeps.append)
    reply = client.chat(
        [{"role": "user", "content": "hi"}],
        schema_name="card",
        schema={"type": "object"},
        purpose="test",
    )
    assert json.loads(reply.content) == CARDS[TRACE]["ko"]
    # ~30 s from the date (not the 0.01 s backoff), times the client's 0-20% jitter.
    assert len(sleeps) == 1 and 25.0 <= sleeps[0] <= 36.5
