"""The confirmation email of a web sign-up, sent through the configured transport.

The outbox transport writes it under ``DATA/outbox/web/``; SES tags it ``kind=confirm``.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import make_msgid

from ..config import Settings
from ..delivery.transports import Transport, make_transport
from ..errors import HeaderInjection, TransportError
from ..mail.headers import sender_domain
from ..mail.message import build_message
from .links import Links

log = logging.getLogger(__name__)

OUTBOX_FOLDER = "web"

_TEXT = {
    "ko": {
        "subject": "{title}: 구독을 확인해 주세요",
        "body": "{title} 구독 신청을 받았습니다. 아래 링크에서 구독을 확인해 주세요"
        " ({hours}시간 동안 유효합니다).",
        "ignore": "직접 신청하지 않으셨다면 이 메일을 무시하세요. 다시 연락드리지 않습니다.",
        "button": "구독 확인",
    },
    "en": {
        "subject": "{title}: please confirm your subscription",
        "body": "We received a request to subscribe this address to {title}. Confirm it with"
        " the link below (valid for {hours} hours).",
        "ignore": "If you did not ask for this, ignore this email: you will not hear from us"
        " again.",
        "button": "Confirm my subscription",
    },
}


class Mailer:
    """Builds and sends confirmation emails, one at a time."""

    def __init__(
        self,
        settings: Settings,
        links: Links,
        transport_factory: Callable[[], Transport] | None = None,
    ) -> None:
        self.settings, self.links = settings, links
        self.factory = transport_factory or (lambda: make_transport(settings, OUTBOX_FOLDER))
        self._lock = threading.Lock()

    def message(self, email: str, nonce: str, language: str | None) -> bytes:
        """The whole confirmation message for ``email``."""
        s = self.settings
        t = _TEXT.get(language or s.edition.language, _TEXT["en"])
        url = self.links.confirm_url(email, nonce)
        hours = s.web.confirm_max_age_hours
        body = t["body"].format(title=s.edition.title, hours=hours)
        text = f"{body}\n\n{url}\n\n{t['ignore']}\n"
        esc = html.escape
        page = (
            '<!doctype html>\n<html><head><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width, initial-scale=1"></head>\n<body style="font-family:'
            ' sans-serif; max-width: 560px; margin: 0 auto; padding: 16px; color: #1f2328;">\n'
            f"<p>{esc(body)}</p>\n"
            f'<p><a href="{esc(url, quote=True)}" style="display: inline-block; padding: 10px'
            " 16px; background: #17325c; color: #ffffff; text-decoration: none;"
            f' border-radius: 6px;">{esc(t["button"])}</a></p>\n'
            f'<p style="color: #666; font-size: 13px;">{esc(t["ignore"])}</p>\n</body></html>\n'
        )
        msg = build_message(
            html=page,
            text=text,
            from_=s.delivery.from_,
            to=email,
            subject=t["subject"].format(title=s.edition.title),
            msg_id=make_msgid("confirm", domain=sender_domain(s.delivery.from_)),
            date=datetime.now(UTC),
            reply_to=s.delivery.reply_to,
        )
        return msg.as_bytes()

    def send_confirmation(self, email: str, nonce: str, language: str | None) -> bool:
        """Send the confirmation; False (logged) when the transport refuses it."""
        try:
            raw = self.message(email, nonce, language)
        except HeaderInjection as exc:
            log.error("confirmation for %s not sent: %s", email, exc)
            return False
        # A transport of its own each time: sign-ups are rare, and an SMTP connection kept
        # between them would go stale.
        with self._lock:
            transport = self.factory()
            try:
                transport.send(raw, self.settings.delivery.from_, email, {"kind": "confirm"})
            except TransportError as exc:
                log.error("confirmation for %s not sent: %s: %s", email, type(exc).__name__, exc)
                return False
            finally:
                transport.close()
        log.info("confirmation sent to %s", email)
        return True
