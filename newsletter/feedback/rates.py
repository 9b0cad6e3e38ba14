"""Bounce and complaint rates of recent editions, beside the thresholds SES acts on.

SES reviews an account whose bounce rate passes 5% or complaint rate 0.1%, and may pause
its sending at 10% / 0.5%. ``status`` warns from ``feedback.warn_*_rate`` on, well before.
"""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..store import Store

REVIEW = {"bounce": 0.05, "complaint": 0.001}
PAUSE = {"bounce": 0.10, "complaint": 0.005}


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def rates_report(settings: Settings, store: Store) -> dict[str, Any] | None:
    """Rates over the last ``feedback.recent_editions`` editions and warnings; None when no
    edition was sent or nothing reports feedback."""
    f = settings.feedback
    rows = store.rates(f.recent_editions)
    configured = bool(f.queue_url or f.sns_topic_arn)
    if not rows or not (configured or any(r.bounced or r.complained for r in rows)):
        # Nothing reports bounces (the outbox, SMTP without feedback): no rates to show.
        return None
    sent = sum(r.sent for r in rows)
    bounced = sum(r.bounced for r in rows)
    complained = sum(r.complained for r in rows)
    rates = {
        "bounce": bounced / sent if sent else 0.0,
        "complaint": complained / sent if sent else 0.0,
    }
    warn = {"bounce": f.warn_bounce_rate, "complaint": f.warn_complaint_rate}
    warnings = []
    for kind, rate in rates.items():
        if rate >= PAUSE[kind]:
            level = f"past SES's pause threshold ({_pct(PAUSE[kind])}): sending may be paused"
        elif rate >= REVIEW[kind]:
            level = f"past SES's review threshold ({_pct(REVIEW[kind])}): the account is reviewed"
        elif rate >= warn[kind]:
            level = (
                f"past the early warning ({_pct(warn[kind])}; SES reviews at {_pct(REVIEW[kind])})"
            )
        else:
            continue
        warnings.append(f"{kind} rate {_pct(rate)} over the last {len(rows)} editions is {level}")
    return {
        "editions": len(rows),
        "sent": sent,
        "bounced": bounced,
        "complained": complained,
        "bounce_rate": _pct(rates["bounce"]),
        "complaint_rate": _pct(rates["complaint"]),
        "thresholds": "SES review 5% / 0.1%, pause 10% / 0.5%",
        "per_edition": [
            {"date": r.date, "sent": r.sent, "bounced": r.bounced, "complained": r.complained}
            for r in rows
        ],
        "warnings": warnings,
    }
