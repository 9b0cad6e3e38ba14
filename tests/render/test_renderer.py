"""Structural checks of a rendered variant: doctype, lang, TOC targets, footer, safe paper data."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from support.render_edition import GENERATED, LONG_WORD, MODEL, NONCE, hostile_card, load_cards

from newsletter.config import load_settings
from newsletter.errors import ConfigError, RenderError
from newsletter.models import Card
from newsletter.render import Renderer
from newsletter.render.sections import DEGRADE_LEVELS, card_at, sections
from newsletter.render.text import display_width, safe_url, truncate


def render(cards: list[Card], language: str = "ko", **kw: object):  # type: ignore[no-untyped-def]
    renderer = Renderer(language, "AI 논문 핵심 요약", **kw)  # type: ignore[arg-type]
    return renderer.render("2026-06-12", cards, MODEL, GENERATED, nonce=NONCE)


@pytest.fixture(scope="module")
def cards() -> list[Card]:
    return load_cards()


@pytest.fixture(scope="module")
def full(cards: list[Card]):  # type: ignore[no-untyped-def]
    return render(cards)


def visible_text(html: str) -> str:
    tree = HTMLParser(html)
    for node in tree.css("style, title, head"):
        node.decompose()
    return tree.body.text(separator=" ") if tree.body else ""


def test_fixture_is_reference_sized(cards: list[Card], full) -> None:  # type: ignore[no-untyped-def]
    """Ten cards, every section filled, ~5 KB of visible text each (the budget test's premise)."""
    assert len(cards) == 10
    for c in cards:
        a = c.analysis.analysis
        assert all(
            [
                a.summary,
                a.core_idea,
                a.problem,
                a.method,
                a.key_technique,
                a.results,
                a.improvements,
                a.applications,
                a.limitations,
                a.tags,
                a.prerequisites,
            ]
        )
    assert len(visible_text(full.html).encode("utf-8")) > 47_000


def test_document_structure(full) -> None:  # type: ignore[no-untyped-def]
    html = full.html
    assert html.lower().startswith("<!doctype html>")
    tree = HTMLParser(html)
    assert tree.css_first("html").attributes["lang"] == "ko"
    assert tree.css_first("title").text() == "2026-06-12 AI 논문 핵심 요약"
    assert 'name="color-scheme"' in html
    assert "@media (prefers-color-scheme:dark)" in html  # the <style> blocks are kept
    assert "!important" in html
    assert "<link" not in html and "fonts.googleapis" not in html  # nothing remote
    # Only the elements the templates write: anything else would be markup from paper data.
    tags = {node.tag for node in tree.css("*")}
    assert tags <= {
        "html",
        "head",
        "title",
        "meta",
        "style",
        "body",
        "div",
        "table",
        "tbody",
        "tr",
        "td",
        "h1",
        "h2",
        "h3",
        "p",
        "b",
        "br",
        "a",
        "ol",
        "ul",
        "li",
        "span",
    }, tags
    # The preheader adds to the subject: the top paper's summary, not the date again, hidden
    # by display:none alone (white 1 px text is what spam filters flag as low contrast).
    preheader = tree.body.css_first("div div")
    assert preheader.text().startswith("환경이 계속 바뀌는 현실에서 LLM 에이전트가")
    assert "2026-06-12" not in preheader.text()
    assert preheader.attributes["style"] == "display:none;max-height:0;overflow:hidden;mso-hide:all"
    names = {m.attributes.get("name") for m in tree.css("meta")}
    assert {"x-apple-disable-message-reformatting", "format-detection"} <= names


def test_every_internal_link_has_its_target(full) -> None:  # type: ignore[no-untyped-def]
    tree = HTMLParser(full.html)
    toc = [a.attributes["href"] for a in tree.css("ol.toc a")]
    assert toc == [f"#paper-{i}" for i in range(1, 11)]
    for href in {a.attributes["href"] for a in tree.css("a[href^='#']")}:
        target = href[1:]
        anchors = tree.css(f"a[name='{target}']")
        assert len(anchors) == 1 and anchors[0].attributes.get("id") == target, href


def test_toc_badges_truncation_and_upvotes(full) -> None:  # type: ignore[no-untyped-def]
    items = [li.text() for li in HTMLParser(full.html).css("ol.toc li")]
    assert items[0] == "📊📄 EvoArena: Tracking Memory Evolution for… ⬆️118"  # at a word end
    assert items[2] == "📊📄 Robust-U1: Can MLLMs Self-Recover Corrupted… ⬆️74"
    assert items[3].startswith("📊📕 HYDRA-X")
    assert items[5].startswith("🤖📄 VIA-SD")
    assert items[9].startswith("🤖📝 High-Fidelity")
    assert "📊 순위 기반 5개 · 🤖 추천 5개 · 📄 전문 분석 9개 · 📝 초록 분석 1개" in full.html


def test_card_has_every_section_and_meta(full, cards: list[Card]) -> None:  # type: ignore[no-untyped-def]
    tree = HTMLParser(full.html)
    card = tree.css_first("a[name='paper-2']").parent
    text = card.text()
    title = card.css_first("h2 a")
    assert title.attributes["href"] == "https://arxiv.org/abs/2606.13392"
    assert title.text() == "2. MiniMax Sparse Attention"
    meta = card.css_first("p.m").text()
    for part in (
        "arXiv: 2606.13392",
        "기관: MiniMax",
        "⬆️ 103",
        "⭐ 251",
        "📊 추천수 2위 | 📄 HTML",  # why it was selected, in words for subscribers
    ):
        assert part in meta
    headings = [h.text() for h in card.css("h3")]
    assert headings == [
        "💡 핵심 아이디어",
        "❓ 문제 정의",
        "🔬 방법론 상세",
        "🔑 핵심 기법",
        "📊 정량적 결과",
        "🚀 기존 대비 개선점",
        "🎯 활용 분야",
        "⚠️ 한계 및 주의사항",
    ]
    assert "#sparse-attention" in text and "사전 지식: 셀프 어텐션" in text
    assert cards[1].analysis.analysis.summary in text
    assert len(card.css("li")) == sum(
        len(getattr(cards[1].analysis.analysis, k))
        for k in ("method", "results", "improvements", "applications", "limitations")
    )


def test_footer_and_per_recipient_tokens(full) -> None:  # type: ignore[no-untyped-def]
    assert full.placeholders.unsubscribe == f"https://unsubscribe.invalid/{NONCE}"
    assert full.placeholders.topics == f"%%TOPICS-{NONCE}%%"
    footer = HTMLParser(full.html).css("div.ft")[-1]
    links = [a.attributes["href"] for a in footer.css("a")]
    assert links == [full.placeholders.unsubscribe]
    assert "2026-06-12 생성 · 모델: gpt-4.1-mini" in footer.text()
    assert f"구독 주제: {full.placeholders.topics}" in footer.text()
    assert "구독하셨기 때문에" in footer.text()
    assert full.placeholders.unsubscribe in full.text and full.placeholders.topics in full.text


def test_korean_words_kept_whole_inline(full) -> None:  # type: ignore[no-untyped-def]
    """keep-all sits inline on the inner wrapper, not on MJML's td (which has break-word)."""
    tree = HTMLParser(full.html)
    wrappers = tree.css("div.k")
    assert len(wrappers) == 3  # header band, contents and cards, footer
    assert len(tree.css("div.k div.c")) == 10  # every card inside one
    for div in wrappers:
        assert "word-break:keep-all" in div.attributes["style"]
        assert "overflow-wrap:anywhere" in div.attributes["style"]


def test_hostile_paper_data_renders_as_text(cards: list[Card]) -> None:
    bad = hostile_card()
    out = render([cards[0], bad])
    tree = HTMLParser(out.html)
    assert tree.css("script, img, iframe, svg, i, u") == []
    assert {b.text() for b in tree.css("div.c b")} == {"한 줄 요약"}  # only our own label
    for node in tree.css("*"):
        for name in node.attributes:
            assert not name.lower().startswith("on"), (node.tag, name)
    hrefs = [a.attributes["href"] or "" for a in tree.css("a[href]")]
    assert not [h for h in hrefs if not h.startswith(("https://", "#"))]
    card = tree.css_first("a[name='paper-11']").parent
    title = card.css_first("h2").text()
    assert title == (
        "2. <script>window.pwned=1</script> {{ 7*7 }} <b>Bold <i>unclosed evil title \u200f"
    )  # overrides dropped, a plain RLM mark kept
    assert "\u202e" not in out.html and "\u202e" not in out.text
    assert "{{ config }}" in card.text() and "<iframe" in card.text()
    assert LONG_WORD in card.text()
    assert "<img src=x onerror" in card.text()
    # The unbalanced tags did not swallow what follows: the footer is intact.
    assert (
        HTMLParser(out.html).css("div.ft a")[-1].attributes["href"] == out.placeholders.unsubscribe
    )
    assert "<script>window.pwned=1</script>" in out.text


def test_missing_sections_leave_no_empty_heading(cards: list[Card]) -> None:
    out = render([hostile_card()])
    card = HTMLParser(out.html).css_first("a[name='paper-11']").parent
    headings = [h.text() for h in card.css("h3")]
    assert "❓ 문제 정의" not in headings and "🔑 핵심 기법" not in headings
    assert "🎯 활용 분야" not in headings
    assert [li.text() for li in card.css("ul")[0].css("li")] == [
        '<a href="javascript:alert(1)">click</a>'
    ]
    for h in card.css("h3"):
        assert h.next is not None and h.next.text().strip(), h.text()
    assert "[❓ 문제 정의]" not in out.text and "[🎯 활용 분야]" not in out.text


def test_check_warnings_are_for_operators_not_subscribers(cards: list[Card]) -> None:
    card = hostile_card()
    assert card.analysis.warnings == ["results: a number not found in the full text"]
    out = render([card])
    assert len(HTMLParser(out.html).css("div.c h2")) == 1  # the card renders whole
    for part in (out.html, out.text):
        assert "경고" not in part and "not found in the full text" not in part


def test_a_card_says_truthfully_who_wrote_it(cards: list[Card]) -> None:
    full_text = cards[2]
    from_abstract = cards[2].model_copy(deep=True)
    from_abstract.analysis.fulltext.source = "abstract"
    from_abstract.analysis.abstract_only = True
    offline = from_abstract.model_copy(deep=True)
    offline.analysis.analyzer = "offline"
    offline.analysis.model = None
    no_llm, analysed = "📝 LLM 분석 없이 초록만 실었습니다.", "📝 초록만 보고 분석했습니다."

    out = render([full_text])
    assert no_llm not in out.html and analysed not in out.html
    # The LLM wrote the card from the abstract: it says so, and the body is its analysis.
    out = render([from_abstract])
    assert analysed in out.html and analysed in out.text and no_llm not in out.html
    assert "<h3>💡 핵심 아이디어</h3>" in out.html and "<h3>초록</h3>" not in out.html
    # No model wrote it: "no LLM analysis", and the abstract under its own heading.
    out = render([offline])
    assert no_llm in out.html and no_llm in out.text and analysed not in out.html
    assert "<h3>초록</h3>" in out.html and "[초록]" in out.text
    english = Renderer("en", "AI Paper Digest").render(
        "2026-06-12", [offline], MODEL, GENERATED, nonce=NONCE
    )
    assert "📝 No LLM analysis" in english.html and "<h3>Abstract</h3>" in english.html


def test_english_labels(cards: list[Card]) -> None:
    out = Renderer("en", "AI Paper Digest").render(
        "2026-06-12", cards[:2], MODEL, GENERATED, nonce=NONCE
    )
    tree = HTMLParser(out.html)
    assert tree.css_first("html").attributes["lang"] == "en"
    assert tree.css_first("h2.tt").text() == "📑 Contents"
    assert tree.css_first("p.st b").text() == "👉 Start here"
    assert [h.text() for h in tree.css("h3")][:2] == ["💡 Core idea", "❓ Problem"]
    assert "📊 Ranked 2 · 🤖 Recommended 0" in out.html
    assert "Unsubscribe" in out.text and "[💡 Core idea]" in out.text


def test_empty_edition(cards: list[Card]) -> None:
    out = render([])
    assert "오늘은 소개할 논문이 없습니다." in out.html and "<ol" not in out.html
    assert out.placeholders.unsubscribe in out.html


def test_text_part_has_every_paper_section_and_link(full, cards: list[Card]) -> None:  # type: ignore[no-untyped-def]
    text = full.text
    for c in cards:
        assert f"https://arxiv.org/abs/{c.paper.id}" in text
        assert c.paper.title in " ".join(text.split())
        for item in c.analysis.analysis.limitations:
            assert " ".join(item.split())[:30] in " ".join(text.split())
    assert "https://github.com/MiniMax-AI/MSA" in text
    assert text.count("[🔬 방법론 상세]") == 10
    assert "<swi>" in text and "&lt;" not in text and "&#39;" not in text  # not HTML-escaped
    long = [line for line in text.splitlines() if display_width(line) > 76]
    assert all(line.startswith(("https://", "📄 HTML: https://")) for line in long), long


def test_degrade_levels_shorten_and_link(cards: list[Card]) -> None:
    sizes = []
    for level in DEGRADE_LEVELS:
        shown = [card_at(c, level) for c in cards]
        out = Renderer("ko", "T", web_url="https://news.example/2026-06-12").render(
            "2026-06-12", shown, MODEL, GENERATED, level=level, nonce=NONCE
        )
        sizes.append(len(out.html))
        links = HTMLParser(out.html).css("p.w a")
        toc = [a.text() for a in HTMLParser(out.html).css("ol.toc a")]
        if level >= 2:  # level 1 cuts only the table of contents' titles
            assert "메일 크기 제한 때문에" in out.html
            assert links[-1].attributes["href"] == "https://news.example/2026-06-12#paper-10"
        else:
            assert not links
        if level:
            assert all(len(t.split(" ", 1)[1]) <= 24 for t in toc), toc
    assert sizes == sorted(sizes, reverse=True) and sizes[4] < sizes[0] * 0.75
    idea_only = sections(cards[0], 4)
    assert idea_only["summary"] and idea_only["core_idea"] and not idea_only["method"]
    summary_only = sections(cards[0], 5)
    assert summary_only["summary"] and not summary_only["core_idea"]
    assert not summary_only["tags"] and not summary_only["prerequisites"]
    titles_only = sections(cards[0], DEGRADE_LEVELS[-1])
    assert not titles_only["summary"] and titles_only["shortened"]
    with pytest.raises(RenderError, match="degrade level 99"):
        Renderer("ko", "T").render("2026-06-12", cards, level=99)


def test_shortened_card_without_web_version_links_to_arxiv(cards: list[Card]) -> None:
    out = Renderer("ko", "T").render("2026-06-12", cards[:1], level=2, nonce=NONCE)
    link = HTMLParser(out.html).css("p.w a")[-1]
    assert link.attributes["href"] == "https://arxiv.org/abs/2606.13681"
    assert link.text() == "→ 전체 분석 보기"


def test_default_nonce_is_random_and_generated_defaults(cards: list[Card]) -> None:
    a = Renderer("ko", "T").render("2026-06-12", cards[:1])
    b = Renderer("ko", "T").render("2026-06-12", cards[:1])
    assert a.placeholders.unsubscribe != b.placeholders.unsubscribe


def test_helpers() -> None:
    assert truncate("A  very   long title", 10) == "A very…"  # at a word boundary
    assert truncate("Title: subtitle words", 16) == "Title: subtitle…"  # ends at a word
    assert truncate("Big Model: a study", 12) == "Big Model…"  # no dangling colon
    assert truncate("Averyveryverylongword here", 10) == "Averyvery…"  # no word to cut at
    assert truncate("Short", 10) == "Short"
    assert safe_url("https://github.com/x/y") == "https://github.com/x/y"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil", "", None, "http://[::1"):
        assert safe_url(bad) == ""


def test_tags_with_spaces_become_one_hashtag_each(cards: list[Card]) -> None:
    card = cards[0].model_copy(deep=True)
    card.analysis.analysis.tags = ["large language model agents", " ", "EvoMem"]
    out = render([card])
    assert "#large-language-model-agents #EvoMem</p>" in out.html
    assert "#large-language-model-agents #EvoMem" in out.text


def test_web_version_must_be_an_http_url() -> None:
    with pytest.raises(ConfigError, match="edition.web_base_url 'javascript:x'"):
        load_settings(env={"NEWSLETTER_EDITION__WEB_BASE_URL": "javascript:x"})
