"""What a model wrote, as each part shows it (newsletter.render.prose): Markdown's bold, italic
and code as tags in HTML and plain words in text, links as their text, TeX as Unicode, and
everything else escaped."""

from __future__ import annotations

import jinja2
import pytest

from newsletter.render.prose import prose
from newsletter.render.renderer import make_env


@pytest.mark.parametrize(
    ("written", "plain", "html"),
    [
        (
            "The **core** idea, *in short*, is `sort()`.",
            "The core idea, in short, is sort().",
            "The <b>core</b> idea, <i>in short</i>, is <code>sort()</code>.",
        ),
        ("See [the paper](https://x.example) now", "See the paper now", "See the paper now"),
        ("### A heading the model added", "A heading the model added", "A heading the model added"),
        ("**unclosed bold and __stray", "unclosed bold and stray", "unclosed bold and stray"),
        (
            "Uses $\\alpha$-divergence in **$O(n^2)$** time",
            "Uses α-divergence in O(n²) time",
            "Uses α-divergence in <b>O(n²)</b> time",
        ),
        ("정확도 10~20% **향상**", "정확도 10~20% 향상", "정확도 10~20% <b>향상</b>"),
        ("x * y and 2 * 3", "x * y and 2 * 3", "x * y and 2 * 3"),
        (
            "<script>alert(1)</script> & <b>raw</b>",
            "<script>alert(1)</script> & <b>raw</b>",
            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;raw&lt;/b&gt;",
        ),
        ("  spread\n over   lines  ", "spread over lines", "spread over lines"),
    ],
)
def test_markdown_and_tex_from_a_model(written: str, plain: str, html: str) -> None:
    out = prose(written)
    assert str(out) == plain
    assert out.__html__() == html


def test_the_templates_get_tags_in_html_and_words_in_text() -> None:
    env = make_env()
    value = prose("a **bold** `x<y` claim")
    page = env.from_string("<p>{{ v }}</p>")  # autoescape on, as for the MJML templates
    assert page.render(v=value) == "<p>a <b>bold</b> <code>x&lt;y</code> claim</p>"
    items = env.from_string("{{ v | join(', ') }}").render(v=[value, prose("<i>")])
    assert items == "a <b>bold</b> <code>x&lt;y</code> claim, &lt;i&gt;"
    text = jinja2.Environment(autoescape=False).from_string("{{ v }}")
    assert text.render(v=value) == "a bold x<y claim"
