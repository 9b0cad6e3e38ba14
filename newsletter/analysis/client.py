"""A chat client for any OpenAI-compatible endpoint: structured output, retries, concurrency, usage.

The official ``openai`` package talks to the endpoint (``base_url``); its own retries are off so
that this module decides: 429, 5xx, timeouts and dropped connections are retried
``llm.max_retries`` times with exponential backoff (``llm.retry_backoff_s``, doubled each time,
or the server's Retry-After), and ``llm.max_concurrency`` bounds the requests in flight.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai

from ..config import LLMSettings
from ..errors import EndpointRefused, EndpointUnavailable, RequestRejected
from ..http import retry_after_seconds
from .budget import estimate_tokens
from .completion import FAILED, BadAnswer, Reply, read_completion

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 60.0
_MODES = ("json_schema", "json_object", "none")


@dataclass
class Usage:
    """Tokens and calls, added up across threads.

    ``calls`` counts every request sent, answered or not; ``failed_calls`` those that got an
    error, a timeout or no connection (their tokens are unknown and counted as 0);
    ``failures`` the requests still failing after their retries.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    failures: int = 0
    failed_calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, reply: Reply) -> None:
        with self._lock:
            self.calls += 1
            self.prompt_tokens += reply.prompt_tokens
            self.completion_tokens += reply.completion_tokens
            if reply.finish_reason == FAILED:
                self.failed_calls += 1

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)


def cost(settings: LLMSettings, prompt_tokens: int, completion_tokens: int) -> float:
    """US dollars at the configured prices per million tokens."""
    return (
        prompt_tokens * settings.price_input_per_mtok
        + completion_tokens * settings.price_output_per_mtok
    ) / 1_000_000


def usage_summary(usage: Usage, model: str, price: float, what: str) -> str:
    """'LLM (model): 3 calls, 12,345 in + 2,345 out tokens, $0.0123; 7 from cache'."""
    calls = f"{usage.calls} call{'' if usage.calls == 1 else 's'}"
    if usage.failed_calls:
        calls += f" ({usage.failed_calls} failed)"
    line = (
        f"LLM {what} ({model}): {calls}, {usage.prompt_tokens:,} input + "
        f"{usage.completion_tokens:,} output tokens, ${price:.4f}"
    )
    if usage.cache_hits:
        line += f"; {usage.cache_hits} from cache (0 tokens)"
    if usage.failures:
        line += f"; {usage.failures} failed after retries"
    return line


def response_format(mode: str, name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``response_format`` request field for a structured-output mode."""
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


class LLMClient:
    """Chat completions against ``settings.base_url`` with the model ``settings.model``."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        api_key: str = "",
        call_log: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # base_url and model were checked when the settings loaded (config.checks).
        self.settings = settings
        self.model = settings.model
        key = api_key
        # Local servers (vLLM, Ollama) accept any key; the package insists on one.
        self._openai = openai.OpenAI(
            base_url=settings.base_url,
            api_key=key or "no-key",
            timeout=settings.timeout_s,
            max_retries=0,
        )
        self._has_key = bool(key)
        self._slots = threading.BoundedSemaphore(settings.max_concurrency)
        self._lock = threading.Lock()
        self._mode: str = (
            "json_schema" if settings.response_format == "auto" else settings.response_format
        )
        self._call_log = call_log
        self._completion_tokens = False  # send max_completion_tokens instead of max_tokens
        self._temperature = True
        self._sleep = sleep
        self.usage = Usage()

    def usage_line(self, what: str) -> str:
        """Tokens and cost of this client's calls so far, for ``what`` (e.g. "analysis")."""
        u = self.usage
        price = cost(self.settings, u.prompt_tokens, u.completion_tokens)
        return usage_summary(u, self.model, price, what)

    @property
    def mode(self) -> str:
        """The structured-output mode in use (``auto`` settles on the first that works)."""
        return self._mode

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        schema_name: str,
        schema: dict[str, Any],
        purpose: str,
        subject: str = "",
        tally: list[Reply] | None = None,
    ) -> Reply:
        """One completion; raises EndpointUnavailable or EndpointRefused.

        Each request that failed on the way is added to ``tally`` as an empty ``Reply`` whose
        finish_reason is ``FAILED``, so a caller's own count of calls includes it.
        """
        with self._slots:
            while True:
                mode = self._mode
                try:
                    reply = self._with_retries(
                        messages, mode, schema_name, schema, purpose, subject, tally
                    )
                except openai.APIStatusError as exc:
                    if exc.status_code not in (400, 413, 422):
                        raise self._refused(exc, subject) from None
                    if self._adapt(exc) or self._downgrade(mode, exc):
                        continue
                    # This request only (a paper too long for the context, say): not fatal.
                    where = f" for {subject}" if subject else ""
                    raise RequestRejected(
                        f"llm: {self.settings.base_url} rejected the request{where} "
                        f"(HTTP {exc.status_code}: {_message(exc)})"
                    ) from None
                self.usage.add(reply)
                return reply

    def _adapt(self, exc: openai.APIStatusError) -> bool:
        """Newer OpenAI models refuse ``max_tokens`` and a custom temperature: drop them."""
        text = _message(exc).lower()
        with self._lock:
            if "max_tokens" in text and not self._completion_tokens:
                self._completion_tokens = True
            elif "temperature" in text and self._temperature:
                self._temperature = False
            else:
                return False
        log.warning("llm: %s: %s; adjusting the request", self.settings.base_url, _message(exc))
        return True

    def _downgrade(self, mode: str, exc: openai.APIStatusError) -> bool:
        """In auto mode, a 400/422 to a structured-output request tries the next mode."""
        text = _message(exc).lower()
        about_format = any(
            w in text for w in ("response_format", "json", "schema", "format", "structured")
        )
        about_else = any(w in text for w in ("context", "token", "length", "too long"))
        if self.settings.response_format != "auto" or (about_else and not about_format):
            return False
        with self._lock:
            if self._mode != mode:
                return True  # another thread already moved on
            position = _MODES.index(mode)
            if position + 1 >= len(_MODES):
                return False
            self._mode = _MODES[position + 1]
        log.warning(
            "llm: %s refused response_format %s (HTTP %s: %s); using %s",
            self.settings.base_url,
            mode,
            exc.status_code,
            _message(exc),
            self._mode,
        )
        return True

    def _refused(self, exc: openai.APIStatusError, subject: str) -> EndpointRefused:
        hint = ""
        if exc.status_code in (401, 403):
            hint = (
                f"; check the key in ${self.settings.api_key_env}"
                if self._has_key
                else f"; ${self.settings.api_key_env} is not set"
            )
        elif exc.status_code == 404:
            hint = f"; is llm.model '{self.model}' served at llm.base_url?"
        where = f" for {subject}" if subject else ""
        return EndpointRefused(
            f"llm: {self.settings.base_url} answered HTTP {exc.status_code}"
            f"{where}: {_message(exc)}{hint}"
        )

    def _with_retries(
        self,
        messages: list[dict[str, str]],
        mode: str,
        schema_name: str,
        schema: dict[str, Any],
        purpose: str,
        subject: str,
        tally: list[Reply] | None,
    ) -> Reply:
        s = self.settings
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                reply = self._once(messages, mode, schema_name, schema)
            except BadAnswer as exc:
                self._failed(purpose, subject, time.monotonic() - started, "bad answer", tally)
                self.usage.count("failures")
                raise EndpointUnavailable(
                    f"llm: {s.base_url} answered HTTP 200 for {subject or purpose} with {exc}"
                ) from None
            except (openai.APIStatusError, openai.APIConnectionError) as exc:
                problem, retryable = _problem(exc)
                self._failed(purpose, subject, time.monotonic() - started, problem, tally)
                if not retryable:
                    raise  # a rejection (400, 401...): chat() decides what it means
                if attempt >= s.max_retries:
                    self.usage.count("failures")
                    raise EndpointUnavailable(
                        f"llm: {s.base_url} {problem} for {subject or purpose} after "
                        f"{attempt + 1} attempt(s) (timeout {s.timeout_s:g}s)"
                    ) from None
                self._pause(exc, problem, subject or purpose, attempt)
                attempt += 1
                continue
            self._log_call(purpose, subject, reply, time.monotonic() - started, "ok")
            return reply

    def _failed(
        self,
        purpose: str,
        subject: str,
        seconds: float,
        problem: str,
        tally: list[Reply] | None,
    ) -> None:
        """A request that got no answer: logged and counted like any other call."""
        self._log_call(purpose, subject, None, seconds, problem)
        failed = Reply("", 0, 0, FAILED)
        self.usage.add(failed)
        if tally is not None:
            tally.append(failed)

    def _pause(self, exc: Exception, problem: str, what: str, attempt: int) -> None:
        """Wait before retry ``attempt + 1``: the server's Retry-After, else the backoff."""
        wait = _retry_after(exc) or self.settings.retry_backoff_s * 2**attempt
        wait = min(wait, MAX_RETRY_AFTER_S) * random.uniform(1.0, 1.2)
        log.info("llm: %s for %s; retry %d in %.1fs", problem, what, attempt + 1, wait)
        self._sleep(wait)

    def _once(
        self, messages: list[dict[str, str]], mode: str, schema_name: str, schema: dict[str, Any]
    ) -> Reply:
        s = self.settings
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages}
        if self._temperature:
            kwargs["temperature"] = s.temperature
        limit = "max_completion_tokens" if self._completion_tokens else "max_tokens"
        kwargs[limit] = s.max_output_tokens
        fmt = response_format(mode, schema_name, schema)
        if fmt is not None:
            kwargs["response_format"] = fmt
        if s.extra_body:
            kwargs["extra_body"] = s.extra_body
        # The raw body, read here: an endpoint (or a proxy before it) may answer 200 with an
        # HTML page or cut-off JSON, which the package would hand over as a string or not at
        # all; such an answer is this paper's failure, never the run's.
        raw = self._openai.chat.completions.with_raw_response.create(**kwargs)
        reply = read_completion(raw.http_response.content, raw.http_response.headers)
        if reply.prompt_tokens < 0:  # some servers omit usage: estimate, so costs are never 0
            prompt = sum(estimate_tokens(m["content"]) for m in messages)
            reply = Reply(
                reply.content, prompt, estimate_tokens(reply.content), reply.finish_reason
            )
        return reply

    def _log_call(
        self, purpose: str, subject: str, reply: Reply | None, seconds: float, outcome: str
    ) -> None:
        """One JSON line per request in ``DATA/cache/llm/calls.jsonl``."""
        if self._call_log is None:
            return
        row = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "model": self.model,
            "purpose": purpose,
            "subject": subject,
            "outcome": outcome,
            "seconds": round(seconds, 3),
            "prompt_tokens": reply.prompt_tokens if reply else 0,
            "completion_tokens": reply.completion_tokens if reply else 0,
        }
        with self._lock:
            self._call_log.parent.mkdir(parents=True, exist_ok=True)
            with self._call_log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _problem(exc: openai.APIStatusError | openai.APIConnectionError) -> tuple[str, bool]:
    """What went wrong with one request, and whether another try may help (429, 5xx,
    timeouts and dropped connections may; a rejection will not)."""
    if isinstance(exc, openai.APIConnectionError):
        timed_out = isinstance(exc, openai.APITimeoutError)
        return ("timed out" if timed_out else f"connection failed ({exc})"), True
    if isinstance(exc, openai.RateLimitError | openai.InternalServerError):
        return f"HTTP {exc.status_code}", True
    return f"HTTP {exc.status_code}: {_message(exc)}", False


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    return (
        retry_after_seconds(response.headers.get("retry-after")) if response is not None else None
    )


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:200]
    return str(exc.message)[:200]
