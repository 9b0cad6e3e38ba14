"""A chat completion's body as the endpoint sent it, read without trusting its shape.

An endpoint (or a proxy in front of it) may answer 200 with an HTML page, cut-off JSON or
JSON of another shape; ``read_completion`` says which, as a ``BadAnswer``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    """One answer and what it cost."""

    content: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None = None


FAILED = "failed"  # Reply.finish_reason of a request that got no answer (see ``tally``)


class BadAnswer(Exception):
    """The endpoint answered 200 with something that is not a chat completion."""


def read_completion(body: bytes, headers: Any) -> Reply:
    """The reply in a chat-completion body, or BadAnswer saying what came instead."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        kind = headers.get("content-type", "no content type").split(";")[0]
        head = body[:60].decode("utf-8", "replace").strip()
        raise BadAnswer(f"not JSON ({kind}: {exc.__class__.__name__}; starts {head!r})") from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        raise BadAnswer(f"JSON without a 'choices' list ({type(data).__name__})")
    if not choices:
        return Reply("", 0, 0, "no choices")
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if content is not None and not isinstance(content, str):
        raise BadAnswer(f"choices[0].message.content is {type(content).__name__}, not text")
    finish = choice.get("finish_reason")
    usage = data.get("usage")
    tokens = [usage.get(k) if isinstance(usage, dict) else None for k in _USAGE]
    if all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in tokens):
        return Reply(content or "", int(tokens[0] or 0), int(tokens[1] or 0), _str(finish))
    return Reply(content or "", -1, -1, _str(finish))


_USAGE = ("prompt_tokens", "completion_tokens")


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
