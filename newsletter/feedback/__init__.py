"""Bounces and complaints: SES event notifications read and applied to the store.

SES publishes events of a configuration set to an SNS topic; the topic delivers them to an
SQS queue (``newsletter feedback`` reads it, ``queue.py``) and optionally to ``POST /sns`` of
``newsletter serve`` (``sns.py``, signatures verified). Both end here: ``notification``
reads the body, ``events_of`` turns an SES event object into one ``Event`` per recipient,
``apply`` records them. Shapes: SES "event publishing" records (``eventType``) and the
older identity notifications (``notificationType``), inside an SNS envelope or raw.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any

from ..config import Settings
from ..errors import FeedbackError
from ..store import Applied, Event, Store

log = logging.getLogger(__name__)

DAY_S = 86400
# Event types that need nothing from us (acknowledged, not recorded).
IGNORED = {"Send", "Reject", "Open", "Click", "Rendering Failure", "DeliveryDelay", "Subscription"}


class NotSes(FeedbackError):
    """A queue message or SNS notification that is not an SES event notification."""


def notification(body: str, fallback_id: str) -> tuple[str, dict[str, Any]]:
    """(notification id, SES event object) of a message body: an SNS envelope (its
    MessageId) or a raw SES event (``fallback_id``, the queue's message id)."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise NotSes(f"not JSON ({exc}); starts {body[:60]!r}") from None
    if not isinstance(data, dict):
        raise NotSes(f"not a JSON object; starts {body[:60]!r}")
    if data.get("Type") == "Notification" and isinstance(data.get("Message"), str):
        note_id = str(data.get("MessageId") or fallback_id)
        try:
            inner = json.loads(data["Message"])
        except ValueError:
            raise NotSes(f"SNS notification {note_id} does not carry JSON") from None
        if not isinstance(inner, dict):
            raise NotSes(f"SNS notification {note_id} does not carry a JSON object")
        return note_id, inner
    if "Type" in data:
        raise NotSes(f"an SNS {data.get('Type')!r} message, not a notification")
    return fallback_id, data


def _addresses(items: Any, field: str, objects: bool = True) -> list[str]:
    """The addresses of a recipients list: objects with emailAddress, or plain strings."""
    if not isinstance(items, list):
        raise NotSes(f"{field} is not a list")
    out = []
    for item in items:
        if objects != isinstance(item, dict):
            raise NotSes(f"{field} holds {str(item)[:60]!r}, not a recipient")
        raw = item.get("emailAddress") if isinstance(item, dict) else item
        address = parseaddr(str(raw or ""))[1]
        if "@" not in address:
            raise NotSes(f"{field} holds {raw!r}, not an address")
        out.append(address.lower())
    return out


def events_of(note_id: str, ses: dict[str, Any]) -> list[Event]:
    """One Event per recipient of an SES Bounce, Complaint or Delivery (none for the
    types that need nothing); NotSes for anything else."""
    kind = ses.get("eventType") or ses.get("notificationType")
    mail = ses.get("mail")
    if not isinstance(kind, str) or not isinstance(mail, dict) or "messageId" not in mail:
        raise NotSes("no eventType/notificationType and mail.messageId: not an SES event")
    if kind in IGNORED:
        return []
    ses_id = str(mail["messageId"])
    if kind == "Bounce":
        b = _part(ses, "bounce")
        k = "bounce" if b.get("bounceType") == "Permanent" else "soft-bounce"
        recipients = b.get("bouncedRecipients")
        what = f"{b.get('bounceType')}/{b.get('bounceSubType')}"
        rows = []
        addresses = _addresses(recipients, "bounce.bouncedRecipients")
        for address, item in zip(addresses, recipients or [], strict=True):
            diagnostic = str(item.get("diagnosticCode") or item.get("status") or "")
            rows.append((address, k, f"{what} {diagnostic}".strip()))
        when = str(b.get("timestamp") or mail.get("timestamp") or "")
    elif kind == "Complaint":
        c = _part(ses, "complaint")
        detail = str(c.get("complaintFeedbackType") or "complaint")
        rows = [
            (a, "complaint", detail)
            for a in _addresses(c.get("complainedRecipients"), "complaint.complainedRecipients")
        ]
        when = str(c.get("timestamp") or mail.get("timestamp") or "")
    elif kind == "Delivery":
        d = _part(ses, "delivery")
        rows = [
            (a, "delivery", str(d.get("smtpResponse") or ""))
            for a in _addresses(d.get("recipients"), "delivery.recipients", objects=False)
        ]
        when = str(d.get("timestamp") or mail.get("timestamp") or "")
    else:
        raise NotSes(f"unknown SES event type {kind!r}")
    return [Event(f"{note_id}:{a}", k, a, ses_id, when, detail) for a, k, detail in rows]


def _part(ses: dict[str, Any], name: str) -> dict[str, Any]:
    part = ses.get(name)
    if not isinstance(part, dict):
        raise NotSes(f"an SES {name} event without its {name!r} object")
    return part


def known_addresses(settings: Settings, store: Store) -> set[str]:
    """Every address we know: the lists, the web sign-ups and the recorded statuses."""
    from ..subscribers import load, subscribers_folder

    listed = {s.email.lower() for s in load(subscribers_folder(settings), set(settings.topics))}
    return listed | {s.email for s in store.signups()} | set(store.statuses())


def apply(
    settings: Settings, store: Store, events: list[Event], known: Callable[[str], bool]
) -> list[Applied]:
    """Record each event and its effect (one transaction each; a repeat changes nothing)."""
    f = settings.feedback
    out = []
    for event in events:
        done = store.apply_event(
            event, known(event.email), f.transient_limit, f.transient_window_days * DAY_S
        )
        level = logging.WARNING if done.action == "unknown-address" else logging.INFO
        log.log(level, "%s %s (%s): %s", event.kind, event.email, event.ses_id, done.action)
        out.append(done)
    return out
