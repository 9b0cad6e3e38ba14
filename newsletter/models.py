"""The domain data that flows between stages, as pydantic models (each stage file is one)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1

FullTextSource = Literal["html", "pdf", "abstract"]
SelectionKind = Literal["ranked", "recommended"]

_ARXIV_ID = re.compile(r"^(?P<id>(\d{4}\.\d{4,5})|([a-z\-]+(\.[A-Z]{2})?/\d{7}))(?P<v>v\d+)?$")


def split_arxiv_id(raw: str) -> tuple[str, str | None]:
    """'2606.13681v2' -> ('2606.13681', 'v2'); also accepts abs/pdf URLs."""
    text = raw.strip().rstrip("/")
    for marker in ("/abs/", "/pdf/", "/html/"):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = text.removesuffix(".pdf")
    match = _ARXIV_ID.match(text)
    if not match:
        raise ValueError(f"not an arXiv id: {raw!r}")
    return match.group("id"), match.group("v")


def _paper_id(value: str) -> str:
    match = _ARXIV_ID.match(value)
    if not match or match.group("v"):
        raise ValueError(f"{value[:80]!r} is not an arXiv id without version")
    return value


def _variant_key(value: str) -> str:
    if not _SAFE_NAME.match(value):
        raise ValueError(f"{value[:80]!r} is not a variant key (letters, digits, '-', '_')")
    return value


# Ids and keys name files (analyses/ID.json, variants/KEY.html): a stage file edited by hand
# must not point one outside its folder.
PaperId = Annotated[str, AfterValidator(_paper_id)]
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
VariantKey = Annotated[str, AfterValidator(_variant_key)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Paper(_Model):
    """One candidate paper, merged from every source that knows it."""

    id: PaperId
    version: str | None = None
    title: str
    authors: list[str] = Field(default_factory=list)
    organization: str | None = None
    abstract: str = ""
    categories: list[str] = Field(default_factory=list)
    primary_category: str | None = None
    published: str | None = None  # arXiv first version, ISO
    updated: str | None = None
    daily_date: str | None = None  # day it was put on HF Daily Papers
    upvotes: int | None = None
    comments: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = Field(default_factory=list)
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    pdf_link: str | None = None  # as the arXiv API lists it
    html_link: str | None = None
    sources: list[str] = Field(default_factory=list)

    def abs_url(self, base: str = "https://arxiv.org/abs") -> str:
        return f"{base.rstrip('/')}/{self.id}"

    @property
    def versioned_id(self) -> str:
        return f"{self.id}{self.version or ''}"


class Candidates(_Model):
    """``candidates.json``: every paper of the day."""

    schema_version: int = SCHEMA_VERSION
    date: str
    collected_at: datetime
    papers: list[Paper]
    warnings: list[str] = Field(default_factory=list)


class Selected(_Model):
    id: PaperId
    kind: SelectionKind
    reason: str  # why it was selected, for subscribers, in the edition's language
    rank: int
    # The reason in each language subscribers read when it was selected (the edition's
    # included). A language missing here (an older file, a subscriber added since) gets one
    # made from ``kind`` and ``rank`` (``reasons.reason_for``).
    reasons: dict[str, str] = Field(default_factory=dict)


class Selection(_Model):
    """``selection.json``: ranked + recommended papers, in edition order."""

    schema_version: int = SCHEMA_VERSION
    date: str
    method: Literal["llm", "heuristic"]
    model: str | None = None
    papers: list[Selected]
    usage: dict[str, int] = Field(default_factory=dict)  # the recommender's LLM tokens
    cost_usd: float | None = None
    warnings: list[str] = Field(default_factory=list)  # for operators ('newsletter status')


class FullText(_Model):
    source: FullTextSource
    url: str | None = None
    chars: int = 0
    sha256: str | None = None
    note: str | None = None  # why a fallback happened


class Analysis(_Model):
    """The card's body, every field in the edition's language."""

    summary: str
    core_idea: str
    problem: str
    method: list[str]
    key_technique: str
    results: list[str]
    improvements: list[str]
    applications: list[str]
    limitations: list[str]
    tags: list[str]
    topics: list[str]
    prerequisites: list[str]


class PaperAnalysis(_Model):
    """``analyses/ID.json`` (the edition's language) or ``analyses/ID.LANG.json`` (another
    language some subscriber reads): one paper's analysis in ``language`` and how it was made.

    ``analyzer`` "llm": a model wrote the card, from the full text or, when ``abstract_only``,
    from the abstract. "offline": no model wrote it; the card is the abstract itself.
    ``warnings`` are for operators (``newsletter status``, the build report), never shown to
    subscribers.
    """

    schema_version: int = SCHEMA_VERSION
    id: PaperId
    fulltext: FullText
    analysis: Analysis
    analyzer: Literal["llm", "offline"]
    model: str | None = None
    prompt_version: str | None = None
    language: str
    abstract_only: bool
    warnings: list[str] = Field(default_factory=list)
    usage: dict[str, int] = Field(default_factory=dict)
    cost_usd: float | None = None  # from the configured prices; None without an LLM
    fallback: str | None = None  # why the LLM card was not used (then analyzer is "offline")


class Card(_Model):
    """Everything the templates need for one paper (its analysis in the variant's language)."""

    paper: Paper
    selected: Selected
    analysis: PaperAnalysis
    anchor: str


class Variant(_Model):
    """``variants/KEY.json``: one distinct set of papers and who receives it.

    Who, as counts: how many subscribers, and the distinct topic choices that lead here
    (``routing.describe``), never their addresses (a million of them would make every stage
    file tens of megabytes; routing the lists again says who gets which variant).
    """

    key: VariantKey
    paper_ids: list[PaperId]
    subscriber_count: int = 0
    profiles: dict[str, int] = Field(default_factory=dict)  # 'llm,agents -safety' -> count
    language: str
    html_bytes: int = 0
    text_bytes: int = 0
    degraded: bool = False
    shortened: list[str] = Field(default_factory=list)  # what the size budget cut, step by step
    unsubscribe_token: str = ""
    topics_token: str = ""
    preferences_token: str = ""  # "" = rendered without a preferences link
    # Digests of variants/KEY.html and .txt as built ("" = not recorded): a file changed or
    # cut short since the build is refused before it is sent.
    html_sha256: str = ""
    text_sha256: str = ""

    @model_validator(mode="before")
    @classmethod
    def _addresses_to_count(cls, data: Any) -> Any:
        # Files built before counts replaced the address list are still read (and sent).
        if isinstance(data, dict) and isinstance(data.get("subscribers"), list):
            data = dict(data)
            data.setdefault("subscriber_count", len(data.pop("subscribers")))
        return data


class Edition(_Model):
    """``edition.json``: the built edition, its cards and its variants."""

    schema_version: int = SCHEMA_VERSION
    date: str
    title: str
    language: str
    # The title in each language the variants were built in (the subject of their messages).
    titles: dict[str, str] = Field(default_factory=dict)
    model: str | None = None
    cards: list[Card]  # in the edition's language; variants in others used ID.LANG.json
    variants: list[Variant]
    built_at: datetime
    # Digest of what the build read besides stage files (settings, templates, subscribers):
    # a change makes the edition stale.
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One subscriber: a slotted record, not a pydantic model (a million must fit in memory;
    subscribers are read from the lists, never from a stage file)."""

    email: str
    name: str = ""
    topics: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    language: str | None = None
    origin: str = ""  # file:line it was read from

    def __post_init__(self) -> None:
        # Callers may pass lists; a record keeps tuples (hashable: routing groups by them).
        if type(self.topics) is not tuple:
            object.__setattr__(self, "topics", tuple(self.topics))
        if type(self.exclude) is not tuple:
            object.__setattr__(self, "exclude", tuple(self.exclude))


DeliveryState = Literal["pending", "sending", "sent", "failed", "skipped"]
