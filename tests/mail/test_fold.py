"""Line folding of the HTML part: only a space in text (or between CSS tokens) becomes a line
break; a tag, an attribute value and a CSS string are never cut."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser
from support.render_edition import GENERATED, MODEL, NONCE, hostile_card, load_cards
from support.sent import style_declarations

from newsletter.mail.fold import body_encoding, break_points, reflow
from newsletter.render import Renderer

FONTS = "font-family:-apple-system,'Apple SD Gothic Neo','Noto Sans KR',Arial,sans-serif"


def _attributes(html: str) -> list[tuple[str, dict[str, str | None]]]:
    return [(n.tag or "", dict(n.attributes)) for n in LexborHTMLParser(html).root.traverse()]


def _only_spaces_became_breaks(before: str, after: str) -> bool:
    """``after`` is ``before`` with spaces turned into line breaks, or line breaks put
    between two tags (``>`` and ``<``), and nothing else."""
    i = j = 0
    while i < len(before) and j < len(after):
        if before[i] == after[j] or (before[i] == " " and after[j] == "\n"):
            i, j = i + 1, j + 1
        elif after[j] == "\n" and before[i - 1 : i + 1] == "><":
            j += 1
        else:
            return False
    return i == len(before) and j == len(after)


def _naive_fold_cut(html: str, limit: int) -> int:
    """Where the old fold broke the first long line: the last space within ``limit`` bytes."""
    return html.encode().rfind(b" ", 0, limit + 1)


def test_a_quoted_font_name_at_the_fold_is_not_cut() -> None:
    # The defect of the sample day: the fold broke 'Noto Sans / KR', the CSS string ran on
    # over font-size and colour, and the text inherited MJML's font-size:0px.
    div = f'<div style="{FONTS};font-size:15px;color:#1f2328">글</div>'
    html = "<p>" + "가 " * 30 + "</p>" + div
    limit = len(html.encode()[: html.encode().index(b"Sans KR")]) + 6
    naive = _naive_fold_cut(html, limit)
    assert html.encode()[naive - 4 : naive + 3] == b"Sans KR"  # where the old fold cut
    flowed = reflow(html, limit=limit)
    assert flowed is not None and _only_spaces_became_breaks(html, flowed)
    assert "'Noto Sans KR'" in flowed
    (style,) = style_declarations(flowed)
    assert style.errors == []
    assert [d[0] for d in style.declarations] == ["font-family", "font-size", "color"]


def _around(html: str, i: int) -> tuple[str, str]:
    left, right = html[:i].rsplit(" ", 1)[-1], html[i + 1 :].split(" ", 1)[0]
    return left[-6:], right[:6]


def test_breaks_are_only_in_text_between_css_tokens_and_next_to_block_tags() -> None:
    html = (
        '<html><head><style>p { font-family: "A B", serif; } /* a b */ h1 { margin: 0 }</style>'
        "</head><body><p class=\"a b\" title='x y'>one two</p><pre>keep  these</pre>"
        '<!--[if mso | IE]><td style="a: b c">x y</td><![endif]--><!-- note here -->'
        '<textarea>t u</textarea><img alt="p q" /> end here<b>x</b><i>y</i></body></html>'
    )
    points = break_points(html)
    assert [_around(html, i) for i in points.spaces] == [
        ("tyle>p", "{"),
        ("{", "font-f"),
        ("amily:", '"A'),
        ('B",', "serif;"),
        ("serif;", "}"),
        ("}", "/*"),
        ("*/", "h1"),
        ("h1", "{"),
        ("{", "margin"),
        ("argin:", "0"),
        ("0", "}</sty"),
        ("y'>one", "two</p"),  # text
        ('c">x', "y</td>"),  # text Outlook reads inside its conditional comment
        ("/>", "end"),
        ("end", "here<b"),
    ]
    # Between two tags only when one is a block or table tag: never between </b> and <i>,
    # where a line break would show as a space.
    assert [html[i - 6 : i] + "|" + html[i : i + 6] for i in points.gaps] == [
        "<html>|<head>",
        "<head>|<style",
        "n: 0 }|</styl",
        "style>|</head",
        "/head>|<body>",
        "<body>|<p cla",
        "wo</p>|<pre>k",
        "</pre>|<!--[i",
        "| IE]>|<td st",
        "y</td>|<![end",
        "if]-->|<!-- n",
        ">y</i>|</body",
        "/body>|</html",
    ]


def test_a_line_break_never_goes_between_two_inline_tags() -> None:
    html = "<p>" + "<b>x</b>" * 200 + "</p>"
    assert break_points(html).gaps == [3, len(html) - 4]
    assert reflow(html, limit=100) is None


@pytest.mark.parametrize("limit", [400, 500, 600])
def test_folding_the_real_edition_keeps_every_tag_and_declaration(limit: int) -> None:
    html = (
        Renderer("ko", "AI 논문 핵심 요약")
        .render("2026-06-12", load_cards(), MODEL, GENERATED, nonce=NONCE)
        .html
    )
    flowed = reflow(html, limit=limit)
    assert flowed is not None
    assert max(len(line) for line in flowed.encode().split(b"\n")) <= limit
    assert _only_spaces_became_breaks(html, flowed)
    assert _attributes(flowed) == _attributes(html)
    before, after = style_declarations(html), style_declarations(flowed)
    assert [s.errors for s in after if s.errors] == []
    assert [s.declarations for s in after] == [s.declarations for s in before]


def test_an_unbreakable_word_sends_the_part_base64_rather_than_cut_it() -> None:
    html = Renderer("ko", "t").render("2026-06-12", [hostile_card()], MODEL, GENERATED).html
    assert reflow(html) is None  # a 1,000-byte word of paper data
    assert body_encoding(html, "html") == (html, "base64")


def test_a_tag_longer_than_a_line_sends_the_part_base64() -> None:
    html = '<p title="' + "a b " * 200 + '">text</p>'
    assert reflow(html) is None
    assert body_encoding(html, "html") == (html, "base64")


def test_the_text_part_is_never_folded() -> None:
    # A line break in text/plain is one the subscriber sees: a long line goes base64 intact.
    text = "short\n" + " ".join(["word"] * 200) + "\n"
    assert body_encoding(text, "plain") == (text, "base64")
    assert body_encoding("short\nlines\n", "plain") == ("short\nlines\n", "8bit")
