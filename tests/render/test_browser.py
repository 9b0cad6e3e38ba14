"""Each sent HTML part in real headless Chromium (Debian's package) at phone and desktop widths.

What is rendered is the HTML part read back out of the message the transport got: every
``.eml`` of the sample day's outbox, the fixture edition's (reference-length Korean cards, three
variants) and a hostile card's. At 375 and 600 px: no horizontal scrolling; every text element
is at least 12 px, has a visible colour with enough contrast against its background (WCAG AA,
4.5:1); every TOC link lands on its card; paper data never runs as code; nothing is loaded
from the network. Chromium missing is a failure, not a skip: CI installs it (.ci/run).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import BrowserContext as Browser
from playwright.sync_api import Page, sync_playwright
from support.render_edition import (
    DAY,
    GENERATED,
    MODEL,
    NONCE,
    hostile_card,
    load_cards,
    write_edition,
)
from support.sent import as_sent

from newsletter.cli import cli
from newsletter.mail.parts import sent_parts
from newsletter.render import Renderer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (375, 600)
MIN_FONT_PX = 12
MIN_CONTRAST = 4.5  # WCAG AA for text under 18 px


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    assert Path(CHROMIUM).is_file(), (
        f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
    )
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=FLAGS, headless=True
        )
        yield context
        context.close()


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory, sample_outbox: Path) -> dict[str, Path]:
    """Every HTML part as sent, written out as a page: sample day, fixture edition, hostile."""
    root = tmp_path_factory.mktemp("sent")
    settings = write_edition(root, load_cards())
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("NEWSLETTER_")}
    try:
        result = CliRunner().invoke(
            cli, ["--config", str(settings.source_path), "send", "--date", DAY, "--no-progress"]
        )
    finally:
        os.environ.update(saved)
    assert result.exit_code == 0, result.output
    messages = {f"sample/{p.stem}": p for p in sorted(sample_outbox.glob("*.eml"))}
    fixture = sorted(settings.layout.outbox(DAY).glob("*.eml"))
    messages |= {f"fixture/{p.stem}": p for p in fixture}
    pages = {}
    for name, eml in messages.items():
        pages[name] = root / f"{name.replace('/', '-')}.html"
        pages[name].write_text(sent_parts(eml.read_bytes()).html, encoding="utf-8")
    hostile = Renderer("ko", "AI 논문 핵심 요약").render(
        DAY, [load_cards()[0], hostile_card()], MODEL, GENERATED, nonce=NONCE
    )
    pages["hostile"] = root / "hostile.html"
    pages["hostile"].write_text(as_sent(hostile).html, encoding="utf-8")
    assert len(pages) == 4 + 4 + 1
    return pages


def open_page(browser: Browser, path: Path, width: int, requests: list[str]) -> Page:
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (requests.append("dialog:" + d.message), d.dismiss()))
    page.goto(path.as_uri())
    return page


# Every rendered element with text of its own, with its computed size, colour and the first
# opaque background behind it; plus the page's widths and the cards' boxes.
LAYOUT = """() => {
  const rgba = c => (c.match(/[\\d.]+/g) || ['0', '0', '0', '0']).map(Number);
  const alpha = c => { const v = rgba(c); return v.length > 3 ? v[3] : 1; };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      if (alpha(bg) > 0) return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  const texts = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    let hidden = false;
    for (let e = el; e; e = e.parentElement) {
      if (getComputedStyle(e).display === 'none') hidden = true;
    }
    if (hidden) continue;
    texts.push({tag: el.tagName, text: el.textContent.trim().slice(0, 40),
                size: parseFloat(style.fontSize), color: style.color,
                opacity: parseFloat(style.opacity), background: background(el),
                inCard: !!el.closest('.c')});
  }
  const cards = [...document.querySelectorAll('a[name^="paper-"]')].map(a => {
    const box = a.parentElement.getBoundingClientRect();
    return {name: a.name, w: box.width, h: box.height, left: box.left, right: box.right};
  });
  const unsub = [...document.querySelectorAll('.ft a')].at(-1).getBoundingClientRect();
  return {scrollWidth: document.documentElement.scrollWidth,
          bodyScrollWidth: document.body.scrollWidth, texts, cards,
          unsub: unsub.width * unsub.height, pwned: window.pwned ?? null};
}"""


def _luminance(color: str) -> float:
    r, g, b = (float(x) for x in color[color.index("(") + 1 : -1].split(",")[:3])

    def channel(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(foreground: str, background: str) -> float:
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _alpha(color: str) -> float:
    parts = color[color.index("(") + 1 : -1].split(",")
    return float(parts[3]) if len(parts) > 3 else 1.0


@pytest.mark.parametrize("width", WIDTHS)
def test_readable_at_every_width_as_sent(
    browser: Browser, sent: dict[str, Path], width: int
) -> None:
    for key, path in sent.items():
        requests: list[str] = []
        page = open_page(browser, path, width, requests)
        info = page.evaluate(LAYOUT)
        page.close()
        assert info["scrollWidth"] <= width and info["bodyScrollWidth"] <= width, (key, info)
        cards = info["cards"]
        assert isinstance(cards, list) and cards, key
        for card in cards:
            assert card["w"] > 100 and card["h"] > 10, (key, card)
            assert card["left"] >= 0 and card["right"] <= width, (key, card)
        texts = info["texts"]
        assert sum(t["inCard"] for t in texts) >= 4 * len(cards), key
        for t in texts:
            assert t["size"] >= MIN_FONT_PX, (key, width, t)
            assert _alpha(t["color"]) > 0.9 and t["opacity"] > 0.9, (key, width, t)
            assert contrast(t["color"], t["background"]) >= MIN_CONTRAST, (key, width, t)
        assert info["unsub"] > 0, key
        assert info["pwned"] is None, key
        assert [u for u in requests if not u.startswith("file://")] == [], (key, requests)


@pytest.mark.parametrize("width", WIDTHS)
def test_toc_links_reach_their_cards(browser: Browser, sent: dict[str, Path], width: int) -> None:
    for key, path in sent.items():
        page = open_page(browser, path, width, [])
        hrefs = page.eval_on_selector_all("ol.toc a", "links => links.map(a => a.hash)")
        assert hrefs, key
        assert len(hrefs) == page.locator("a[name^='paper-']").count(), key
        for href in hrefs:
            page.evaluate("window.scrollTo(0, 0)")
            page.click(f"ol.toc a[href='{href}']")
            page.wait_for_function(f"location.hash === '{href}'")
            top, at_bottom = page.evaluate(f"""() => {{
              const t = document.getElementsByName('{href[1:]}')[0].getBoundingClientRect().top;
              const max = document.documentElement.scrollHeight - window.innerHeight;
              return [t, Math.abs(window.scrollY - max) < 2];
            }}""")
            assert abs(top) < 2 or (at_bottom and 0 <= top < 800), (key, href, top)
        page.click("p.bt a")  # back to the contents
        assert (
            page.evaluate("document.getElementsByName('top')[0].getBoundingClientRect().top") > -2
        )
        page.close()


def _full_edition(sent: dict[str, Path]) -> Path:
    return sent["fixture/all@example.com"]


def test_phone_layout_uses_the_responsive_rules(browser: Browser, sent: dict[str, Path]) -> None:
    sizes = {}
    for width in WIDTHS:
        page = open_page(browser, _full_edition(sent), width, [])
        sizes[width] = page.evaluate("""() => [
            parseFloat(getComputedStyle(document.querySelector('.c h2')).fontSize),
            getComputedStyle(document.querySelector('.k')).wordBreak,
            parseFloat(getComputedStyle(document.querySelector('.c')).paddingLeft)]""")
        page.close()
    assert sizes[375][0] < sizes[600][0]
    assert sizes[375][1] == sizes[600][1] == "keep-all"
    assert sizes[375][2] < sizes[600][2]


def test_screenshots_render(browser: Browser, sent: dict[str, Path], tmp_path: Path) -> None:
    """A PNG per width (kept in tmp; look at them with SCREENSHOTS=DIR, see the README)."""
    out = Path(os.environ.get("SCREENSHOTS", tmp_path))
    for width in WIDTHS:
        page = open_page(browser, _full_edition(sent), width, [])
        png = out / f"edition-{width}.png"
        page.screenshot(path=str(png), full_page=False)
        assert png.stat().st_size > 10_000
        page.close()


def test_dark_mode_rules_apply(browser: Browser, sent: dict[str, Path]) -> None:
    """With prefers-color-scheme: dark, cards turn dark and their text light (Apple Mail etc.)."""
    colors = {}
    for scheme in ("light", "dark"):
        page = open_page(browser, _full_edition(sent), 600, [])
        page.emulate_media(color_scheme=scheme)
        colors[scheme] = page.evaluate("""() => {
          const lum = c => { const [r, g, b] = c.match(/\\d+/g).map(Number);
                             return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; };
          const section = document.querySelector('div.cd');
          const card = document.querySelector('a[name="paper-1"]').parentElement;
          const p = card.querySelector('p.sm');
          return [lum(getComputedStyle(section).backgroundColor), lum(getComputedStyle(p).color),
                  lum(getComputedStyle(card).borderTopColor)];
        }""")
        page.close()
    assert colors["light"][0] > 0.9 and colors["light"][1] < 0.3
    assert colors["dark"][0] < 0.2 and colors["dark"][1] > 0.8
    assert colors["dark"][2] < 0.2  # the band between cards turns dark too
