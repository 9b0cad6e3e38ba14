"""The per-variant message template: the same bytes as build_message, for any recipient.

The header lines a template writes directly are checked against the email package on a corpus
of tricky names and addresses; whole messages against ``build_message`` under the real body
encoding and under other folds (a template must refuse what it cannot vouch for, never differ).
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta, timezone
from email.headerregistry import Address
from email.utils import format_datetime

import pytest

from newsletter.errors import HeaderInjection
from newsletter.mail.message import encode_body
from newsletter.mail.template import (
    MessageTemplate,
    Recipient,
    date_header,
    exact_header,
    fast_message_id_header,
    fast_to_header,
    fast_unsubscribe_header,
)

NAMES = [
    "",
    "Minji Kim",
    "Reader 12",
    "O'Brien",
    "Mary-Jane Watson",
    "김민지",
    "김 민지",
    "李 小龙",
    "Zoë Ünal",
    "José Smith",
    "Minji 김",
    "Kim, Minji",
    "Jr. Smith",
    "Dr. Who (BBC)",
    'A "quoted" name',
    "back\\slash",
    "a  b",
    " leading",
    "trailing ",
    "=?utf-8?q?looks_encoded?=",
    "x" * 80,
    "김" * 30,
    "김민지 " * 10,
    "émoji 😀",
    "😀",
    "ⓐⓑ",
    "tab\there",
    "semi;colon",
    "at@sign",
    "<angle>",
    "ab" * 40,
]
ADDRESSES = [
    "reader@example.com",
    "Reader.One+news@example.com",
    "a-b_c@sub.example.co.kr",
    "a@xn--vv4b11d.kr",
    "o'brien@example.com",
    "x{y}|z#w@example.com",
    "r" * 64 + "@example.com",
    "reader@" + "d" * 60 + ".example.com",
]


def random_names(n: int) -> list[str]:
    rng = random.Random(5)
    alphabet = "abcXYZ019 '-.,\"()<>@;:\\가나다민지김 éüß😀\xa0\u3000\u200b\u0301\ufeff=?_"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


@pytest.mark.parametrize("addr", ADDRESSES)
def test_to_lines_written_directly_are_the_email_packages(addr: str) -> None:
    taken = 0
    for name in NAMES + random_names(500):
        fast = fast_to_header(addr, name)
        if fast is None:
            continue
        taken += 1
        value = Address(display_name=name, addr_spec=addr) if name else addr
        assert fast == exact_header("To", value), (addr, name)
    if addr in ADDRESSES[:4]:
        assert taken >= 8  # the common shapes do go the fast way


def test_common_names_take_the_fast_way() -> None:
    for name in ("", "Minji Kim", "김민지", "김 민지", "李 小龙", "Zoë Ünal", "O'Brien"):
        assert fast_to_header("reader@example.com", name) is not None, name


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 6, 12, 8, 30, tzinfo=UTC),
        datetime(2026, 6, 12, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=9))),
        datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    ],
)
def test_date_lines_are_the_email_packages(when: datetime) -> None:
    from email.utils import format_datetime

    assert date_header(when) == exact_header("Date", format_datetime(when))


@pytest.mark.parametrize(
    "msg_id",
    [
        "<2026-06-12.0123456789abcdef0123@example.com>",
        "<2026-06-12.0123456789abcdef0123@" + "d" * 70 + ".example.com>",
        "<test.1@example.com>",
        "<a b@example.com>",
    ],
)
def test_message_id_lines_are_the_email_packages(msg_id: str) -> None:
    fast = fast_message_id_header(msg_id)
    assert fast is None or fast == exact_header("Message-ID", msg_id)


@pytest.mark.parametrize(
    "value",
    [
        "<mailto:digest@example.com?subject=unsubscribe>",
        "<https://news.example.com/u?token=abc.def>, <mailto:d@example.com?subject=unsubscribe>",
        "<https://news.example.com/u?list=a&token=" + "x" * 600 + ">, <mailto:d@example.com>",
        "<https://news.example.com/u?a==?b>",
        "<https://n.example.com/" + "p" * 990 + ">",
    ],
)
def test_list_unsubscribe_lines_are_the_email_packages(value: str) -> None:
    fast = fast_unsubscribe_header(value)
    assert fast is None or fast == exact_header("List-Unsubscribe", value)


# -- whole messages --------------------------------------------------------------------------

LINK, TOPICS = "https://unsubscribe.invalid/n0nce", "%%TOPICS-n0nce%%"
HEADERS = dict(
    from_="AI Paper Digest <digest@example.com>",
    subject="[2026-06-12] AI 논문 핵심 요약",
    list_id="AI Paper Digest <digest.example.com>",
    unsubscribe_mailto="mailto:digest@example.com?subject=unsubscribe",
    reply_to="",
)


def variant_bodies(cards: int = 12) -> tuple[str, str]:
    """A variant shaped like the built ones: one long HTML line, the tokens in the footer."""
    style = "<style>.a td{font-family:'Noto Sans KR', Arial} @media (max-width:480px){.b{x:y}}"
    card = (
        '<div class="c"><p style="font-family:\'Apple SD Gothic Neo\', sans-serif">'
        + ("한국어 요약 문장과 영어 words mixed together. " * 25)
        + "</p></div>"
    )
    html = (
        "<!doctype html>\n<html><head>"
        + style
        + "</style></head>\n<body>"
        + card * cards
        + f'<p>구독 주제: {TOPICS}<br><a href="{LINK}" style="color:#57606a">구독 해지</a></p>'
        + "</div></body></html>\n"
    )
    text = "\n".join(f"{i}. 제목 {i}\n" + "요약 " * 30 for i in range(cards))
    text += f"\n\n구독 주제: {TOPICS}\n구독 해지: {LINK}\n"
    return text, html


def recipients(n: int, with_url: bool) -> list[Recipient]:
    rng = random.Random(7)
    names = NAMES + random_names(50)
    out = []
    for i in range(n):
        link = (
            "https://news.example.com/unsubscribe?token="
            + "".join(rng.choice("abcXYZ019-_") for _ in range(rng.randint(10, 120)))
            if with_url
            else "mailto:digest@example.com?subject=unsubscribe"
        )
        topics = ", ".join(rng.sample(["llm", "agents", "vision", "robotics", "safety"], 3))
        if i % 4 == 3:
            topics += " (−safety)"
        out.append(
            Recipient(
                to=ADDRESSES[i % len(ADDRESSES)],
                to_name=names[i % len(names)].strip().replace("\t", " "),
                msg_id=f"<2026-06-12.{i:020d}@example.com>",
                date=datetime(2026, 6, 12, 8, 30, i % 60, tzinfo=UTC),
                unsubscribe_url=link if with_url else "",
                text_values={LINK: link, TOPICS: topics},
                html_values={LINK: link.replace("&", "&amp;"), TOPICS: topics},
            )
        )
    return out


@pytest.mark.parametrize("with_url", [False, True])
def test_every_recipient_gets_the_builders_bytes(with_url: bool) -> None:
    text, html = variant_bodies()
    template = MessageTemplate(
        text=text,
        html=html,
        tokens=[LINK, TOPICS],
        headers=HEADERS,
        with_unsubscribe_url=with_url,
    )
    assert template.usable
    for who in recipients(120, with_url):
        raw = template.render(who)
        assert raw is not None, who.to_name
        assert raw == template.full(who), (who.to, who.to_name)


def test_one_seconds_recipients_share_its_date_line_and_the_next_gets_its_own() -> None:
    # The Personalizer hands one datetime a second to every message of that second; the
    # template makes that Date line once: a later second must never keep the earlier one.
    text, html = variant_bodies()
    template = MessageTemplate(
        text=text, html=html, tokens=[LINK, TOPICS], headers=HEADERS, with_unsubscribe_url=False
    )
    seconds = [
        datetime(2026, 6, 12, 8, 30, 59, tzinfo=UTC),
        datetime(2026, 6, 12, 8, 31, tzinfo=UTC),
    ]
    for i, who in enumerate(recipients(6, with_url=False)):
        who.date = seconds[i // 3]
        raw = template.render(who)
        assert raw is not None and raw == template.full(who)
        assert f"\r\nDate: {format_datetime(who.date)}\r\n".encode() in raw


def _line_local(body: str, subtype: str) -> tuple[str, str]:
    """Greedy folding of each line at spaces, 80 bytes at most (like early versions)."""
    out = []
    for line in body.split("\n"):
        while len(line.encode()) > 80 and (cut := line.rfind(" ", 0, 80)) > 0:
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return "\n".join(out), "8bit"


def _by_position(body: str, subtype: str) -> tuple[str, str]:
    """A fold no piece of the body can redo alone: a break at every 97th character."""
    return "\n".join(body[i : i + 97] for i in range(0, len(body), 97)), "8bit"


def _by_length(body: str, subtype: str) -> tuple[str, str]:
    """A fold that looks at the whole body: the longer the body, the more it breaks."""
    return (body.replace(" ", "\n") if len(body) % 3 == 0 else body), "8bit"


def _tags_only(body: str, subtype: str) -> tuple[str, str]:
    """Breaks between tags only, never in text; base64 when a line stays long."""
    folded = re.sub(r"></(div|p)>", r">\n</\1>", body) if subtype == "html" else body
    fits = all(len(line.encode()) <= 900 for line in folded.split("\n"))
    return (folded, "8bit") if fits else (body, "base64")


@pytest.mark.parametrize("fold", [encode_body, _line_local, _by_position, _by_length, _tags_only])
def test_whatever_the_folding_the_template_never_differs(fold: object) -> None:
    text, html = variant_bodies()
    template = MessageTemplate(
        text=text,
        html=html,
        tokens=[LINK, TOPICS],
        headers=HEADERS,
        with_unsubscribe_url=True,
        encode=fold,  # type: ignore[arg-type]
    )
    rendered = 0
    for who in recipients(60, with_url=True):
        raw = template.render(who)
        if raw is not None:
            rendered += 1
            assert raw == template.full(who)
    if fold in (encode_body, _line_local):
        assert template.usable and rendered == 60  # what delivery uses does go the fast way


def test_a_value_that_cannot_go_8bit_leaves_the_message_to_the_builder() -> None:
    text, html = variant_bodies()
    template = MessageTemplate(
        text=text, html=html, tokens=[LINK, TOPICS], headers=HEADERS, with_unsubscribe_url=True
    )
    who = recipients(1, with_url=True)[0]
    who.html_values[LINK] = "https://news.example.com/" + "x" * 1200  # no place to break
    assert template.render(who) is None
    assert b"Content-Transfer-Encoding: base64" in template.full(who)


def test_a_line_break_in_a_recipients_header_is_refused_as_by_the_builder() -> None:
    text, html = variant_bodies(2)
    template = MessageTemplate(
        text=text, html=html, tokens=[LINK, TOPICS], headers=HEADERS, with_unsubscribe_url=False
    )
    who = recipients(1, with_url=False)[0]
    for field, evil in (("to_name", "A\r\nBcc: x@example.com"), ("to", "a@example.com\nBcc: x")):
        setattr(who, field, evil)
        with pytest.raises(HeaderInjection):
            template.render(who)
        with pytest.raises(HeaderInjection):
            template.full(who)
        who = recipients(1, with_url=False)[0]
