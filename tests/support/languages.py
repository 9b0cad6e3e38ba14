"""What a subscriber reads, by language: the sent parts of a message and the Hangul in them.

``foreign_hangul`` parses a message as the transport got it (the outbox ``.eml``) and returns
the Hangul left in its subject, text part and HTML part once the papers' own titles, authors
and organizations are taken out: those are names, shown as the sources wrote them.
"""

from __future__ import annotations

import html
import re
from email import message_from_bytes, policy
from email.message import EmailMessage

from newsletter.models import Paper

HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]+")


def sent_parts(raw: bytes) -> dict[str, str]:
    """The subject, text part and HTML part (unescaped) of a message as it was sent."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    text = msg.get_body(("plain",))
    page = msg.get_body(("html",))
    assert text is not None and page is not None
    return {
        "subject": str(msg["Subject"]),
        "text": text.get_content(),
        "html": html.unescape(page.get_content()),
    }


def foreign_hangul(raw: bytes, papers: list[Paper]) -> dict[str, list[str]]:
    """Per part, the runs of Hangul outside the papers' titles and names."""
    names = sorted(
        {n for p in papers for n in (p.title, p.organization or "", *p.authors) if n},
        key=len,
        reverse=True,
    )
    out = {}
    for part, content in sent_parts(raw).items():
        flat = " ".join(content.split())  # the text part wraps titles over lines
        for name in names:
            flat = flat.replace(" ".join(name.split()), " ")
        out[part] = HANGUL.findall(flat)
    return out
