"""What an LLM must return, as pydantic models and the JSON schemas sent with the request."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..models import Analysis

# Field order is the order the prompt explains them and the card shows them.
TEXT_FIELDS = ("summary", "core_idea", "problem", "key_technique")
LIST_FIELDS = (
    "method",
    "results",
    "improvements",
    "applications",
    "limitations",
    "tags",
    "topics",
    "prerequisites",
)
FIELDS = tuple(Analysis.model_fields)


class Pick(BaseModel):
    """One recommended paper and why: ``reason`` in the edition's language, ``reasons`` in
    the others (the answer's ``reason_en``, ``reason_ko`` keys)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    reason: str
    reasons: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _other_languages(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        keys = [k for k in data if isinstance(k, str) and k.startswith("reason_")]
        if not keys:
            return data
        more = {k.removeprefix("reason_"): data[k] for k in keys}
        rest = {k: v for k, v in data.items() if k not in keys}
        return {**rest, "reasons": {**rest.get("reasons", {}), **more}}


class Recommendation(BaseModel):
    """The recommender's answer."""

    model_config = ConfigDict(extra="forbid")

    picks: list[Pick] = Field(default_factory=list)


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's strict mode wants every property required and no extra properties."""
    if schema.get("type") == "object":
        schema["additionalProperties"] = False
        schema["required"] = list(schema.get("properties", {}))
        for sub in schema.get("properties", {}).values():
            _strict(sub)
            sub.pop("title", None)
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        _strict(schema["items"])
    for sub in schema.get("$defs", {}).values():
        _strict(sub)
    schema.pop("title", None)
    schema.pop("description", None)
    return schema


def analysis_schema(topics: list[str]) -> dict[str, Any]:
    """JSON schema of the card, with topics limited to the configured taxonomy."""
    schema = _strict(Analysis.model_json_schema())
    # minItems is in OpenAI's strict subset, minLength is not (checks.py catches empty text).
    for name in LIST_FIELDS:
        schema["properties"][name]["minItems"] = 1
    if topics:
        schema["properties"]["topics"]["items"] = {"type": "string", "enum": list(topics)}
    return schema


def recommendation_schema(others: Sequence[str] = ()) -> dict[str, Any]:
    """JSON schema of the recommender's answer, with a ``reason_LANG`` per other language."""
    names = ["id", "reason", *(f"reason_{lang}" for lang in others)]
    pick = {
        "type": "object",
        "properties": {name: {"type": "string"} for name in names},
        "required": names,
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"picks": {"type": "array", "items": pick}},
        "required": ["picks"],
        "additionalProperties": False,
    }


class AnswerError(Exception):
    """An answer that is not JSON or does not fit the schema; the message lists why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def parse_json(content: str | None) -> Any:
    """The JSON object in an answer, tolerating a Markdown code fence around it."""
    # Reasoning models served by vLLM or Ollama may put their thinking before the answer.
    text = _THINK.sub("", content or "").strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    if not text.startswith("{") and "{" in text and "}" in text:
        # Some models add a sentence before the object despite the instructions.
        text = text[text.index("{") : text.rindex("}") + 1]
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        head = (content or "").strip()[:60]
        # exc.msg may end in "at" already ("Unterminated string starting at").
        raise AnswerError(
            [
                f"the answer is not JSON ({exc.msg}: line {exc.lineno} column "
                f"{exc.colno}; it starts {head!r})"
            ]
        ) from None


def _describe(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "the object"
        if err["type"] == "missing":
            out.append(f"field '{where}' is missing")
        elif err["type"] == "extra_forbidden":
            out.append(f"field '{where}' is not in the schema")
        else:
            out.append(f"field '{where}': {err['msg']}")
    return out


def _bullets(text: str) -> list[str]:
    lines = [re.sub(r"^\s*(?:[-*•·]|\d+[.)])\s*", "", line).strip() for line in text.splitlines()]
    return [line for line in lines if line]


def _normalize(data: dict[str, Any]) -> dict[str, Any]:
    """Forgive harmless shapes: a wrapper object, a string for a list, a list for a text."""
    if not set(FIELDS) & set(data) and len(data) == 1:
        inner = next(iter(data.values()))
        if isinstance(inner, dict):
            data = inner
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name not in FIELDS:
            continue  # an extra key is ignored, a missing one is reported
        if name in LIST_FIELDS and isinstance(value, str):
            value = (
                _bullets(value)
                if name not in ("tags", "topics")
                else [v.strip() for v in re.split(r"[,\n]", value) if v.strip()]
            )
        elif (
            name in TEXT_FIELDS
            and isinstance(value, list)
            and all(isinstance(v, str) for v in value)
        ):
            value = " ".join(v.strip() for v in value)
        if name in LIST_FIELDS and isinstance(value, list):
            value = [v.strip() if isinstance(v, str) else v for v in value]
        out[name] = value
    return out


def parse_analysis(content: str | None) -> Analysis:
    """The answer as an Analysis, or AnswerError naming every problem."""
    data = parse_json(content)
    if not isinstance(data, dict):
        raise AnswerError([f"the answer is JSON but not an object ({type(data).__name__})"])
    try:
        return Analysis.model_validate(_normalize(data))
    except ValidationError as exc:
        raise AnswerError(_describe(exc)) from None


def parse_recommendation(content: str | None) -> Recommendation:
    """The answer as a Recommendation, or AnswerError."""
    data = parse_json(content)
    try:
        return Recommendation.model_validate(data)
    except ValidationError as exc:
        raise AnswerError(_describe(exc)) from None
