"""Amazon SES with SendBulkEmail: a stored template per variant, up to 50 recipients a call.

Why (scripts/bench_deliver.py, see the README): one SendEmail call with an ~85 KB raw
message costs boto3 ~3 ms of CPU (validation, event hooks, base64, JSON, SigV4 over the
whole body), so one Python process cannot go much past 300 messages a second. A bulk call
carries 50 recipients in ~2 KB of JSON: under 0.1 ms of CPU per recipient.

What changes for subscribers: SES builds each message from the template (``TemplateContent``
with ``{{unsubscribe}}`` and ``{{topics}}`` where the variant has its placeholders), so the
MIME structure, transfer encoding and Message-ID are SES's, not ``build_message``'s; the
List-Unsubscribe headers go as ``ReplacementHeaders``. Raw sending (transport ``ses``) stays
the one that sends our exact bytes.

SES renders templates with Handlebars: every ``{`` and ``\\`` of our content goes in as a
replacement tag (``{{lb}}``, ``{{bs}}``) so that no paper text is read as a tag; SES does not
HTML-escape replacement values, so the HTML values are escaped here. Each recipient's status
in the answer becomes the outcome of their ledger row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from email.utils import formataddr
from typing import Any

from ...config import Settings
from ...errors import Fatal, Permanent, Throttled, Transient, TransportError, Unknown
from ...mail.template import Recipient
from ...render import RenderedVariant
from .ses import SesTransport, _tag, make_ses_client

log = logging.getLogger(__name__)

BULK_SIZE = 50  # SendBulkEmail's most destinations a call

# BulkEmailEntryResult.Status -> the outcome of that recipient's row.
_STATUS: dict[str, type[TransportError]] = {
    "MESSAGE_REJECTED": Permanent,
    "INVALID_PARAMETER": Permanent,
    "ACCOUNT_THROTTLED": Throttled,
    "TRANSIENT_FAILURE": Transient,
    "FAILED": Transient,  # SES could not send it, and says no more: retried, then failed
    "MAIL_FROM_DOMAIN_NOT_VERIFIED": Fatal,
    "CONFIGURATION_SET_NOT_FOUND": Fatal,
    "TEMPLATE_NOT_FOUND": Fatal,
    "ACCOUNT_SUSPENDED": Fatal,
    "ACCOUNT_DAILY_QUOTA_EXCEEDED": Fatal,
    "INVALID_SENDING_POOL_NAME": Fatal,
    "ACCOUNT_SENDING_PAUSED": Fatal,
    "CONFIGURATION_SET_SENDING_PAUSED": Fatal,
}
_LITERAL = re.compile(r"[{\\]")
_ESCAPES = {"lb": "{", "bs": "\\"}


def template_text(body: str, tags: dict[str, str]) -> str:
    """``body`` as SES template text: its own braces and backslashes literal, each
    placeholder of ``tags`` (placeholder -> tag name) a replacement tag."""
    text = _LITERAL.sub(lambda m: "{{lb}}" if m.group() == "{" else "{{bs}}", body)
    for placeholder, tag in tags.items():
        text = text.replace(placeholder, "{{" + tag + "}}")
    return text


def status_outcome(result: dict[str, Any]) -> str | TransportError:
    """One recipient's result of a bulk call: SES's message id, or the error kind."""
    status = str(result.get("Status", ""))
    if status == "SUCCESS":
        return str(result.get("MessageId", ""))
    kind = _STATUS.get(status, Unknown)  # a status we do not know: it may have been sent
    return kind(f"SES bulk {status}: {result.get('Error', '')}".strip().rstrip(":"))


class SesBulkTransport(SesTransport):
    """Sends a variant to up to 50 recipients a call from a template stored in SES."""

    name = "ses-bulk"
    bulk_size = BULK_SIZE

    def __init__(self, client: Any, configuration_set: str = "", edition_date: str = "") -> None:
        super().__init__(client, configuration_set)
        self.edition_date = edition_date
        self.templates: dict[str, str] = {}  # content digest -> template name
        self.created: list[str] = []
        self.template_lock = threading.Lock()

    def template(self, variant: RenderedVariant, subject: str) -> str:
        """The stored template of a variant, created on first use (named by its content)."""
        holes = variant.placeholders
        html = template_text(
            variant.html, {holes.unsubscribe: "unsubscribe_html", holes.topics: "topics_html"}
        )
        text = template_text(
            variant.text, {holes.unsubscribe: "unsubscribe", holes.topics: "topics"}
        )
        subject_text = template_text(subject, {})
        digest = hashlib.sha256("\0".join((subject_text, html, text)).encode()).hexdigest()
        with self.template_lock:
            name = self.templates.get(digest)
            if name is None:
                name = f"newsletter-{self.edition_date}-{_tag(variant.key)}-{digest[:12]}"
                self.call(
                    "create_email_template",
                    exists_ok=True,
                    TemplateName=name,
                    TemplateContent={"Subject": subject_text, "Html": html, "Text": text},
                )
                self.templates[digest] = name
                self.created.append(name)
        return name

    def send_bulk(
        self,
        variant: RenderedVariant,
        headers: dict[str, Any],
        recipients: list[Recipient],
        tags: dict[str, str],
    ) -> list[str | TransportError]:
        """One SendBulkEmail call; each recipient's message id or error, in order."""
        name = self.template(variant, str(headers["subject"]))
        entries = [_entry(variant, headers, who) for who in recipients]
        common = []
        if headers.get("list_id"):
            common.append({"Name": "List-Id", "Value": headers["list_id"]})
        if any(who.unsubscribe_url for who in recipients):
            common.append({"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"})
        args: dict[str, Any] = {
            "FromEmailAddress": headers["from_"],
            "DefaultContent": {
                "Template": {
                    "TemplateName": name,
                    "TemplateData": json.dumps(_ESCAPES),
                    "Headers": common,
                }
            },
            "BulkEmailEntries": entries,
            "DefaultEmailTags": [{"Name": _tag(k), "Value": _tag(v)} for k, v in tags.items()],
        }
        if headers.get("reply_to"):
            args["ReplyToAddresses"] = [headers["reply_to"]]
        if self.configuration_set:
            args["ConfigurationSetName"] = self.configuration_set
        answer = self.call("send_bulk_email", **args)
        return [status_outcome(r) for r in answer.get("BulkEmailEntryResults", [])]

    def close(self) -> None:
        """Delete the templates this run stored (a rerun stores them again)."""
        for name in self.created:
            try:
                self.call("delete_email_template", TemplateName=name)
            except TransportError as exc:
                log.warning("SES template %s not deleted: %s", name, exc)
        self.created.clear()


def _entry(variant: RenderedVariant, headers: dict[str, Any], who: Recipient) -> dict[str, Any]:
    """One recipient of a bulk call: address, replacement values, List-Unsubscribe."""
    holes = variant.placeholders
    data = {
        "unsubscribe": who.text_values.get(holes.unsubscribe, ""),
        "unsubscribe_html": who.html_values.get(holes.unsubscribe, ""),
        "topics": who.text_values.get(holes.topics, ""),
        "topics_html": who.html_values.get(holes.topics, ""),
        **_ESCAPES,
    }
    entry: dict[str, Any] = {
        "Destination": {"ToAddresses": [formataddr((who.to_name, who.to))]},
        "ReplacementEmailContent": {
            "ReplacementTemplate": {"ReplacementTemplateData": json.dumps(data)}
        },
    }
    links = [f"<{u}>" for u in (who.unsubscribe_url, headers.get("unsubscribe_mailto")) if u]
    if links:
        entry["ReplacementHeaders"] = [{"Name": "List-Unsubscribe", "Value": ", ".join(links)}]
    return entry


def make(settings: Settings, edition_date: str) -> SesBulkTransport:
    """SES bulk sending as configured under ``delivery.ses``."""
    return SesBulkTransport(
        make_ses_client(settings), settings.delivery.ses.configuration_set, edition_date
    )
