"""Jinja2 (autoescape) -> MJML -> HTML (mjml-python) -> CSS inlined (css-inline).

Paper data only ever reaches the output through ``{{ }}`` with autoescape on, after
``finalize`` has removed bidirectional override controls, so a title is always text.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date as Date
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import jinja2.bccache
from markupsafe import Markup
from mjml import mjml2html

from ..errors import RenderError
from ..mail.placeholders import Placeholders
from ..models import Card
from ..reasons import reason_for
from . import templates
from .labels import labels_for
from .prose import Prose, prose
from .sections import DEGRADE_LEVELS, sections, toc_width
from .text import UNSAFE_CHARS, Wrapper, clean_text, safe_url, truncate

# Inbox lists show about 90-140 characters of preview text after the subject.
PREHEADER_WIDTH = 140

FONT_STACK = (
    "-apple-system,BlinkMacSystemFont,'Apple SD Gothic Neo','Malgun Gothic',"
    "'Noto Sans KR','Segoe UI',Roboto,Helvetica,Arial,sans-serif"
)


def _finalize(value: Any) -> Any:
    kind = type(value)
    if kind is str:  # most of what a template prints: the fast path
        return _unsafe.sub("", value)
    if kind is int:
        return value
    if isinstance(value, Prose):
        return value  # cleaned when it was made; a plain str here would lose its markup
    if isinstance(value, Markup):
        # Already escaped (a filter's output, e.g. join): cleaned, but not escaped twice.
        return Markup(clean_text(str(value)))
    return "" if value is None else clean_text(value)


_unsafe = UNSAFE_CHARS


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept for the life of the process.

    Each build makes its renderers (and so its environments) afresh; compiling the templates
    took ~100 ms of every build. Jinja checks each template's source against its checksum,
    so an edited template is compiled again.
    """

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self.code.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


def make_env(templates_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment: autoescape for MJML/HTML, plain text for ``.txt.j2``.

    ``templates_dir`` holds an operator's templates, each replacing the bundled one of its name.
    """
    folders = templates.search_path(templates_dir)
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(f)) for f in folders]),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("mjml.j2", "html.j2", "html"),
            disabled_extensions=("txt.j2",),
            default_for_string=True,
            default=True,
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=_finalize,
        bytecode_cache=_COMPILED,
    )
    env.filters["wrap"] = Wrapper()  # one per environment: a renderer's variants share it
    env.filters["url"] = safe_url
    return env


def _inliner(css: str) -> css_inline.CSSInliner:
    # MJML's own head styles stay as <style> blocks (inline_style_tags=False): inlining their
    # `table, td {...}` rules onto every cell would only add bytes. Our rules come as extra_css.
    return css_inline.CSSInliner(
        inline_style_tags=False,
        keep_style_tags=True,
        load_remote_stylesheets=False,
        extra_css=css,
        minify_css=True,
    )


def _preheader(views: list[dict[str, Any]]) -> str:
    """What inbox lists show after the subject: the top paper's one-line summary."""
    if not views:
        return ""
    top = views[0]
    return truncate(top["s"]["summary"] or top["paper"].title, PREHEADER_WIDTH)


def _start_here(views: list[dict[str, Any]]) -> dict[str, str] | None:
    """The 'start here' block: the day's top pick (the first card), linked to its card."""
    if not views:
        return None
    top = views[0]
    return {"anchor": top["anchor"], "title": top["paper"].title, "summary": top["s"]["summary"]}


@dataclass
class RenderedVariant:
    """A variant's HTML and text bodies, with the per-recipient values left as placeholders.

    ``key`` names the variant once build has keyed it; ``subject`` overrides the edition's
    subject (a variant in another language, the short 'nothing for your topics' note);
    ``language`` is the one it was rendered in ("" = the edition's).
    """

    html: str
    text: str
    placeholders: Placeholders
    level: int = 0
    key: str = ""
    subject: str = ""
    language: str = ""
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
        preferences: bool = False,
        figures: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.env = make_env(templates_dir)
        self.language = language
        self.title = title
        self.toc_width = toc_width
        self.abs_url = abs_url.rstrip("/")
        # Checked when the settings load (config.checks); a bad one here renders no link.
        self.web_url = safe_url(web_url)
        self.labels = labels_for(language)
        self.preferences = preferences  # a per-subscriber preferences link in the footer
        # paper id -> {url, alt}: key figures in the archive, shown by URL (not attached),
        # so a figure costs the email a few hundred bytes.
        self.figures = figures or {}
        self.inline_css = templates.find(self.env, "partials/inline.css")
        self.inliner = _inliner(templates.read(self.inline_css))

    def _why(self, card: Card) -> Prose:
        """'📊 3rd most upvoted' / '🤖 recommended: ...': why the paper is in the edition."""
        icon = "📊" if card.selected.kind == "ranked" else "🤖"
        reason = prose(reason_for(card.selected, self.language))
        return Prose(f"{icon} {reason}", f"{icon} {reason.__html__()}")

    def _notice(self, card: Card) -> tuple[str, str]:
        """The card's note on how it was written, and the heading of its first section: the
        abstract is under its own heading only when no model wrote the card."""
        L, pa = self.labels, card.analysis
        if pa.analyzer == "offline":
            return L["abstract_only"], L["abstract_body"]
        return (L["from_abstract"] if pa.fulltext.source == "abstract" else ""), L["core_idea"]

    def _card_view(self, number: int, card: Card, level: int) -> dict[str, Any]:
        L = self.labels
        p = card.paper
        source = card.analysis.fulltext.source
        url = f"{self.abs_url}/{p.id}"
        full_link = f"{self.web_url.rstrip('/')}#{card.anchor}" if self.web_url else url
        notice, core_heading = self._notice(card)
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
            "why": self._why(card),
            "source_badge": L[f"src_{source}"],
            "notice": notice,
            "core_heading": core_heading,
            "s": sections(card, level),
            "full_link": full_link,
            "figure": self.figures.get(p.id) if level < 3 else None,
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
        return {
            "language": self.language,
            "L": L,
            "headline": headline,
            "title": self.title,
            "date": edition_date,
            "preheader": _preheader(views) or L["empty"],
            "start": _start_here(views),
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
        if not self.preferences:
            holes = replace(holes, preferences="")
        ctx["unsubscribe_token"], ctx["topics_token"] = holes.unsubscribe, holes.topics
        ctx["preferences_token"] = holes.preferences
        try:
            mjml = self.env.get_template("edition.mjml.j2").render(ctx)
            text = self.env.get_template("edition.txt.j2").render(ctx)
        except RenderError:
            raise
        except Exception as exc:  # whatever an (operator's) template raises: name file and line
            raise templates.template_error(exc) from exc
        html = self.compile(mjml)
        return RenderedVariant(
            html=html,
            text=text,
            placeholders=holes,
            level=level,
            language=self.language,
            paper_count=len(cards),
        )

    def compile(self, mjml: str) -> str:
        """MJML to HTML, then our CSS inlined (style blocks and doctype kept)."""
        try:
            html = mjml2html(mjml, disable_comments=True, fonts={})
        except Exception as exc:  # mjml-python raises plain exceptions with MRML's message
            # MRML names no position; the folders at least say whose templates made the MJML.
            folders = templates.search_path_of(self.env)
            raise RenderError(f"MJML compile failed: {exc} (templates: {folders})") from exc
        try:
            return str(self.inliner.inline(html))
        except ValueError as exc:  # css-inline: a rule of partials/inline.css it cannot parse
            raise RenderError(f"{self.inline_css}: {exc}") from exc
