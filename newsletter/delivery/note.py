"""The short 'nothing for your topics today' note (``delivery.empty_topics_note``)."""

from __future__ import annotations

import html as html_lib

from ..mail.placeholders import Placeholders
from ..render import RenderedVariant

NOTE_PREFIX = "note-"

_TEXT = {
    "ko": {
        "subject": "[{date}] {title}: 오늘은 구독 주제의 논문이 없습니다",
        "body": "오늘({date}) 선정된 논문 {n}편 가운데 구독하신 주제에 맞는 논문이 없습니다.",
        "topics": "구독 주제",
        "unsubscribe": "구독 해지",
    },
    "en": {
        "subject": "[{date}] {title}: nothing for your topics today",
        "body": "None of today's {n} selected papers ({date}) matches the topics you follow.",
        "topics": "Your topics",
        "unsubscribe": "Unsubscribe",
    },
}


def note_key(language: str) -> str:
    """The ledger's variant key for the note in one language."""
    return f"{NOTE_PREFIX}{language}"


def note_variant(language: str, edition_date: str, title: str, paper_count: int) -> RenderedVariant:
    """A tiny variant with the same per-recipient tokens as a rendered edition."""
    t = _TEXT.get(language, _TEXT["en"])
    holes = Placeholders.new()
    link, topics = holes.unsubscribe, holes.topics
    body = t["body"].format(date=edition_date, n=paper_count)
    subject = t["subject"].format(date=edition_date, title=title)
    text = f"{body}\n\n{t['topics']}: {topics}\n{t['unsubscribe']}: {link}\n"
    esc = html_lib.escape
    html = (
        f'<!doctype html>\n<html lang="{esc(language)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n'
        f'<body style="font-family: sans-serif; color: #222; max-width: 600px; margin: 0 auto;'
        f' padding: 16px;">\n<p>{esc(body)}</p>\n'
        f'<p style="color: #666; font-size: 13px;">{esc(t["topics"])}: {topics}<br>\n'
        f'<a href="{link}">{esc(t["unsubscribe"])}</a></p>\n</body></html>\n'
    )
    return RenderedVariant(
        html, text, holes, key=note_key(language), subject=subject, language=language
    )
