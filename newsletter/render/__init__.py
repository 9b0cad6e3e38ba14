"""Rendering: Jinja2 (autoescape) -> MJML -> HTML (mjml-python) -> CSS inlined (css-inline)."""

from __future__ import annotations

import secrets
import textwrap
from dataclasses import dataclass
from datetime import date as Date
from importlib import resources
from pathlib import Path

import css_inline
import jinja2
from mjml import mjml2html

from ..errors import RenderError
from ..models import Card
from .labels import labels_for

FONT_STACK = ("-apple-system,BlinkMacSystemFont,'Apple SD Gothic Neo','Malgun Gothic',"
              "'Noto Sans KR','Segoe UI',Roboto,Helvetica,Arial,sans-serif")
_TEMPLATES = resources.files("newsletter") / "templates"


def _wrap(text: str, width: int = 76, indent: str = "") -> str:
    lines = textwrap.wrap(" ".join(str(text).split()), width=width, break_long_words=True,
                          break_on_hyphens=False, subsequent_indent=indent)
    return "\n".join(lines)


def make_env(templates_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment: autoescape for MJML/HTML, plain text for ``.txt.j2``."""
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(_TEMPLATES)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("mjml.j2", "html.j2", "html"),
                                            default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = _wrap
    return env


def _inliner() -> css_inline.CSSInliner:
    css = (_TEMPLATES / "partials" / "inline.css").read_text(encoding="utf-8")
    # MJML's own head styles stay as <style> blocks (inline_style_tags=False): inlining their
    # `table, td {...}` rules onto every cell would only add bytes. Our rules come as extra_css.
    return css_inline.CSSInliner(inline_style_tags=False, keep_style_tags=True,
                                 load_remote_stylesheets=False, extra_css=css)


def truncate(title: str, width: int) -> str:
    """Cut a title to ``width`` characters with '…' (whole title if it fits)."""
    title = " ".join(title.split())
    return title if len(title) <= width else title[: width - 1].rstrip() + "…"


@dataclass
class Rendered:
    html: str
    text: str
    unsubscribe_token: str
    topics_token: str


class Renderer:
    """Renders variants of one edition; construct once, render many."""

    def __init__(self, language: str, title: str, toc_width: int = 45,
                 templates_dir: Path | None = None, abs_url: str = "https://arxiv.org/abs",
                 web_url: str = "") -> None:
        self.env = make_env(templates_dir)
        self.language = language
        self.title = title
        self.toc_width = toc_width
        self.abs_url = abs_url.rstrip("/")
        self.web_url = web_url
        self.labels = labels_for(language)
        self.inliner = _inliner()

    def context(self, edition_date: str, cards: list[Card], model: str | None,
                generated: str) -> dict[str, object]:
        L = self.labels
        counts = {
            "ranked": sum(c.selected.kind == "ranked" for c in cards),
            "recommended": sum(c.selected.kind == "recommended" for c in cards),
            "fulltext": sum(c.analysis.fulltext.source != "abstract" for c in cards),
            "abstract": sum(c.analysis.fulltext.source == "abstract" for c in cards),
        }
        views = []
        toc = []
        for number, card in enumerate(cards, start=1):
            kind = "📊" if card.selected.kind == "ranked" else "🤖"
            src = {"html": "📄", "pdf": "📕", "abstract": "📝"}[card.analysis.fulltext.source]
            view = card.model_dump()
            view["paper"] = card.paper
            view["analysis"] = card.analysis
            view["selected"] = card.selected
            view["url"] = f"{self.abs_url}/{card.paper.id}"
            view["number"] = number
            view["kind_badge"] = L[f"badge_{card.selected.kind}"]
            view["source_badge"] = L[f"src_{card.analysis.fulltext.source}"]
            views.append(view)
            toc.append({"anchor": card.anchor, "badges": kind + src,
                        "title": truncate(card.paper.title, self.toc_width),
                        "upvotes": card.paper.upvotes})
        headline = L["headline"].format(date=edition_date, title=self.title)
        first = cards[0].paper.title if cards else L["empty"]
        return {
            "language": self.language, "L": L, "headline": headline,
            "preheader": L["preheader"].format(date=edition_date, n=len(cards), first=first),
            "font_stack": FONT_STACK, "counts": counts, "toc": toc, "cards": views,
            "model": model, "generated": generated, "web_url": self.web_url,
        }

    def render(self, edition_date: str, cards: list[Card], model: str | None = None,
               generated: str | None = None) -> Rendered:
        """One variant: HTML and text with per-recipient tokens left to fill at send time."""
        ctx = self.context(edition_date, cards, model, generated or Date.today().isoformat())
        # Random tokens cannot collide with paper text; delivery replaces them per recipient.
        nonce = secrets.token_hex(6)
        ctx["unsubscribe_token"] = f"https://unsubscribe.invalid/{nonce}"
        ctx["topics_token"] = f"%%TOPICS-{nonce}%%"
        try:
            mjml = self.env.get_template("edition.mjml.j2").render(ctx)
            text = self.env.get_template("edition.txt.j2").render(ctx)
        except jinja2.TemplateError as exc:
            raise RenderError(f"template error: {exc}") from exc
        html = self.compile(mjml)
        return Rendered(html=html, text=text, unsubscribe_token=str(ctx["unsubscribe_token"]),
                        topics_token=str(ctx["topics_token"]))

    def compile(self, mjml: str) -> str:
        try:
            html = mjml2html(mjml, disable_comments=True, fonts={})
        except Exception as exc:  # mjml-python raises plain exceptions with MRML's message
            raise RenderError(f"MJML compile failed: {exc}") from exc
        return self.inliner.inline(html)
