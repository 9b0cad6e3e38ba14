"""Jinja2 (autoescape) -> MJML -> HTML (mjml-python) -> CSS inlined (css-inline).

Paper data only ever reaches the output through ``{{ }}`` with autoescape on, after
``finalize`` has removed bidirectional override controls, so a title is always text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date as Date
from importlib import resources
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from mjml import mjml2html

from ..errors import RenderError
from ..mail.placeholders import Placeholders
from ..models import Card
from .labels import labels_for
from .sections import DEGRADE_LEVELS, sections, toc_width
from .text import _text, clean_text, safe_url, truncate, wrap

FONT_STACK = (
    "-apple-system,BlinkMacSystemFont,'Apple SD Gothic Neo','Malgun Gothic',"
    "'Noto Sans KR','Segoe UI',Roboto,Helvetica,Arial,sans-serif"
)


_TEMPLATES = resources.files("newsletter") / "templates"


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


@dataclass
class RenderedVariant:
    """A variant's HTML and text bodies, with the per-recipient values left as placeholders.

    ``key`` names the variant once build has keyed it; ``subject`` overrides the edition's
    subject (the short 'nothing for your topics' note has its own).
    """

    html: str
    text: str
    placeholders: Placeholders
    level: int = 0
    key: str = ""
    subject: str = ""
    paper_count: int = field(default=0, compare=False)


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
        # Checked when the settings load (config.checks); a bad one here renders no link.
        self.web_url = safe_url(web_url)
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
                    "title": truncate(card.paper.title, toc_width(level, self.toc_width)),
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
    ) -> RenderedVariant:
        """One variant: HTML and text with per-recipient values left to fill at send time.

        ``nonce`` and ``generated`` are for reproducible output (golden files); by default the
        nonce is random and ``generated`` is today.
        """
        if level not in DEGRADE_LEVELS:
            raise RenderError(f"degrade level {level} is not one of {DEGRADE_LEVELS}")
        ctx = self.context(edition_date, cards, model, generated or Date.today().isoformat(), level)
        holes = Placeholders.new(nonce)
        ctx["unsubscribe_token"], ctx["topics_token"] = holes.unsubscribe, holes.topics
        try:
            mjml = self.env.get_template("edition.mjml.j2").render(ctx)
            text = self.env.get_template("edition.txt.j2").render(ctx)
        except jinja2.TemplateError as exc:
            raise RenderError(f"template error: {exc}") from exc
        html = self.compile(mjml)
        return RenderedVariant(
            html=html, text=text, placeholders=holes, level=level, paper_count=len(cards)
        )

    def compile(self, mjml: str) -> str:
        """MJML to HTML, then our CSS inlined (style blocks and doctype kept)."""
        try:
            html = mjml2html(mjml, disable_comments=True, fonts={})
        except Exception as exc:  # mjml-python raises plain exceptions with MRML's message
            raise RenderError(f"MJML compile failed: {exc}") from exc
        return str(self.inliner.inline(html))
