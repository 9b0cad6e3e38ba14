"""Rendering: Jinja2 (autoescape) -> MJML -> HTML (mjml-python) -> CSS inlined (css-inline).

Paper data only ever reaches the output through ``{{ }}`` with autoescape on, after
``finalize`` has removed bidirectional override controls, so a title is always text.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date as Date
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import css_inline
import jinja2
from mjml import mjml2html

from ..errors import ConfigError, RenderError
from ..models import Card
from .labels import labels_for

FONT_STACK = (
    "-apple-system,BlinkMacSystemFont,'Apple SD Gothic Neo','Malgun Gothic',"
    "'Noto Sans KR','Segoe UI',Roboto,Helvetica,Arial,sans-serif"
)
_TEMPLATES = resources.files("newsletter") / "templates"

# Embedding/override/isolate controls would reorder the rest of a block; LRM/RLM marks are
# harmless and kept. C0 controls other than tab and newline have no place in an email.
_UNSAFE_CHARS = re.compile(r"[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Degrade levels (see README): 0 = everything; 1 = lists cut to two items; 2 = summary,
# core idea, problem, two results and one limitation; 3 = summary and core idea only.
DEGRADE_LEVELS = (0, 1, 2, 3)
_LEVEL_SECTIONS: dict[int, dict[str, int | None]] = {
    0: {},
    1: {"method": 2, "results": 2, "improvements": 2, "applications": 2, "limitations": 2},
    2: {
        "method": 0,
        "key_technique": 0,
        "results": 2,
        "improvements": 0,
        "applications": 0,
        "limitations": 1,
    },
    3: {
        "problem": 0,
        "method": 0,
        "key_technique": 0,
        "results": 0,
        "improvements": 0,
        "applications": 0,
        "limitations": 0,
    },
}


def clean_text(value: Any) -> Any:
    """Strip bidi override and control characters from strings on their way out."""
    return _UNSAFE_CHARS.sub("", value) if isinstance(value, str) else value


def safe_url(value: str | None) -> str:
    """The URL if it is http(s), else '' (no javascript: or data: links from paper data)."""
    if not value:
        return ""
    url = clean_text(str(value)).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def display_width(text: str) -> int:
    """Terminal columns: Hangul, CJK and emoji take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _split_long(word: str, width: int) -> list[str]:
    parts, current = [], ""
    for ch in word:
        if current and display_width(current + ch) > width:
            parts.append(current)
            current = ""
        current += ch
    return [*parts, current] if current else parts


def wrap(text: str, width: int = 76, indent: str = "") -> str:
    """Wrap at spaces to ``width`` display columns; a longer word is cut where it must be."""
    lines: list[str] = []
    line = ""
    limit = width
    for word in str(text).split():
        candidate = f"{line} {word}" if line else word
        if display_width(candidate) <= limit:
            line = candidate
            continue
        if line:
            lines.append(line)
            limit = width - len(indent)
        pieces = _split_long(word, limit)
        lines.extend(pieces[:-1])
        line = pieces[-1]
    if line:
        lines.append(line)
    return ("\n" + indent).join(lines)


def _finalize(value: Any) -> Any:
    return "" if value is None else clean_text(value)


def make_env(templates_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment: autoescape for MJML/HTML, plain text for ``.txt.j2``."""
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(_TEMPLATES)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("mjml.j2", "html.j2", "html"),
            disabled_extensions=("txt.j2",),
            default_for_string=True,
            default=True,
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters["wrap"] = wrap
    env.filters["url"] = safe_url
    return env


def _inliner() -> css_inline.CSSInliner:
    css = (_TEMPLATES / "partials" / "inline.css").read_text(encoding="utf-8")
    # MJML's own head styles stay as <style> blocks (inline_style_tags=False): inlining their
    # `table, td {...}` rules onto every cell would only add bytes. Our rules come as extra_css.
    return css_inline.CSSInliner(
        inline_style_tags=False,
        keep_style_tags=True,
        load_remote_stylesheets=False,
        extra_css=css,
        minify_css=True,
    )


def truncate(title: str, width: int) -> str:
    """Cut a title to ``width`` characters with '…' (whole title if it fits)."""
    title = " ".join(str(clean_text(title)).split())
    return title if len(title) <= width else title[: width - 1].rstrip() + "…"


def _text(value: str) -> str:
    return " ".join(str(clean_text(value)).split())


def _items(values: list[str], keep: int | None) -> list[str]:
    items = [t for t in (_text(v) for v in values) if t]
    return items if keep is None else items[:keep]


def sections(card: Card, level: int = 0) -> dict[str, Any]:
    """The card's analysis sections after the degrade level; empty ones are ''/[]."""
    a = card.analysis.analysis
    limits = _LEVEL_SECTIONS[level]
    out: dict[str, Any] = {}
    for key in ("summary", "core_idea", "problem", "key_technique"):
        out[key] = "" if limits.get(key) == 0 else _text(getattr(a, key))
    for key in ("method", "results", "improvements", "applications", "limitations"):
        out[key] = _items(getattr(a, key), limits.get(key))
    full = sum(bool(_text(getattr(a, k))) for k in ("problem", "key_technique"))
    full += sum(
        len(_items(getattr(a, k), None))
        for k in ("method", "results", "improvements", "applications", "limitations")
    )
    shown = sum(bool(out[k]) for k in ("problem", "key_technique"))
    shown += sum(
        len(out[k]) for k in ("method", "results", "improvements", "applications", "limitations")
    )
    out["shortened"] = shown < full
    out["tags"] = ["-".join(t.split()) for t in _items(a.tags, None)]  # one #hashtag each
    out["prerequisites"] = _items(a.prerequisites, None)
    return out


@dataclass
class Rendered:
    html: str
    text: str
    unsubscribe_token: str
    topics_token: str
    level: int = 0


class Renderer:
    """Renders variants of one edition; construct once, render many."""

    def __init__(
        self,
        language: str,
        title: str,
        toc_width: int = 45,
        templates_dir: Path | None = None,
        abs_url: str = "https://arxiv.org/abs",
        web_url: str = "",
    ) -> None:
        self.env = make_env(templates_dir)
        self.language = language
        self.title = title
        self.toc_width = toc_width
        self.abs_url = abs_url.rstrip("/")
        self.web_url = safe_url(web_url)
        if web_url and not self.web_url:
            raise ConfigError(f"edition.web_base_url {web_url!r}: expected an http(s) URL")
        self.labels = labels_for(language)
        self.inliner = _inliner()

    def _card_view(self, number: int, card: Card, level: int) -> dict[str, Any]:
        L = self.labels
        p = card.paper
        source = card.analysis.fulltext.source
        url = f"{self.abs_url}/{p.id}"
        full_link = f"{self.web_url.rstrip('/')}#{card.anchor}" if self.web_url else url
        return {
            "paper": p,
            "selected": card.selected,
            "analysis": card.analysis,
            "anchor": card.anchor,
            "number": number,
            "url": url,
            "fulltext_url": safe_url(card.analysis.fulltext.url),
            "github_url": safe_url(p.github_repo),
            "project_url": safe_url(p.project_page),
            "kind_badge": L[f"badge_{card.selected.kind}"],
            "source_badge": L[f"src_{source}"],
            "s": sections(card, level),
            "full_link": full_link,
            "warnings": [_text(w) for w in card.analysis.warnings if _text(w)],
        }

    def context(
        self,
        edition_date: str,
        cards: list[Card],
        model: str | None,
        generated: str,
        level: int = 0,
    ) -> dict[str, Any]:
        """Everything the templates see for one variant."""
        L = self.labels
        counts = {
            "ranked": sum(c.selected.kind == "ranked" for c in cards),
            "recommended": sum(c.selected.kind == "recommended" for c in cards),
            "fulltext": sum(c.analysis.fulltext.source != "abstract" for c in cards),
            "abstract": sum(c.analysis.fulltext.source == "abstract" for c in cards),
        }
        views = [self._card_view(n, c, level) for n, c in enumerate(cards, start=1)]
        toc = []
        for card in cards:
            kind = "📊" if card.selected.kind == "ranked" else "🤖"
            src = {"html": "📄", "pdf": "📕", "abstract": "📝"}[card.analysis.fulltext.source]
            toc.append(
                {
                    "anchor": card.anchor,
                    "badges": kind + src,
                    "title": truncate(card.paper.title, self.toc_width),
                    "upvotes": card.paper.upvotes,
                }
            )
        headline = L["headline"].format(date=edition_date, title=self.title)
        first = truncate(cards[0].paper.title, 80) if cards else L["empty"]
        return {
            "language": self.language,
            "L": L,
            "headline": headline,
            "title": self.title,
            "date": edition_date,
            "preheader": L["preheader"].format(date=edition_date, n=len(cards), first=first),
            "font_stack": FONT_STACK,
            "counts": counts,
            "toc": toc,
            "cards": views,
            "model": model,
            "generated": generated,
            "web_url": self.web_url,
            "degraded": any(v["s"]["shortened"] for v in views),
        }

    def render(
        self,
        edition_date: str,
        cards: list[Card],
        model: str | None = None,
        generated: str | None = None,
        *,
        level: int = 0,
        nonce: str | None = None,
    ) -> Rendered:
        """One variant: HTML and text with per-recipient tokens left to fill at send time.

        ``nonce`` and ``generated`` are for reproducible output (golden files); by default the
        nonce is random and ``generated`` is today.
        """
        if level not in DEGRADE_LEVELS:
            raise RenderError(f"degrade level {level} is not one of {DEGRADE_LEVELS}")
        ctx = self.context(edition_date, cards, model, generated or Date.today().isoformat(), level)
        # Random tokens cannot collide with paper text; delivery replaces them per recipient.
        nonce = nonce or secrets.token_hex(6)
        ctx["unsubscribe_token"] = f"https://unsubscribe.invalid/{nonce}"
        ctx["topics_token"] = f"%%TOPICS-{nonce}%%"
        try:
            mjml = self.env.get_template("edition.mjml.j2").render(ctx)
            text = self.env.get_template("edition.txt.j2").render(ctx)
        except jinja2.TemplateError as exc:
            raise RenderError(f"template error: {exc}") from exc
        html = self.compile(mjml)
        return Rendered(
            html=html,
            text=text,
            unsubscribe_token=str(ctx["unsubscribe_token"]),
            topics_token=str(ctx["topics_token"]),
            level=level,
        )

    def compile(self, mjml: str) -> str:
        """MJML to HTML, then our CSS inlined (style blocks and doctype kept)."""
        try:
            html = mjml2html(mjml, disable_comments=True, fonts={})
        except Exception as exc:  # mjml-python raises plain exceptions with MRML's message
            raise RenderError(f"MJML compile failed: {exc}") from exc
        return str(self.inliner.inline(html))
