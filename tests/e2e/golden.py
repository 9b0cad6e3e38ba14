"""The sample day's outbox as a golden: what every subscriber receives, byte for byte.

Only what changes from run to run is masked: the Date header, the MIME boundary (random per
variant) and the day the edition was generated (today).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

_DATE = re.compile(rb"^Date: .*$", re.M)
_BOUNDARY = re.compile(rb"===============[0-9a-f]{32}")


def normalize(raw: bytes, today: date | None = None) -> bytes:
    """``raw`` with the Date header, boundaries and today's date masked."""
    today = today or date.today()
    out = _DATE.sub(b"Date: (masked)", raw)
    out = _BOUNDARY.sub(b"===============BOUNDARY", out)
    # The footer names the day it was generated; around midnight that may be either day.
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        out = out.replace(day.isoformat().encode(), b"(generated)")
    return out


def outbox(folder: Path) -> dict[str, bytes]:
    """Every message in an outbox folder, normalized, by file name."""
    return {p.name: normalize(p.read_bytes()) for p in sorted(folder.glob("*.eml"))}
