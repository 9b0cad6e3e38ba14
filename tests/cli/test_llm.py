"""The commands with an LLM configured: the recorded sample day against a local LLM server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support.languages import foreign_hangul, sent_parts
from support.llm_server import Answer, LLMServer, ok, raw, serving

from newsletter.cli import cli
from newsletter.models import Candidates, PaperAnalysis, Selection

DAY = "2026-06-12"
INVENTS = "2606.13594"  # its card quotes a figure the paper does not have, even after repair


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    with serving() as server:
        yield server


def card_for(body: dict[str, Any]) -> Answer:
    """A plain valid card, in the language the prompt asks for, naming the paper the request
    is about (no figures quoted); the recommendation: the first M candidates."""
    text = body["messages"][1]["content"]  # the first user message, also in a repair
    if "후보 논문" in text:  # the recommendation request: the first M candidates
        m = int(re.search(r"정확히 (\d+)편", text).group(1))  # type: ignore[union-attr]
        ids = re.findall(r"^- id (\S+) \|", text.split("후보 논문:", 1)[1], re.MULTILINE)
        english = '"reason_en"' in text  # asked when some subscriber reads English
        return ok(
            {
                "picks": [
                    {"id": i, "reason": f"{i}번 논문은 독자의 관심사와 맞닿아 있습니다."}
                    | ({"reason_en": f"{i} meets the readers' interests."} if english else {})
                    for i in ids[:m]
                ]
            },
            usage=(3000, 100),
        )
    pid = re.search(r"arXiv: (\S+)", text).group(1)  # type: ignore[union-attr]
    if text.startswith("Write the analysis card"):
        return ok(english_card(pid), usage=(2000, 500))
    return ok(
        {
            "summary": f"{pid} 논문의 **핵심**을 한 문장으로 정리한 요약입니다.",  # Markdown
            "core_idea": "도서관 사서가 책을 분류하듯, 흩어진 정보를 정리해 필요한 곳에 둡니다.",
            "problem": "기존 방법은 비용이 크고 일반화가 어려웠다는 점을 문제로 삼습니다.",
            "method": ["자료를 모으고 정리하는 단계", "정리된 자료로 모델을 학습하는 단계"],
            "key_technique": "작은 구조만 남겨 학습을 가볍게 만든 점이 돋보이는 기법입니다.",
            "results": [
                "저자들은 제안 방법이 기준선보다 낫다고 보고합니다."
                + (" 정확도는 99.9%입니다." if pid.startswith(INVENTS) else "")
            ],
            "improvements": ["사람의 수작업을 줄여 규모를 키우기 쉬워졌습니다."],
            "applications": ["연구용 데이터 구축 자동화"],
            "limitations": ["평가 범위가 좁아 추가 검증이 필요합니다."],
            "tags": ["sample"],
            "topics": ["llm"],
            "prerequisites": ["언어 모델(language model)"],
        },
        usage=(2000, 500),
    )


def english_card(pid: str) -> dict[str, Any]:
    """The English card of the stand-in; it writes some **Markdown** despite the prompt."""
    return {
        "summary": f"The **core** of paper {pid} in one sentence.",
        "core_idea": "Like a librarian sorting books, it puts scattered facts where they belong.",
        "problem": "Earlier methods were *costly* and generalized poorly.",
        "method": ["Collect and organize the material", "Train the model on it with `sort()`"],
        "key_technique": "Keeping only a small structure makes training light.",
        "results": ["The authors report that the method beats its baselines."],
        "improvements": ["Less manual work, so it scales more easily."],
        "applications": ["Automating research data collection"],
        "limitations": ["The evaluation is narrow and needs more checks."],
        "tags": ["sample"],
        "topics": ["llm"],
        "prerequisites": ["language model"],
    }


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_send_with_an_llm_prints_usage_and_a_rerun_spends_nothing(
    workdir: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.responder = card_for
    for key, value in {
        "BASE_URL": llm_server.url,
        "MODEL": "test-model",
        "RETRY_BACKOFF_S": "0",
        "PRICE_INPUT_PER_MTOK": "1.0",
        "PRICE_OUTPUT_PER_MTOK": "4.0",
    }.items():
        monkeypatch.setenv(f"NEWSLETTER_LLM__{key}", value)
    out = run("send", "--date", DAY, "--replay", "sample").output
    assert (
        "LLM recommendation (test-model): 1 call, 3,000 input + 100 output tokens, $0.0034" in out
    )
    # 10 Korean cards (one repaired), and 10 English ones for the English subscriber (every
    # card's topic is llm, which they follow).
    assert (
        "LLM analysis (test-model): 21 calls, 42,000 input + 10,500 output tokens, $0.0840" in out
    )
    assert len(llm_server.requests) == 22
    folder = workdir / "data" / "editions" / DAY
    selection = Selection.model_validate_json((folder / "selection.json").read_bytes())
    assert selection.method == "llm" and selection.model == "test-model"
    analyses = [
        PaperAnalysis.model_validate_json(p.read_bytes())
        for p in sorted((folder / "analyses").glob("*.json"))
    ]
    assert sorted(a.language for a in analyses) == ["en"] * 10 + ["ko"] * 10
    assert {a.analyzer for a in analyses} == {"llm"} and all(a.abstract_only for a in analyses)
    edition = json.loads((folder / "edition.json").read_text(encoding="utf-8"))
    assert edition["model"] == "test-model"

    assert selection.usage == {
        "calls": 1,
        "prompt_tokens": 3000,
        "completion_tokens": 100,
        "from_cache": 0,
    }
    status = run("status", "--date", DAY).output
    assert (
        "method llm, llm_calls 1, input_tokens 3000, output_tokens 100, cost_usd 0.0034" in status
    )
    assert "llm_calls 21, input_tokens 42000, output_tokens 10500, cost_usd 0.084" in status
    # The check warning is the operator's: in status, never in what subscribers get.
    assert f"! {INVENTS}: field 'results' has numbers that are not in the paper: 99.9" in status
    sent = {p.name: p.read_bytes() for p in (workdir / "data" / "outbox" / DAY).glob("*.eml")}
    for message in sent.values():
        for part in sent_parts(message).values():
            assert "not in the paper" not in part and "자동 점검" not in part
            assert "**" not in part  # the model's Markdown: <b> in HTML, plain in text

    again = run("analyze", "--date", DAY, "--replay", "sample", "--force").output
    assert len(llm_server.requests) == 22
    assert "0 calls, 0 input + 0 output tokens, $0.0000; 20 from cache" in again


def test_an_english_subscriber_gets_an_english_edition_whole(
    workdir: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.responder = card_for
    monkeypatch.setenv("NEWSLETTER_LLM__BASE_URL", llm_server.url)
    monkeypatch.setenv("NEWSLETTER_LLM__MODEL", "test-model")
    run("send", "--date", DAY, "--replay", "sample")
    folder = workdir / "data" / "editions" / DAY
    papers = Candidates.model_validate_json((folder / "candidates.json").read_bytes()).papers
    outbox = workdir / "data" / "outbox" / DAY
    english = (outbox / "alex.chen@example.com.eml").read_bytes()  # language: en
    assert foreign_hangul(english, papers) == {"subject": [], "text": [], "html": []}
    parts = sent_parts(english)
    assert parts["subject"].startswith(f"[{DAY}] AI Paper Digest: ")
    assert "The core of paper" in parts["text"]  # the English cards themselves
    for part in ("text", "html"):
        assert "recommended: " in parts[part] and "meets the readers' interests" in parts[part]
        assert "📝 Analysed from the abstract only." in parts[part]
        assert "No LLM analysis" not in parts[part]
        # The model's Markdown: bold and code in the HTML part, plain words in the text part.
        assert "**" not in parts[part] and "`" not in parts[part]
    assert "The <b>core</b> of paper" in parts["html"] and "<code>sort()</code>" in parts["html"]
    assert "*costly*" not in parts["text"] and "costly" in parts["text"]
    # A Korean subscriber of the same day: the Korean cards.
    korean = sent_parts((outbox / "minji.kim@example.com.eml").read_bytes())
    assert "논문의 핵심을 한 문장으로" in korean["text"] and "The core of" not in korean["text"]
    assert "논문의 <b>핵심</b>을 한 문장으로" in korean["html"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BASE_URL": "localhost:11434/v1", "MODEL": "m"}, "is not an http(s) URL"),
        ({"BASE_URL": "http://127.0.0.1:9/v1"}, "llm.model is empty"),
    ],
)
def test_an_llm_misconfiguration_is_one_clear_line(
    workdir: Path, env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(f"NEWSLETTER_LLM__{key}", value)
    # Refused when the settings load: the first command fails, before any stage ran.
    result = CliRunner().invoke(
        cli, ["collect", "--date", DAY, "--replay", "sample"], catch_exceptions=False
    )
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert not (workdir / "data" / "editions").exists()


def test_a_wrong_key_stops_analyze_with_one_line(
    workdir: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSLETTER_LLM__BASE_URL", llm_server.url)
    monkeypatch.setenv("NEWSLETTER_LLM__MODEL", "glm-4.7")
    monkeypatch.setenv("NEWSLETTER_EDITION__RECOMMENDED", "0")
    run("collect", "--date", DAY, "--replay", "sample")
    selected = run("select", "--date", DAY).output
    assert "LLM recommendation (glm-4.7): 0 calls" in selected  # M = 0: nothing to ask
    assert llm_server.requests == []
    llm_server.responder = lambda body: Answer(status=401, error="API key missing")
    result = CliRunner().invoke(
        cli, ["analyze", "--date", DAY, "--replay", "sample"], catch_exceptions=False
    )
    assert result.exit_code != 0
    assert "HTTP 401" in result.output and "$NEWSLETTER_LLM_API_KEY is not set" in result.output
    assert not (workdir / "data" / "editions" / DAY / "analyses").exists()


def test_cards_finished_before_a_stop_are_kept(
    workdir: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSLETTER_LLM__BASE_URL", llm_server.url)
    monkeypatch.setenv("NEWSLETTER_LLM__MODEL", "glm-4.7")
    monkeypatch.setenv("NEWSLETTER_LLM__MAX_CONCURRENCY", "1")
    monkeypatch.setenv("NEWSLETTER_EDITION__RECOMMENDED", "0")
    run("collect", "--date", DAY, "--replay", "sample")
    run("select", "--date", DAY)
    answered: list[int] = []

    def two_then_refuse(body: dict[str, Any]) -> Answer:
        if len(answered) < 2:
            answered.append(1)
            return card_for(body)
        return Answer(status=401, error="key revoked")

    llm_server.responder = two_then_refuse
    result = CliRunner().invoke(
        cli, ["analyze", "--date", DAY, "--replay", "sample"], catch_exceptions=False
    )
    assert result.exit_code != 0 and "HTTP 401" in result.output
    kept = sorted((workdir / "data" / "editions" / DAY / "analyses").glob("*.json"))
    assert len(kept) == 2
    assert all(PaperAnalysis.model_validate_json(p.read_bytes()).analyzer == "llm" for p in kept)
    llm_server.responder = card_for
    asked = len(llm_server.requests)
    run("analyze", "--date", DAY, "--replay", "sample")
    # Only the three Korean cards still missing, then the English subscriber's five.
    assert len(llm_server.requests) - asked == 3 + 5


# The two the issue found; every other shape is in tests/analysis/test_client.py.
BAD_ANSWERS = {
    "html_page_with_200": raw("<!DOCTYPE html><html><body>Gateway</body></html>", "text/html"),
    "cut_off_json": raw('{"id": "x", "choices": [{"message": {"content": "{\\"summ'),
}


@pytest.mark.parametrize("kind", list(BAD_ANSWERS))
def test_a_broken_200_answer_fails_that_paper_and_the_send_goes_on(
    workdir: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    hit: list[str] = []

    def answer(body: dict[str, Any]) -> Answer:
        text = body["messages"][1]["content"]
        if "후보 논문" not in text and not hit:
            hit.append(re.search(r"arXiv: (\S+)", text).group(1))  # type: ignore[union-attr]
            return BAD_ANSWERS[kind]
        return card_for(body)

    llm_server.responder = answer
    monkeypatch.setenv("NEWSLETTER_LLM__BASE_URL", llm_server.url)
    monkeypatch.setenv("NEWSLETTER_LLM__MODEL", "m")
    monkeypatch.setenv("NEWSLETTER_LLM__MAX_CONCURRENCY", "1")
    result = run("send", "--date", DAY, "--replay", "sample")
    assert "Traceback" not in result.output
    assert re.search(r"sent [1-9]\d*, skipped \d+, failed 0, unknown 0", result.output)
    pid = hit[0].split("v")[0]
    folder = workdir / "data" / "editions" / DAY / "analyses"
    broken = PaperAnalysis.model_validate_json((folder / f"{pid}.json").read_bytes())
    assert broken.analyzer == "offline" and broken.fallback is not None
    assert f"answered HTTP 200 for {pid} with " in broken.fallback
    edition_language = [p for p in folder.glob("*.json") if not p.name.endswith(".en.json")]
    others = [PaperAnalysis.model_validate_json(p.read_bytes()) for p in edition_language]
    assert sum(a.analyzer == "llm" for a in others) == 9


def test_an_llm_field_of_2_mb_is_cut_and_the_card_kept(
    workdir: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two fields of 2 MB, nearly the same: what made the old repeat check run for minutes.
    syllables = "".join(chr(0xAC00 + (i * 7919) % 11172) + " " for i in range(11172))
    words = (syllables * 90)[:2_000_000]
    target: list[str] = []

    def answer(body: dict[str, Any]) -> Answer:
        good = card_for(body)
        text = body["messages"][1]["content"]
        if "후보 논문" in text:
            return good
        pid = re.search(r"arXiv: (\S+)", text).group(1)  # type: ignore[union-attr]
        if target and target[0] != pid:
            return good
        target[:] = [pid]
        huge = json.loads(good.content or "{}")
        huge["core_idea"], huge["problem"] = words, words[2:]
        return ok(huge)

    llm_server.responder = answer
    monkeypatch.setenv("NEWSLETTER_LLM__BASE_URL", llm_server.url)
    monkeypatch.setenv("NEWSLETTER_LLM__MODEL", "m")
    monkeypatch.setenv("NEWSLETTER_LLM__MAX_CONCURRENCY", "1")
    result = run("send", "--date", DAY, "--replay", "sample")
    assert re.search(r"sent [1-9]\d*, skipped \d+, failed 0, unknown 0", result.output)
    pid = target[0].split("v")[0]
    kept = PaperAnalysis.model_validate_json(
        (workdir / "data" / "editions" / DAY / "analyses" / f"{pid}.json").read_bytes()
    )
    assert kept.analyzer == "llm"
    assert len(kept.analysis.core_idea) == 3_000 and kept.analysis.core_idea.endswith("…")
    assert (
        "field 'core_idea' is 2,000,000 characters, over the limit of 3,000; it was cut: "
        "keep it short"
    ) in kept.warnings
    repair = llm_server.requests[2]["messages"]  # recommendation, first answer, repair
    assert len(repair[-2]["content"]) < 41_000  # the runaway answer is not quoted back whole
    status = run("status", "--date", DAY).output
    assert "field 'core_idea' is 2,000,000 characters" in status
