"""Benchmark the email rendering on the Korean fixture edition (tests/fixtures/edition_ko).

Prints, in one run: the render time per variant (full Korean edition, a 4-paper English
variant, a 2-paper variant), the time to render 50 distinct variants, and css-inline beside
premailer inlining the same MJML output (time, bytes, bytes as sent). Figures are medians of
repeated runs. Usage: .venv/bin/python scripts/bench_render.py [--repeat N]
"""

from __future__ import annotations

import argparse
import logging
import random
from collections.abc import Callable
from pathlib import Path

import yaml
from benchlib import machine_speed, median_s
from mjml import mjml2html

from newsletter.mail.message import html_bytes_as_sent
from newsletter.models import Card
from newsletter.render import Renderer
from newsletter.render.prose import prose_of_text

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "edition_ko" / "cards.yaml"
DAY = "2026-06-12"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per figure (median)")
    args = parser.parse_args()
    cards = [Card.model_validate(c) for c in yaml.safe_load(FIXTURE.read_text("utf-8"))]
    ko = Renderer("ko", "AI 논문 핵심 요약")
    en = Renderer("en", "AI Paper Digest")

    print(machine_speed())
    print(f"render one variant (median of {args.repeat}):")
    for name, renderer, picked in (
        ("ko, 10 papers", ko, cards),
        ("en, 4 papers", en, cards[:4]),
        ("ko, 2 papers", ko, cards[:2]),
    ):
        out = renderer.render(DAY, picked, "m", DAY)
        t = median_s(lambda r=renderer, p=picked: r.render(DAY, p, "m", DAY), args.repeat)
        print(
            f"  {name:<14} {t * 1000:7.1f} ms   {html_bytes_as_sent(out.html) / 1000:6.1f} KB html "
            f"as sent, {len(out.text.encode()) / 1000:5.1f} KB text"
        )

    def first_render() -> None:
        # As the first variant of a build meets these cards: nothing of them read or wrapped
        # before (the renderer itself is made once per language and build).
        prose_of_text.cache_clear()
        ko.env.filters["wrap"].done.clear()
        ko.render(DAY, cards, "m", DAY)

    t = median_s(first_render, args.repeat)
    print(
        f"  {'ko, 10, first':<14} {t * 1000:7.1f} ms   (the cards not read before in the process)"
    )

    rng = random.Random(12)
    subsets: list[list[Card]] = []
    seen: set[tuple[int, ...]] = set()
    while len(subsets) < 50:
        pick = tuple(sorted(rng.sample(range(10), rng.randint(1, 10))))
        if pick not in seen:
            seen.add(pick)
            subsets.append([cards[i] for i in pick])
    runs = max(3, args.repeat // 5)
    t50 = median_s(lambda: [ko.render(DAY, s, "m", DAY) for s in subsets], runs)
    print(
        f"50 distinct variants (1-10 papers each, median of {runs}): {t50:.2f} s "
        f"({t50 / 50 * 1000:.1f} ms per variant)"
    )

    ctx = ko.context(DAY, cards, "m", DAY)
    ctx["unsubscribe_token"], ctx["topics_token"] = "https://unsubscribe.invalid/x", "%%T%%"
    ctx["preferences_token"] = ""
    raw = mjml2html(
        ko.env.get_template("edition.mjml.j2").render(ctx), disable_comments=True, fonts={}
    )
    css = (ROOT / "templates" / "partials" / "inline.css").read_text("utf-8")
    import premailer

    # premailer logs every CSS property it does not know (mso-*, -webkit-*) as a warning.
    logging.getLogger("premailer").setLevel(logging.ERROR)
    logging.getLogger("cssutils").setLevel(logging.CRITICAL)

    def run_premailer() -> str:
        return str(
            premailer.Premailer(
                raw,
                css_text=css,
                keep_style_tags=True,
                remove_classes=False,
                disable_validation=True,
                cssutils_logging_level=logging.CRITICAL,
                allow_network=False,
            ).transform()
        )

    inliners: dict[str, Callable[[], str]] = {
        "css-inline": lambda: str(ko.inliner.inline(raw)),
        "premailer": run_premailer,
    }
    print(
        f"inlining the same MJML output ({len(raw.encode()) / 1000:.1f} KB before), "
        f"median of {args.repeat}:"
    )
    results = {}
    for name, func in inliners.items():
        html = func()
        t = median_s(func, args.repeat)
        results[name] = t
        doctype = "kept" if html[:15].lower() == "<!doctype html>" else "LOST"
        important = html.count("!important")
        print(
            f"  {name:<10} {t * 1000:7.1f} ms   {len(html.encode()) / 1000:6.1f} KB, "
            f"{html_bytes_as_sent(html) / 1000:6.1f} KB as sent, doctype {doctype}, "
            f"{important} !important kept"
        )
    print(f"  premailer / css-inline time: {results['premailer'] / results['css-inline']:.1f}x")


if __name__ == "__main__":
    main()
