"""Each recipient's message: the variant with their unsubscribe link and topics filled in.

Every message of a variant comes from one ``MessageTemplate`` made when the variant is first
sent: the same bytes as ``build_message`` makes, in microseconds instead of milliseconds.
"""

from __future__ import annotations

import html as html_lib
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import make_msgid
from typing import Any
from urllib.parse import quote

from ..config import Settings
from ..errors import ConfigError, HeaderInjection
from ..mail.headers import safe_header, sender_domain
from ..mail.message import build_message, message_id
from ..mail.template import MessageTemplate, Recipient
from ..models import Subscriber
from ..render import RenderedVariant
from ..render.labels import labels_for
from ..web.links import Links


@dataclass
class Personalizer:
    """Fills the per-recipient parts of a variant and builds its message."""

    settings: Settings
    edition_date: str
    subject: str
    all_topics_label: str

    def __post_init__(self) -> None:
        # The settings were checked when they loaded (config.checks): a From without a
        # domain, a header value with a line break or a link without its key never get here.
        d = self.settings.delivery
        try:
            # The subject comes from edition.json, which a hand could have edited.
            safe_header(self.subject, "edition.title")
        except HeaderInjection as exc:
            raise ConfigError(str(exc)) from None
        self.domain = sender_domain(d.from_)
        self.signed = Links(self.settings)
        self._templates: dict[tuple[str, str], MessageTemplate] = {}
        self._lock = threading.Lock()
        sender = d.from_.rsplit("<", 1)[-1].rstrip(">").strip()
        self.mailto = d.unsubscribe_mailto or f"mailto:{sender}?subject=unsubscribe"
        # (topics, exclusions, language) -> the footer's topics line, as text and as HTML:
        # a list has a handful of topic choices, read for every one of its subscribers.
        self._topics: dict[tuple[tuple[str, ...], tuple[str, ...], str], tuple[str, str]] = {}
        self._second: tuple[int, datetime] = (-1, datetime.now(UTC))

    def links(self, email: str) -> tuple[str, str]:
        """(link for the footer, https URL for List-Unsubscribe or '')."""
        url = self.signed.unsubscribe_url(email)
        return (url, url) if url else (self.mailto, "")

    def preferences_link(self, email: str) -> str:
        """The footer's signed link to the preferences page ('' without ``web.base_url``)."""
        return self.signed.preferences_url(email)

    def topics_line(self, sub: Subscriber, language: str = "") -> str:
        """The subscriber's topics as the footer shows them: 'llm, agents (−safety)'."""
        every = labels_for(language)["all_topics"] if language else self.all_topics_label
        topics = ", ".join(sub.topics) if sub.topics else every
        if sub.exclude:
            topics += " (−" + ", ".join(sub.exclude) + ")"
        return topics

    def fixed_headers(self, subject: str) -> dict[str, Any]:
        """The keyword arguments of ``build_headers`` that every recipient shares."""
        d = self.settings.delivery
        return dict(
            from_=d.from_,
            subject=subject,
            list_id=d.list_id,
            unsubscribe_mailto=quote(self.mailto, safe=":@?=&/.+-_") if self.mailto else "",
            reply_to=d.reply_to,
        )

    def topics_values(self, sub: Subscriber, language: str) -> tuple[str, str]:
        """The topics line of ``sub`` as text and as HTML (made once per topic choice)."""
        key = (tuple(sub.topics), tuple(sub.exclude), language)
        values = self._topics.get(key)
        if values is None:
            topics = self.topics_line(sub, language)
            values = self._topics[key] = (topics, html_lib.escape(topics))
        return values

    def now(self) -> datetime:
        """Now to the second, as the Date header shows it: one datetime a second, shared by
        the messages of that second (their templates make its Date line once)."""
        second, date = self._second
        if second != (now := int(time.time())):
            date = datetime.fromtimestamp(now, UTC)
            self._second = (now, date)
        return date

    def recipient(self, variant: RenderedVariant, sub: Subscriber, msg_id: str) -> Recipient:
        """What ``sub``'s message of ``variant`` has of its own."""
        link, https = self.links(sub.email)
        topics, topics_html = self.topics_values(sub, variant.language)
        holes = variant.placeholders
        text_values = {holes.unsubscribe: link, holes.topics: topics}
        html_values = {
            holes.unsubscribe: html_lib.escape(link, quote=True),
            holes.topics: topics_html,
        }
        if holes.preferences:
            # Rendered only when web.base_url is set (make_renderer), so a link is made.
            prefs = self.preferences_link(sub.email)
            text_values[holes.preferences] = prefs
            html_values[holes.preferences] = html_lib.escape(prefs, quote=True)
        return Recipient(
            to=sub.email,
            to_name=sub.name,
            msg_id=msg_id,
            date=self.now(),
            unsubscribe_url=https,
            text_values=text_values,
            html_values=html_values,
        )

    def template(self, variant: RenderedVariant, subject: str) -> MessageTemplate:
        """The variant's message template (made on first use, shared by the workers)."""
        key = (variant.key, subject)
        template = self._templates.get(key)
        if template is None:
            with self._lock:
                template = self._templates.get(key)
                if template is None:
                    holes = variant.placeholders
                    template = MessageTemplate(
                        text=variant.text,
                        html=variant.html,
                        tokens=[holes.unsubscribe, holes.topics]
                        + ([holes.preferences] if holes.preferences else []),
                        headers=self.fixed_headers(subject),
                        with_unsubscribe_url=bool(self.signed.unsubscribe_base()),
                        name=f"variant {variant.key}",
                    )
                    self._templates[key] = template
        return template

    def prepare(self, variant: RenderedVariant) -> None:
        """Make the variant's template now rather than for its first message."""
        self.template(variant, variant.subject or self.subject)

    def message(
        self, variant: RenderedVariant, sub: Subscriber, *, test: bool = False
    ) -> tuple[bytes, str]:
        """(raw message, Message-ID) for one recipient; a test message gets a fresh id."""
        subject = variant.subject or self.subject
        if test:
            msg_id, subject = make_msgid("test", domain=self.domain), f"[TEST] {subject}"
        else:
            msg_id = message_id(self.edition_date, sub.email, self.domain)
        who = self.recipient(variant, sub, msg_id)
        raw = None if test else self.template(variant, subject).render(who)
        if raw is None:
            raw = self.build(variant, who, subject)
        return raw, msg_id

    def build(self, variant: RenderedVariant, who: Recipient, subject: str) -> bytes:
        """The message through the email package (what the template must equal)."""
        text, html = variant.text, variant.html
        for token, value in who.text_values.items():
            text = text.replace(token, value)
        for token, value in who.html_values.items():
            html = html.replace(token, value)
        return build_message(
            html=html,
            text=text,
            to=who.to,
            to_name=who.to_name,
            msg_id=who.msg_id,
            date=who.date,
            unsubscribe_url=who.unsubscribe_url,
            **self.fixed_headers(subject),
        ).as_bytes()
