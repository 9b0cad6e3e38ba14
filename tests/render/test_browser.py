"""Each variant in real headless Chromium (Debian's package) at phone and desktop widths.

No horizontal scrolling at 375 px, every card visible, every TOC link lands on its card,
paper data never runs as code, and nothing is loaded from the network. Chromium missing is a
failure, not a skip: CI installs it (.ci/run).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
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

from newsletter.render import Renderer
from newsletter.stages.build import build

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
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fixture edition's variants as built by the real build stage, plus a hostile one."""
    root = tmp_path_factory.mktemp("edition")
    settings = write_edition(root, load_cards())
    edition = build(settings, DAY, progress=lambda _: None)
    folder = settings.layout.edition(DAY).variants
    files = {v.key: folder / f"{v.key}.html" for v in edition.variants}
    hostile = Renderer("ko", "AI 논문 핵심 요약").render(
        DAY, [load_cards()[0], hostile_card()], MODEL, GENERATED, nonce=NONCE
    )
    files["hostile"] = root / "hostile.html"
    files["hostile"].write_text(hostile.html, encoding="utf-8")
    assert len(files) == 4
    return files


def open_page(browser: Browser, path: Path, width: int, requests: list[str]) -> Page:
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (requests.append("dialog:" + d.message), d.dismiss()))
    page.goto(path.as_uri())
    return page


def layout(page: Page) -> dict[str, object]:
    return page.evaluate("""() => {
      const cards = [...document.querySelectorAll('a[name^="paper-"]')].map(a => {
        const h = a.parentElement.querySelector('h2').getBoundingClientRect();
        const box = a.parentElement.getBoundingClientRect();
        return {name: a.name, w: h.width, h: h.height, left: box.left, right: box.right};
      });
      const unsub = [...document.querySelectorAll('.ft a')].at(-1).getBoundingClientRect();
      return {scrollWidth: document.documentElement.scrollWidth,
              bodyScrollWidth: document.body.scrollWidth, inner: window.innerWidth,
              cards, unsub: unsub.width * unsub.height, pwned: window.pwned ?? null};
    }""")


@pytest.mark.parametrize("width", WIDTHS)
def test_no_horizontal_scroll_and_every_card_visible(
    browser: Browser, variants: dict[str, Path], width: int
) -> None:
    for key, path in variants.items():
        requests: list[str] = []
        page = open_page(browser, path, width, requests)
        info = layout(page)
        assert info["scrollWidth"] <= width and info["bodyScrollWidth"] <= width, (key, info)
        cards = info["cards"]
        assert isinstance(cards, list) and cards, key
        for card in cards:
            assert card["w"] > 100 and card["h"] > 10, (key, card)
            assert card["left"] >= 0 and card["right"] <= width, (key, card)
        assert info["unsub"] > 0, key
        assert info["pwned"] is None, key
        assert [u for u in requests if not u.startswith("file://")] == [], (key, requests)
        page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_toc_links_reach_their_cards(
    browser: Browser, variants: dict[str, Path], width: int
) -> None:
    for key, path in variants.items():
        page = open_page(browser, path, width, [])
        hrefs = page.eval_on_selector_all("ol.toc a", "links => links.map(a => a.hash)")
        assert hrefs, key
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


def test_phone_layout_uses_the_responsive_rules(
    browser: Browser, variants: dict[str, Path]
) -> None:
    path = next(p for k, p in variants.items() if k.startswith("ko-10p"))
    sizes = {}
    for width in WIDTHS:
        page = open_page(browser, path, width, [])
        sizes[width] = page.evaluate("""() => [
            parseFloat(getComputedStyle(document.querySelector('h2')).fontSize),
            getComputedStyle(document.querySelector('.k')).wordBreak]""")
        page.close()
    assert sizes[375][0] < sizes[600][0]
    assert sizes[375][1] == sizes[600][1] == "keep-all"


def test_screenshots_render(browser: Browser, variants: dict[str, Path], tmp_path: Path) -> None:
    """A PNG per width (kept in tmp; look at them with SCREENSHOTS=DIR, see the README)."""
    import os

    out = Path(os.environ.get("SCREENSHOTS", tmp_path))
    path = next(p for k, p in variants.items() if k.startswith("ko-10p"))
    for width in WIDTHS:
        page = open_page(browser, path, width, [])
        png = out / f"edition-{width}.png"
        page.screenshot(path=str(png), full_page=False)
        assert png.stat().st_size > 10_000
        page.close()


def test_dark_mode_rules_apply(browser: Browser, variants: dict[str, Path]) -> None:
    """With prefers-color-scheme: dark, cards turn dark and their text light (Apple Mail etc.)."""
    path = next(p for k, p in variants.items() if k.startswith("ko-10p"))
    colors = {}
    for scheme in ("light", "dark"):
        page = open_page(browser, path, 600, [])
        page.emulate_media(color_scheme=scheme)
        colors[scheme] = page.evaluate("""() => {
          const lum = c => { const [r, g, b] = c.match(/\\d+/g).map(Number);
                             return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; };
          const card = document.querySelectorAll('div.cd')[1];
          const p = document.querySelector('a[name="paper-1"]').parentElement.querySelector('p.sm');
          return [lum(getComputedStyle(card).backgroundColor), lum(getComputedStyle(p).color)];
        }""")
        page.close()
    assert colors["light"][0] > 0.9 and colors["light"][1] < 0.3
    assert colors["dark"][0] < 0.2 and colors["dark"][1] > 0.8
