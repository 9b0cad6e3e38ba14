"""`newsletter publish`: the sample day's archive pages, index and Atom feed (read back with
feedparser), the pages in Chromium at 375 px, the upload to moto's S3, and key figures."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import feedparser
import pytest
from playwright.sync_api import BrowserContext, sync_playwright
from pytest_httpserver import HTTPServer
from support import FIXTURES
from support.cli import run
from support.delivery_servers import AWS_ENV, DAY, make_site, parse, subscriber_rows

from newsletter.archive.figures import collect, key_figure
from newsletter.config import load_settings
from newsletter.files import read_model
from newsletter.http import make_http
from newsletter.models import Edition

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def site(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEWSLETTER_ARCHIVE__BASE_URL", "https://news.example.com/archive")
    rows = subscriber_rows(3, ["", "llm", "vision"])
    rows[1]["language"] = "en"
    make_site(workdir, rows)
    return workdir / "data" / "archive"


def test_publish_writes_pages_index_and_an_atom_feed(site: Path) -> None:
    out = run("publish", "--date", DAY).output
    assert f"published {DAY}" in out
    ko, en = site / DAY / "ko.html", site / DAY / "en.html"
    assert ko.is_file() and en.is_file()
    edition = read_model(Path("data/editions") / DAY / "edition.json", Edition, "build")
    page = ko.read_text(encoding="utf-8")
    for card in edition.cards:
        assert f'id="{card.anchor}"' in page and f'id="arxiv-{card.paper.id}"' in page
    assert page.count('<article class="card"') == len(edition.cards)
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "AI 논문 핵심 요약"
    (entry,) = feed.entries
    assert entry.link == f"https://news.example.com/archive/{DAY}/ko.html"
    assert entry.title == f"[{DAY}] AI 논문 핵심 요약"
    assert edition.cards[0].paper.title in entry.summary
    # Publishing again replaces the day; the feed still has one entry for it.
    run("publish", "--date", DAY)
    assert len(feedparser.parse((site / "feed.xml").read_bytes()).entries) == 1
    manifest = json.loads((site / "editions.json").read_text(encoding="utf-8"))
    assert [e["date"] for e in manifest] == [DAY]


def test_the_email_links_to_its_archive_page(site: Path) -> None:
    run("send", "--date", DAY)
    eml = next((Path("data/outbox") / DAY).glob("*.eml")).read_bytes().decode("utf-8")
    assert f"https://news.example.com/archive/{DAY}/ko.html" in eml


def test_publish_without_a_built_edition_says_so(workdir: Path) -> None:
    out = run("publish", "--date", "2026-01-01", code=1).output
    assert "edition.json is missing" in out and "newsletter build" in out


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} not found: apt-get install chromium"
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")),
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu"],
            headless=True,
        )
        yield context
        context.close()


def test_archive_pages_in_chromium_at_phone_width(site: Path, browser: BrowserContext) -> None:
    run("publish", "--date", DAY)
    page = browser.new_page()
    page.set_viewport_size({"width": 375, "height": 800})
    try:
        for name in (f"{DAY}/ko.html", f"{DAY}/en.html", "index.html"):
            page.goto((site / name).as_uri())
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= 375, f"{name}: horizontal scroll ({scroll}px)"
        page.goto((site / DAY / "ko.html").as_uri())
        cards = page.locator("article.card")
        assert cards.count() >= 5
        for i in range(cards.count()):
            box = cards.nth(i).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 50
        links = page.locator("nav.toc a")
        assert links.count() == cards.count()
        for i in range(links.count()):
            anchor = links.nth(i).get_attribute("href")
            links.nth(i).click()
            assert page.evaluate("location.hash") == anchor
            top = page.locator(f"article{anchor}").bounding_box()
            assert top is not None and abs(top["y"]) < 5, f"{anchor} not at the top"
        page.goto((site / "index.html").as_uri())
        page.locator("ol a").first.click()
        assert page.url.endswith(f"{DAY}/ko.html")
    finally:
        page.close()


def test_publish_to_s3_uploads_every_file(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.server import ThreadedMotoServer

    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        s3.create_bucket(Bucket="news")
        out = run(
            "publish", "--date", DAY, "--to", "s3://news/archive", "--s3-endpoint-url", url
        ).output
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="news")["Contents"]}
        local = {
            f"archive/{p.relative_to(site).as_posix()}" for p in site.rglob("*") if p.is_file()
        }
        assert keys == local and f"archive/{DAY}/ko.html" in keys
        assert f"uploaded {len(keys)} files to s3://news/archive" in out
        head = s3.head_object(Bucket="news", Key=f"archive/{DAY}/ko.html")
        assert head["ContentType"] == "text/html; charset=utf-8"
        body = s3.get_object(Bucket="news", Key="archive/feed.xml")["Body"].read()
        assert body == (site / "feed.xml").read_bytes()
        bad = run("publish", "--date", DAY, "--to", "https://news/archive", code=1).output
        assert "expected s3://bucket/prefix" in bad
        missing = run(
            "publish", "--date", DAY, "--to", "s3://nobucket", "--s3-endpoint-url", url, code=1
        )
        assert "upload of" in missing.output and "NoSuchBucket" in missing.output
    finally:
        server.stop()


def test_key_figure_is_the_first_figure_with_its_caption() -> None:
    page = (FIXTURES / "latexml" / "2606.00001v2.html").read_text(encoding="utf-8")
    url, alt = key_figure(page, "https://arxiv.org/html/2606.00001v2")  # type: ignore[misc]
    assert url == "https://arxiv.org/html/2606.00001v2/x1.png"
    assert alt == "Latency against context length for dense and sparse routing."


def test_figures_are_copied_only_when_small_raster_images(
    site: Path, httpserver: HTTPServer
) -> None:
    page = (FIXTURES / "latexml" / "2606.00001v2.html").read_text(encoding="utf-8")
    httpserver.expect_request("/html/A").respond_with_data(page, content_type="text/html")
    httpserver.expect_request("/html/A/x1.png").respond_with_data(PNG, content_type="image/png")
    svg = page.replace('src="x1.png"', 'src="x1.svg"')
    httpserver.expect_request("/html/B").respond_with_data(svg, content_type="text/html")
    httpserver.expect_request("/html/B/x1.svg").respond_with_data(
        b"<svg onload='alert(1)'/>", content_type="image/svg+xml"
    )
    edition = read_model(Path("data/editions") / DAY / "edition.json", Edition, "build")
    cards = []
    for card, name in zip(edition.cards[:3], ("A", "B", None), strict=True):
        if name:
            fulltext = card.analysis.fulltext.model_copy(
                update={"source": "html", "url": httpserver.url_for(f"/html/{name}")}
            )
            card = card.model_copy(
                update={"analysis": card.analysis.model_copy(update={"fulltext": fulltext})}
            )
        cards.append(card)
    http = make_http(retries=0)
    try:
        found = collect(edition.model_copy(update={"cards": cards}), http, site, 1_000_000)
    finally:
        http.close()
    first = cards[0].paper.id
    assert found == {
        first: {
            "path": f"figures/{first}.png",
            "alt": "Latency against context length for dense and sparse routing.",
        }
    }
    assert (site / "figures" / f"{first}.png").read_bytes() == PNG
    settings = load_settings(None)
    assert settings.archive.figures


def test_a_published_key_figure_shows_on_the_emailed_card(site: Path) -> None:
    edition = read_model(Path("data/editions") / DAY / "edition.json", Edition, "build")
    first = edition.cards[0].paper.id
    # As publish leaves it after copying a figure (see the test above).
    figures = {first: {"path": f"figures/{first}.png", "alt": "Latency <against> context"}}
    (Path("data/editions") / DAY / "figures.json").write_text(json.dumps(figures))
    before = {v.key: v.html_bytes for v in edition.variants}
    run("send", "--date", DAY)
    html = (
        parse(next((Path("data/outbox") / DAY).glob("reader0000*.eml")).read_bytes())
        .get_body(("html",))
        .get_content()  # type: ignore[union-attr]
    )
    url = f"https://news.example.com/archive/figures/{first}.png"
    # Flowed into short lines; in an attribute the brackets are text (css-inline's HTML5
    # serializer writes them bare, which is valid there).
    assert f'src="{url}" alt="Latency <against> context"' in " ".join(html.split())
    rebuilt = read_model(Path("data/editions") / DAY / "edition.json", Edition, "build")
    grown = [v.html_bytes - before[v.key] for v in rebuilt.variants if v.key in before]
    assert grown and max(grown) < 500  # a link to the figure, not the figure
