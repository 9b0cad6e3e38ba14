"""One Settings object, loaded from newsletter.toml and overridden by NEWSLETTER_* variables.

Environment overrides use double underscores for nesting, e.g. ``NEWSLETTER_LLM__BASE_URL`` or
``NEWSLETTER_EDITION__RANKED=3``; values are parsed as TOML scalars/arrays when they parse, and as
plain strings otherwise. Secrets are never read from the file, only from the variables whose
names the settings give (``llm.api_key_env``, ``delivery.smtp.password_env``, ...).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError

ENV_PREFIX = "NEWSLETTER_"
DEFAULT_CONFIG_NAME = "newsletter.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EditionSettings(_Section):
    title: str = "AI 논문 핵심 요약"
    language: Literal["ko", "en"] = "ko"
    timezone: str = "Asia/Seoul"
    ranked: int = Field(5, ge=0, le=50)
    recommended: int = Field(5, ge=0, le=50)
    dedupe_days: int = Field(7, ge=0)
    allow_empty: bool = False
    toc_title_width: int = Field(45, ge=10)
    size_budget_kb: int = Field(100, ge=10)
    # Over budget: "fail" the build, or "shorten" the cards level by level until it fits.
    over_budget: Literal["fail", "shorten"] = "fail"
    web_base_url: str = ""

    @field_validator("title")
    @classmethod
    def _one_line_title(cls, value: str) -> str:
        # The title goes into every Subject header: a line break there is a header injection.
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError(
                "contains a line break or control character (it goes into the Subject header)"
            )
        return value

    @model_validator(mode="after")
    def _some_papers(self) -> EditionSettings:
        if self.ranked + self.recommended == 0:
            raise ValueError("ranked and recommended are both 0: the edition would have no papers")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except (ValueError, OSError, KeyError):
            # ZoneInfoNotFoundError is a KeyError; a malformed key is a ValueError.
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name such as 'Asia/Seoul' or 'UTC')"
            ) from None
        return value


class HuggingFaceSettings(_Section):
    enabled: bool = True
    url: str = "https://huggingface.co/api/daily_papers"
    limit: int = Field(100, ge=1, le=100)


AnnounceType = Literal["new", "cross", "replace", "replace-cross"]


def _default_announce() -> list[AnnounceType]:
    return ["new", "cross"]


class ArxivSettings(_Section):
    enabled: bool = True
    api_url: str = "https://export.arxiv.org/api/query"
    rss_url: str = "https://rss.arxiv.org/atom"
    html_url: str = "https://arxiv.org/html"
    pdf_url: str = "https://arxiv.org/pdf"
    abs_url: str = "https://arxiv.org/abs"
    # RSS categories to add as candidates (without upvotes); empty = Daily Papers only.
    categories: list[str] = Field(default_factory=list)
    announce_types: list[AnnounceType] = Field(default_factory=_default_announce)
    request_interval_s: float = Field(3.0, ge=0)
    batch_size: int = Field(50, ge=1, le=200)
    # Pause between full-text downloads (HTML, PDF) from arxiv.org; cached versions skip it.
    fulltext_interval_s: float = Field(1.0, ge=0)


class GithubSettings(_Section):
    enabled: bool = True
    api_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    max_concurrency: int = Field(4, ge=1)


class FeedSettings(_Section):
    name: str
    url: str


class SourcesSettings(_Section):
    huggingface: HuggingFaceSettings = Field(default_factory=HuggingFaceSettings)
    arxiv: ArxivSettings = Field(default_factory=ArxivSettings)
    github: GithubSettings = Field(default_factory=GithubSettings)
    feeds: list[FeedSettings] = Field(default_factory=list)


class HttpSettings(_Section):
    timeout_s: float = Field(30.0, gt=0)
    contact: str = "newsletter-bot@example.com"
    max_per_host: int = Field(4, ge=1)
    max_bytes: int = Field(25_000_000, ge=1024)
    retries: int = Field(3, ge=0)


class LLMSettings(_Section):
    base_url: str = ""  # "" = no LLM: offline analyzer and heuristic recommendation
    model: str = ""
    api_key_env: str = "NEWSLETTER_LLM_API_KEY"
    max_concurrency: int = Field(4, ge=1)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(3, ge=0)
    temperature: float = 0.3
    token_budget: int = Field(24_000, ge=500)
    price_input_per_mtok: float = 0.0
    price_output_per_mtok: float = 0.0
    interests: str = ""
    # Structured output: "auto" tries json_schema, then json_object, then a plain prompt.
    response_format: Literal["auto", "json_schema", "json_object", "none"] = "auto"
    max_output_tokens: int = Field(4096, ge=256)
    retry_backoff_s: float = Field(1.0, ge=0)  # first wait after a 429/5xx/timeout; doubles
    prompt_dir: str = ""  # "" = the bundled prompts (newsletter/analysis/prompts)
    extra_body: dict[str, Any] = Field(default_factory=dict)  # e.g. GLM {"thinking": ...}


class SesSettings(_Section):
    region: str = "us-east-1"
    endpoint_url: str = ""
    configuration_set: str = ""


class SmtpSettings(_Section):
    host: str = "localhost"
    port: int = 587
    starttls: bool = True
    username: str = ""
    password_env: str = "NEWSLETTER_SMTP_PASSWORD"


class DeliverySettings(_Section):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    transport: Literal["outbox", "ses", "smtp"] = "outbox"
    from_: str = Field("AI Paper Digest <digest@example.com>", alias="from")
    reply_to: str = ""
    # Messages per second; 0 = the transport's own limit (SES GetAccount MaxSendRate). With
    # SES the lower of this and MaxSendRate is used.
    rate_per_s: float = Field(10.0, ge=0)
    concurrency: int = Field(4, ge=1, le=64)
    max_attempts: int = Field(5, ge=1)  # per message, for 5xx and connection errors
    retry_backoff_s: float = Field(1.0, ge=0)  # first wait before a retry; doubles each time
    list_id: str = "AI Paper Digest <digest.example.com>"
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""
    unsubscribe_secret_env: str = "NEWSLETTER_UNSUBSCRIBE_SECRET"
    empty_topics_note: bool = False
    ses: SesSettings = Field(default_factory=SesSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)


class TopicSettings(_Section):
    arxiv_categories: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


class StorageSettings(_Section):
    data_dir: str = "data"
    subscribers_dir: str = "subscribers"


def _default_topics() -> dict[str, TopicSettings]:
    rules: dict[str, tuple[list[str], list[str]]] = {
        "llm": (["cs.CL"], ["language model", "llm", "reasoning", "instruction", "rlhf"]),
        "agents": (["cs.MA"], ["agent", "agentic", "tool use", "multi-agent", "web navigation"]),
        "vision": (["cs.CV"], ["image", "vision", "visual", "segmentation", "detection", "3d"]),
        "video": ([], ["video", "temporal", "motion"]),
        "robotics": (["cs.RO"], ["robot", "manipulation", "embodied", "locomotion"]),
        "efficiency": (
            [],
            [
                "efficient",
                "quantization",
                "sparse",
                "distillation",
                "pruning",
                "inference speed",
                "kv cache",
                "attention",
            ],
        ),
        "benchmarks": ([], ["benchmark", "evaluation", "leaderboard", "dataset"]),
        "science": (
            ["q-bio.QM", "physics.chem-ph", "cond-mat.mtrl-sci"],
            ["scientific", "chemistry", "biology", "protein", "molecule", "physics"],
        ),
        "speech": (["cs.SD", "eess.AS"], ["speech", "audio", "voice", "asr", "tts"]),
        "safety": (
            ["cs.CR"],
            ["safety", "alignment", "jailbreak", "privacy", "attack", "toxicity", "bias"],
        ),
    }
    return {
        name: TopicSettings(arxiv_categories=cats, keywords=kws)
        for name, (cats, kws) in rules.items()
    }


class Settings(_Section):
    edition: EditionSettings = Field(default_factory=EditionSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    topics: dict[str, TopicSettings] = Field(default_factory=_default_topics)
    storage: StorageSettings = Field(default_factory=StorageSettings)

    # Where the settings came from (not a setting): used in messages and to resolve paths.
    source_path: Path | None = Field(default=None, exclude=True)

    @property
    def data_dir(self) -> Path:
        return Path(self.storage.data_dir)

    @property
    def subscribers_dir(self) -> Path:
        return Path(self.storage.subscribers_dir)

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm.base_url)


def load_settings(
    path: str | Path | None = None,
    env: dict[str, str] | None = None,
    data_dir: str | Path | None = None,
) -> Settings:
    """Load settings from ``path`` (or ./newsletter.toml if present), then apply the environment."""
    env = dict(os.environ) if env is None else env
    raw: dict[str, Any] = {}
    text = ""
    where: Path | None = None
    if path is not None:
        where = Path(path)
        if not where.is_file():
            raise ConfigError(f"{where}: config file not found")
    elif Path(DEFAULT_CONFIG_NAME).is_file():
        where = Path(DEFAULT_CONFIG_NAME)
    if where is not None:
        try:
            text = where.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            line = where.read_bytes()[: exc.start].count(b"\n") + 1
            raise ConfigError(
                f"{where}:{line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}"
                "); save the file as UTF-8"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read the config file ({exc.strerror})") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{where}: invalid TOML: {exc}") from exc
    from_env = _apply_env(raw, env)
    if data_dir is not None:
        raw.setdefault("storage", {})["data_dir"] = str(data_dir)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, where, text, from_env)) from None
    settings.source_path = where
    return settings


def _apply_env(raw: dict[str, Any], env: dict[str, str]) -> dict[tuple[str, ...], str]:
    """Apply NEWSLETTER_A__B overrides; returns each overridden key path -> variable name."""
    applied: dict[tuple[str, ...], str] = {}
    secrets = {
        "NEWSLETTER_LLM_API_KEY",
        "NEWSLETTER_SMTP_PASSWORD",
        "NEWSLETTER_UNSUBSCRIBE_SECRET",
    }
    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name in secrets or "__" not in name:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        node = raw
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment {name}: {'.'.join(parts)} is not a table")
            node = child
        key = "from" if parts[-1] == "from" else parts[-1]
        node[key] = _parse_env_value(value)
        applied[(*parts[:-1], key)] = name
    return applied


def _parse_env_value(value: str) -> Any:
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _describe(
    exc: ValidationError,
    where: Path | None,
    text: str,
    from_env: dict[tuple[str, ...], str] | None = None,
) -> str:
    # An unknown key (a typo) explains a "Field required" next to it, so it is named first.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    key = ".".join(str(p) for p in err["loc"])
    variable = next(
        (
            name
            for path, name in (from_env or {}).items()
            if tuple(str(p) for p in err["loc"][: len(path)]) == path
        ),
        None,
    )
    origin = str(where) if where else "settings"
    line = _find_line(text, err["loc"]) if text and variable is None else None
    loc = f"environment {variable}" if variable else f"{origin}:{line}" if line else origin
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key '{key}'{more}"
    return f"{loc}: '{key}': {err['msg'].removeprefix('Value error, ')}{more}"


def _find_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best effort: the line where the failing key is written (tomllib gives no positions)."""
    for i, part in enumerate(loc):
        if isinstance(part, int) and i:
            # An item of an array of tables ([[sources.feeds]]): its own lines, from the
            # header of that item to the next table header.
            item = _array_item_lines(text, str(loc[i - 1]), part)
            if item is not None:
                first, last = item
                found = (
                    _find_line("\n".join(text.splitlines()[first - 1 : last]), loc[i + 1 :])
                    if i + 1 < len(loc)
                    else None
                )
                return first - 1 + found if found else first
    leaf = str(loc[-1])
    if isinstance(loc[-1], int) and len(loc) > 1:
        leaf = str(loc[-2])
    pattern = re.compile(
        rf"^\s*(\[+\s*[\w.\"-]*\b{re.escape(leaf)}\b[\w.\"-]*\s*\]+|"
        rf"[\"']?{re.escape(leaf)}[\"']?\s*=)"
    )
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _array_item_lines(text: str, name: str, index: int) -> tuple[int, int] | None:
    """First and last line of item ``index`` of the array of tables ``[[...name]]``."""
    header = re.compile(rf"^\s*\[\[\s*[\w.\"-]*\b{re.escape(name)}\s*\]\]")
    lines = text.splitlines()
    starts = [n for n, line in enumerate(lines, start=1) if header.match(line)]
    if index >= len(starts):
        return None
    first = starts[index]
    last = next(
        (n - 1 for n in range(first + 1, len(lines) + 1) if lines[n - 1].lstrip().startswith("[")),
        len(lines),
    )
    return first, last
