"""The chat client against a real local server answering 200 with what is no chat completion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.llm_server import LLMServer, raw, serving

from newsletter.analysis.client import LLMClient
from newsletter.config import Settings
from newsletter.errors import EndpointUnavailable

BAD_ANSWERS = {
    "html_page_with_200": raw("<!DOCTYPE html><html><body>Gateway</body></html>", "text/html"),
    "cut_off_json": raw('{"id": "x", "choices": [{"message": {"content": "{\\"summ'),
    "json_without_choices": raw('{"error": null, "data": []}'),
    "json_array": raw("[1, 2, 3]"),
    "choices_not_a_list": raw('{"choices": "none"}'),
    "content_not_text": raw('{"choices": [{"message": {"content": {"summary": 1}}}]}'),
    "nested_200000_deep": raw("[" * 200_000 + "]" * 200_000),
    "not_utf8": raw(b'{"choices": [{"message": {"content": "\xff\xfe"}}]}'),
    "empty_body": raw(""),
}


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    with serving() as server:
        yield server


def client(tmp_path: Path, server: LLMServer) -> LLMClient:
    settings = Settings.model_validate(
        {
            "llm": {"base_url": server.url, "model": "m", "max_retries": 0},
            "storage": {"data_dir": str(tmp_path)},
        }
    )
    return LLMClient(settings.llm, call_log=tmp_path / "calls.jsonl")


@pytest.mark.parametrize("kind", list(BAD_ANSWERS))
def test_a_200_that_is_no_chat_completion_is_endpoint_unavailable(
    tmp_path: Path, llm_server: LLMServer, kind: str
) -> None:
    llm_server.add(BAD_ANSWERS[kind])
    chat = client(tmp_path, llm_server)
    with pytest.raises(EndpointUnavailable) as caught:
        chat.chat(
            [{"role": "user", "content": "hi"}],
            schema_name="card",
            schema={"type": "object"},
            purpose="analyze",
            subject="2606.00001",
        )
    assert str(caught.value).startswith(
        f"llm: {llm_server.url} answered HTTP 200 for 2606.00001 with "
    )
    assert chat.usage.failures == 1
    assert '"outcome": "bad answer"' in (tmp_path / "calls.jsonl").read_text()


def test_no_usage_is_estimated_and_no_choices_is_an_empty_reply(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    llm_server.add(
        raw('{"choices": [{"message": {"content": "가나다라"}, "finish_reason": "stop"}]}'),
        raw('{"choices": []}'),
    )
    chat = client(tmp_path, llm_server)
    messages = [{"role": "user", "content": "hello there"}]
    first = chat.chat(messages, schema_name="c", schema={}, purpose="p")
    assert first.content == "가나다라" and first.prompt_tokens > 0 and first.completion_tokens > 0
    assert chat.chat(messages, schema_name="c", schema={}, purpose="p").content == ""
