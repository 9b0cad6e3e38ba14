"""``newsletter feedback``: read SES events from SQS (long polling) into the store.

A message is deleted from the queue only after the store committed its effect, so a crash
loses nothing: the message comes back after its visibility timeout, and the store ignores
what it already applied. Two runs at once (cron overlapping itself) are as safe. A message
that is not an SES notification is reported and left on the queue, for its dead-letter
queue (a redrive policy with a small maxReceiveCount) to take.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from ..errors import FeedbackError
from ..store import Store
from . import NotSes, apply, events_of, known_addresses, notification

log = logging.getLogger(__name__)


@dataclass
class Report:
    """What one ``feedback`` run did."""

    received: int = 0
    deleted: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    rejected: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """1 when some message could not be read (cron mails the output), else 0."""
        return 1 if self.rejected else 0

    def line(self) -> str:
        done = ", ".join(f"{n} {a}" for a, n in sorted(self.actions.items())) or "no events"
        return (
            f"feedback: {self.received} messages, {self.deleted} deleted; {done}; "
            f"{len(self.rejected)} not understood (left on the queue)"
        )


def make_sqs_client(settings: Settings) -> Any:
    """An SQS client from ``[feedback]`` (region defaults to delivery.ses.region)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    f = settings.feedback
    try:
        return boto3.session.Session().client(
            "sqs",
            region_name=f.region or settings.delivery.ses.region or None,
            endpoint_url=f.endpoint_url or None,
            config=Config(connect_timeout=10, read_timeout=f.wait_s + 10),
        )
    except BotoCoreError as exc:
        raise FeedbackError(f"SQS client: {exc}; check feedback.region and credentials") from None


def drain(
    settings: Settings,
    store: Store,
    sqs: Any,
    *,
    loop: bool = False,
    stop: threading.Event | None = None,
) -> Report:
    """Apply every message on the queue; return when it is empty (or, with ``loop``, when
    ``stop`` is set)."""
    f = settings.feedback
    if not f.queue_url:
        raise FeedbackError("feedback.queue_url is empty: name the SQS queue SES events go to")
    report = Report()
    known = known_addresses(settings, store)
    stop = stop or threading.Event()
    refused: set[str] = set()  # left on the queue: they come back, and are not news
    while not stop.is_set():
        messages = _receive(sqs, f.queue_url, f.wait_s, f.visibility_timeout_s)
        fresh = [m for m in messages if m.get("MessageId") not in refused]
        if not fresh and not loop:
            break
        for message in fresh:
            report.received += 1
            if _handle(settings, store, sqs, message, known, report):
                report.deleted += 1
            else:
                refused.add(str(message.get("MessageId")))
    return report


def _receive(sqs: Any, queue_url: str, wait_s: int, visibility_s: int) -> list[dict[str, Any]]:
    from botocore.exceptions import BotoCoreError, ClientError

    args: dict[str, Any] = {
        "QueueUrl": queue_url,
        "MaxNumberOfMessages": 10,
        "WaitTimeSeconds": wait_s,
    }
    if visibility_s:
        args["VisibilityTimeout"] = visibility_s
    try:
        return list(sqs.receive_message(**args).get("Messages", []))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise FeedbackError(
            f"SQS {queue_url}: {error.get('Code')}: {error.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise FeedbackError(f"SQS {queue_url}: {exc}") from None


def _handle(
    settings: Settings,
    store: Store,
    sqs: Any,
    message: dict[str, Any],
    known: set[str],
    report: Report,
) -> bool:
    """Apply one queue message; True once it is deleted (after the store committed)."""
    message_id = str(message.get("MessageId", "?"))
    try:
        note_id, ses = notification(str(message.get("Body", "")), message_id)
        events = events_of(note_id, ses)
    except NotSes as exc:
        problem = f"message {message_id}: not an SES notification: {exc}"
        log.warning("%s; left on the queue", problem)
        report.rejected.append(problem)
        return False
    for done in apply(settings, store, events, known.__contains__):
        report.actions[done.action] += 1
    if not events:
        report.actions["ignored"] += 1
    _delete(sqs, settings.feedback.queue_url, message)
    return True


def _delete(sqs: Any, queue_url: str, message: dict[str, Any]) -> None:
    """Delete a message whose effect the store has committed."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    except (ClientError, BotoCoreError) as exc:
        # Applied but not deleted: it comes back and the store sees it is done already.
        raise FeedbackError(
            f"SQS {queue_url}: message {message.get('MessageId')} applied but not deleted "
            f"({exc}); the next run skips it as a duplicate"
        ) from None
