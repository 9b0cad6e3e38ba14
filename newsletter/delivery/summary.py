"""What a delivery run did, and the error that stops one early."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DeliveryError


@dataclass
class Summary:
    """What a run did; ``skipped``, ``failed`` and ``unknown`` count the whole ledger date."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    unknown: int = 0
    already: int = 0
    pending: int = 0
    throttled: int = 0
    retried: int = 0
    failed_now: int = 0
    done: int = 0  # messages of this run with an outcome (sent, failed or unknown)
    todo: int = 0
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None

    @property
    def rate(self) -> float:
        """Messages sent per second during this run."""
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def line(self) -> str:
        """The one-line summary the CLI prints."""
        extra = f", already sent before {self.already}" if self.already else ""
        left = f", still pending {self.pending}" if self.pending else ""
        return (
            f"sent {self.sent}, skipped {self.skipped}, failed {self.failed}, "
            f"unknown {self.unknown}{extra}{left} in {self.elapsed_s:.1f}s "
            f"({self.rate:.1f}/s; {self.throttled} throttled, {self.retried} retried)"
        )


class DeliveryStopped(DeliveryError):
    """The run stopped early (sending paused, throttled too long, interrupted)."""

    def __init__(self, message: str, summary: Summary) -> None:
        super().__init__(message)
        self.summary = summary
