"""Building one recipient's message: headers, parts, encodings, tokens, header injection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.delivery_servers import parse

from newsletter.errors import HeaderInjection
from newsletter.mail.fold import MAX_LINE_BYTES, body_encoding, encoded_size, reflow
from newsletter.mail.message import build_message, html_bytes_as_sent, message_id
from newsletter.mail.parts import sent_parts
from newsletter.mail.tokens import make_token

WHEN = datetime(2026, 6, 12, 8, 30, tzinfo=UTC)


def make(**overrides: str) -> bytes:
    args = dict(
        from_="AI Paper Digest <digest@example.com>",
        to="reader@example.com",
        to_name="김 독자",
        subject="[2026-06-12] AI 논문 핵심 요약",
        html="<p>안녕하세요</p>",
        text="안녕하세요",
        msg_id="<x.1@example.com>",
        list_id="AI Paper Digest <digest.example.com>",
        unsubscribe_url="https://news.example.com/u?token=abc",
        unsubscribe_mailto="mailto:digest@example.com?subject=unsubscribe",
    )
    args.update(overrides)
    return build_message(date=WHEN, **args).as_bytes()  # type: ignore[arg-type]


def test_headers_and_parts() -> None:
    msg = parse(make())
    assert msg["Subject"] == "[2026-06-12] AI 논문 핵심 요약"
    assert msg["To"].addresses[0].display_name == "김 독자"
    assert msg["To"].addresses[0].addr_spec == "reader@example.com"
    assert msg["Message-ID"] == "<x.1@example.com>"
    assert msg["Date"].datetime == WHEN
    assert msg["List-Id"] == "AI Paper Digest <digest.example.com>"
    assert msg["List-Unsubscribe"] == (
        "<https://news.example.com/u?token=abc>, <mailto:digest@example.com?subject=unsubscribe>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8"]
    assert [p["Content-Transfer-Encoding"] for p in parts] == ["8bit", "8bit"]
    assert parts[1].get_content().strip() == "<p>안녕하세요</p>"


def test_list_headers_are_written_raw_however_long_the_link() -> None:
    # A real link is longer than 78 characters; Python would turn it into encoded words,
    # which mail providers do not read as a link.
    url = "https://news.example.com/unsubscribe?token=" + make_token(
        b"k" * 32, "unsubscribe", "someone.with.a.long.name@example.com", 1_780_000_000
    )
    raw = make(unsubscribe_url=url)
    assert (
        f"\r\nList-Unsubscribe: <{url}>, <mailto:digest@example.com?subject=unsubscribe>\r\n"
    ).encode() in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert b"\r\nList-Id: AI Paper Digest <digest.example.com>\r\n" in raw
    assert b"=?utf-8?" not in raw.split(b"List-Unsubscribe:")[1].split(b"\r\n")[0]


def test_no_one_click_header_without_an_https_link() -> None:
    msg = parse(make(unsubscribe_url=""))
    assert msg["List-Unsubscribe"] == "<mailto:digest@example.com?subject=unsubscribe>"
    assert msg["List-Unsubscribe-Post"] is None


@pytest.mark.parametrize("field", ["to_name", "subject", "to", "list_id", "unsubscribe_url"])
@pytest.mark.parametrize(
    "evil",
    [
        "x\r\nBcc: victim@example.com",
        "x\nBcc: v@example.com",
        "x\rBcc: v@example.com",
        "x\x00y",
        "x\u2028Bcc: v@example.com",
        "x\x85Bcc: v@example.com",
        "x\x0bBcc: v@example.com",
    ],
)
def test_no_line_break_from_data_reaches_a_header(field: str, evil: str) -> None:
    with pytest.raises(HeaderInjection):
        make(**{field: evil})


def test_a_long_name_is_folded_not_injected() -> None:
    raw = make(to_name="A" * 300)
    assert b"Bcc" not in raw
    assert parse(raw)["To"].addresses[0].display_name == "A" * 300


def test_message_id_is_stable_per_edition_and_subscriber() -> None:
    a = message_id("2026-06-12", "Reader@example.com", "example.com")
    assert a == message_id("2026-06-12", "reader@example.com", "example.com")
    assert a != message_id("2026-06-13", "reader@example.com", "example.com")
    assert a != message_id("2026-06-12", "other@example.com", "example.com")
    assert a.startswith("<2026-06-12.") and a.endswith("@example.com>")


def test_reflow_keeps_lines_short_and_content_equal() -> None:
    html = "<p>" + " ".join(["한국어 단어"] * 400) + "</p>"
    flowed = reflow(html)
    assert flowed is not None
    assert max(len(line.encode()) for line in flowed.split("\n")) <= MAX_LINE_BYTES
    assert flowed.replace("\n", " ") == html


def test_unbreakable_line_falls_back_to_base64() -> None:
    html = "<p>" + "가" * 2000 + "</p>"
    assert reflow(html) is None
    assert body_encoding(html)[1] == "base64"
    msg = parse(make(html=html))
    html_part = msg.get_body(("html",))
    assert html_part is not None and html_part["Content-Transfer-Encoding"] == "base64"
    assert html_part.get_content().strip() == html


@pytest.mark.parametrize(
    "html",
    [
        "<p>" + " ".join(["한국어 요약 문장입니다."] * 2000) + "</p>",  # 8bit, reflowed
        "<p>" + "가" * 5000 + "</p>",  # base64
        "<p>short</p>",
        "",
        "\n",
        "<p>a</p>\n\n\n",
        "<p>a</p>\r\n<p>b</p>\rc",  # CR and CRLF line ends
        "<p>a\x0bb\x0cc\u2028d\x85e</p>",  # not line breaks to bytes.splitlines
        *("<p>" + "나" * n + "</p>" for n in (300, 318, 319, 320, 1000)),  # base64 remainders
        *("x" * n for n in (54, 55, 56, 57, 899, 900, 901)),
    ],
)
def test_sent_parts_reads_the_html_part_back_with_its_wire_size(html: str) -> None:
    raw = make(html=html)
    boundary = parse(raw).get_boundary()
    assert boundary is not None
    # The HTML part's body on the wire: from its blank line to the CRLF that starts the
    # closing delimiter (RFC 2046: that CRLF belongs to the delimiter).
    part = raw.split(f"--{boundary}".encode())[2]
    body = part.split(b"\r\n\r\n", 1)[1]
    assert body.endswith(b"\r\n")
    sent = sent_parts(raw)
    assert sent.html_wire_bytes == len(body) - 2
    assert encoded_size(html) == sent.html_wire_bytes  # counted, not built
    assert html_bytes_as_sent(html, "안녕하세요") == sent.html_wire_bytes
    assert " ".join(sent.html.split()) == " ".join(html.split())
    assert sent.text.strip() == "안녕하세요"
