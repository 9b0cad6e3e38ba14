"""Each recipient's message: the variant with their unsubscribe link and topics filled in."""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import make_msgid
from typing import Any
from urllib.parse import quote

from ..config import Settings
from ..errors import ConfigError, HeaderInjection
from ..mail.headers import build_headers, safe_header, sender_domain
from ..mail.message import BodyTemplate, build_message, message_id
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
        self._templates: dict[str, BodyTemplate] = {}
        sender = d.from_.rsplit("<", 1)[-1].rstrip(">").strip()
        self.mailto = d.unsubscribe_mailto or f"mailto:{sender}?subject=unsubscribe"

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

    def headers(self, sub: Subscriber, subject: str, msg_id: str, https: str) -> dict[str, Any]:
        """The keyword arguments of ``build_headers`` for one recipient."""
        d = self.settings.delivery
        return dict(
            from_=d.from_,
            to=sub.email,
            to_name=sub.name,
            subject=subject,
            msg_id=msg_id,
            date=datetime.now(UTC),
            list_id=d.list_id,
            unsubscribe_url=https,
            unsubscribe_mailto=quote(self.mailto, safe=":@?=&/.+-_") if self.mailto else "",
            reply_to=d.reply_to,
        )

    def message(
        self, variant: RenderedVariant, sub: Subscriber, *, test: bool = False
    ) -> tuple[bytes, str]:
        """(raw message, Message-ID) for one recipient; a test message gets a fresh id."""
        link, https = self.links(sub.email)
        topics = self.topics_line(sub, variant.language)
        holes = variant.placeholders
        text_values = {holes.unsubscribe: link, holes.topics: topics}
        html_values = {
            holes.unsubscribe: html_lib.escape(link, quote=True),
            holes.topics: html_lib.escape(topics),
        }
        if holes.preferences:
            # Rendered only when web.base_url is set (make_renderer), so a link is made.
            prefs = self.preferences_link(sub.email)
            text_values[holes.preferences] = prefs
            html_values[holes.preferences] = html_lib.escape(prefs, quote=True)
        subject = variant.subject or self.subject
        if test:
            msg_id, subject = make_msgid("test", domain=self.domain), f"[TEST] {subject}"
        else:
            msg_id = message_id(self.edition_date, sub.email, self.domain)
        headers = self.headers(sub, subject, msg_id, https)
        template = self._templates.get(variant.key)
        if template is None:
            template = self._templates.setdefault(
                variant.key, BodyTemplate(variant.text, variant.html)
            )
        raw = template.render(build_headers(**headers), text_values, html_values)
        if raw is None:
            text, html = variant.text, variant.html
            for token, value in text_values.items():
                text = text.replace(token, value)
            for token, value in html_values.items():
                html = html.replace(token, value)
            raw = build_message(html=html, text=text, **headers).as_bytes()
        return raw, msg_id
