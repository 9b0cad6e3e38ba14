"""Sending a batch through a transport that takes many recipients a call (SES SendBulkEmail).

The batch was claimed (``Sender._claim``) before any call; each recipient's answer in the
call's results goes through the same outcome methods as a single message's, and the batch
is settled by ``Sender._settle`` as any other. A call that fails as a whole (throttled, 5xx,
no answer) gives that outcome to every recipient in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import HeaderInjection, Permanent, TransportError, Unknown
from ..mail.template import Recipient
from ..store import Row
from ..store.ledger import Mark

if TYPE_CHECKING:
    from .sender import Attempts, Sender


def deliver_bulk(sender: Sender, rows: list[Row], out: list[Mark]) -> None:
    """Send claimed rows a call per variant and ``bulk_size`` recipients."""
    by_variant: dict[str, list[Row]] = {}
    for row in rows:
        by_variant.setdefault(row.variant, []).append(row)
    for key, group in by_variant.items():
        for start in range(0, len(group), sender.bulk_size):
            if sender.stop.is_set():
                sender.unsent(group[start:], out)
                continue
            _call(sender, key, group[start : start + sender.bulk_size], out)


def _call(sender: Sender, key: str, rows: list[Row], out: list[Mark]) -> None:
    """One variant's recipients through bulk calls until each has an outcome."""
    from .sender import Attempts

    variant = sender.variants[key]
    personalizer = sender.personalizer
    headers = personalizer.fixed_headers(variant.subject or personalizer.subject)
    todo: list[tuple[Row, Recipient, Attempts]] = []
    for row in rows:
        try:
            who = personalizer.recipient(variant, sender.subscribers[row.email], "")
        except HeaderInjection as exc:
            sender.permanent(row, Permanent(f"bad header: {exc}"), out)
            continue
        todo.append((row, who, Attempts()))
    tags = {"date": sender.date, "variant": key}
    while todo:
        sender.limiter.acquire(len(todo))  # a call of n recipients takes n slots
        if sender.stop.is_set():
            sender.unsent([row for row, _, _ in todo], out)
            return
        results: list[str | TransportError]
        try:
            results = list(
                sender.transport.send_bulk(  # type: ignore[attr-defined]
                    variant, headers, [who for _, who, _ in todo], tags
                )
            )
        except TransportError as exc:
            results = [exc] * len(todo)
        # An answer with fewer results than recipients: the others may have been sent.
        results += [Unknown("SES gave no result for this recipient")] * (len(todo) - len(results))
        again, waits = [], []
        for (row, who, tried), result in zip(todo, results, strict=False):
            wait = sender.outcome(row, result, tried, out)
            if wait is not None:
                again.append((row, who, tried))
                waits.append(wait)
        todo = again
        if todo:
            sender._flush(out)  # record what is done before waiting
            if max(waits):
                sender.sleep(max(waits))
