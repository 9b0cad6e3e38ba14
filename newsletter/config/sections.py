"""The settings sections, as pydantic models: every key, its type, default and range.

Checks that need more than one section, or the environment, are in ``checks.py``; the loader
(``loader.py``) runs all of them before any stage starts.
"""

from __future__ import annotations

from datetime import date as Date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..layout import Layout
from .secrets import Secrets
from .service import ArchiveSettings, FeedbackSettings, WebSettings


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


LANGUAGES = ("ko", "en")
# The title of an edition in each language, when the settings give none for it.
DEFAULT_TITLES = {"ko": "AI 논문 핵심 요약", "en": "AI Paper Digest"}


class EditionSettings(_Section):
    # The title in ``language`` (by default that language's built-in title); ``titles`` gives
    # it in the other languages subscribers read, e.g. { en = "AI Paper Digest" }.
    title: str = Field(DEFAULT_TITLES["ko"], min_length=1, max_length=200)  # in every Subject
    titles: dict[str, str] = Field(default_factory=dict)
    language: Literal["ko", "en"] = "ko"
    timezone: str = "Asia/Seoul"
    # Which day of the sources an edition date carries: "same" (edition 2026-06-12 = the lists
    # of 2026-06-12) or "previous" (edition 2026-06-13 = the lists of 2026-06-12). See dates.py.
    source_day: Literal["same", "previous"] = "same"
    ranked: int = Field(5, ge=0, le=50)
    recommended: int = Field(5, ge=0, le=50)
    dedupe_days: int = Field(7, ge=0, le=3660)  # one folder looked at per day
    allow_empty: bool = False
    toc_title_width: int = Field(45, ge=10)
    size_budget_kb: int = Field(100, ge=10)
    # Over budget: "fail" the build, or "shorten" the cards level by level until it fits.
    over_budget: Literal["fail", "shorten"] = "shorten"
    web_base_url: str = ""
    # An operator's templates, each replacing the bundled one of the same name ("" = a
    # templates/ folder in the working directory, if there is one).
    templates_dir: str = ""

    @model_validator(mode="before")
    @classmethod
    def _title_of_the_language(cls, data: Any) -> Any:
        if isinstance(data, dict) and "title" not in data:
            language = data.get("language", "ko")
            return {**data, "title": DEFAULT_TITLES.get(str(language), DEFAULT_TITLES["ko"])}
        return data

    def title_for(self, language: str) -> str:
        """The edition's title in ``language``: ``titles``, ``title`` or the built-in one."""
        if language in self.titles:
            return self.titles[language]
        if language == self.language:
            return self.title
        return DEFAULT_TITLES.get(language, self.title)

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
        return known_timezone(value)


def known_timezone(value: str) -> str:
    """``value`` if it names an IANA time zone; ValueError (one line) otherwise."""
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
    # Papers per page of the date-bounded listing query a past day is read with (API max 2000).
    listing_page_size: int = Field(200, ge=10, le=2000)
    # Listing dates on which arXiv announces nothing (its holiday schedule), e.g. [2026-12-25].
    holidays: list[Date] = Field(default_factory=list)
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
    # The time zone in which the feed's items count their day (an item is kept when it was
    # published on the source day there).
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)


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
    # Wait this long for SES's answer; a request sent and not answered is left unknown.
    timeout_s: float = Field(30.0, gt=0, le=600)


class SmtpSettings(_Section):
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    implicit_tls: bool = False  # TLS from the first byte (port 465) instead of STARTTLS
    # A login over an unencrypted connection is refused unless this is set (a local relay).
    allow_plaintext_login: bool = False
    username: str = ""
    password_env: str = "NEWSLETTER_SMTP_PASSWORD"


class DeliverySettings(_Section):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # A name from the transport registry (newsletter.delivery.transports), checked at load.
    transport: str = "outbox"
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
    """One topic's rules (see ``newsletter/topics.py`` for how they combine)."""

    # Any of the paper's categories (primary or cross-list); "q-bio" = the whole archive.
    arxiv_categories: list[str] = Field(default_factory=list)
    # The paper's primary category only.
    primary_categories: list[str] = Field(default_factory=list)
    # Whole words or phrases: in the title or the abstract / the title only / the abstract only.
    keywords: list[str] = Field(default_factory=list)
    title_keywords: list[str] = Field(default_factory=list)
    abstract_keywords: list[str] = Field(default_factory=list)
    # Occurrences of abstract keywords needed (one passing mention does not make the topic).
    abstract_matches: int = Field(1, ge=1)
    # Topics this one's keyword evidence yields to (e.g. safety yields to robotics: a robot's
    # physical "safety" is robotics). Categories are not affected.
    unless_topics: list[str] = Field(default_factory=list)


class StorageSettings(_Section):
    data_dir: str = Field("data", min_length=1)
    subscribers_dir: str = "subscribers"
    # A second command for a date that another is working on waits this long, then stops.
    lock_wait_s: float = Field(600.0, ge=0, le=86_400)


def _default_topics() -> dict[str, TopicSettings]:
    from .taxonomy import ABSTRACT_MATCHES, DEFAULT_TOPICS

    return {
        name: TopicSettings(**{"abstract_matches": ABSTRACT_MATCHES, **rules})
        for name, rules in DEFAULT_TOPICS.items()
    }


class Settings(_Section):
    edition: EditionSettings = Field(default_factory=EditionSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    topics: dict[str, TopicSettings] = Field(default_factory=_default_topics)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)

    # Not settings: where they came from (for messages), and the secrets the settings name,
    # read once from the environment by the loader. Neither is ever dumped or fingerprinted.
    source_path: Path | None = Field(default=None, exclude=True)
    secrets: Secrets = Field(default_factory=Secrets, exclude=True, repr=False)

    @property
    def data_dir(self) -> Path:
        return Path(self.storage.data_dir)

    @property
    def layout(self) -> Layout:
        """Every path under the data folder."""
        return Layout(self.data_dir)

    @property
    def subscribers_dir(self) -> Path:
        return Path(self.storage.subscribers_dir)

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm.base_url)
