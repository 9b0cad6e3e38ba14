"""The stages, one module each; every stage reads and writes files under ``editions/DATE/``.

    collect  -> candidates.json
    select   -> selection.json
    analyze  -> analyses/ID.json
    build    -> variants/KEY.{html,txt,json}, then edition.json
    deliver  -> ledger rows and messages handed to the transport

Each is idempotent: it reruns when its output is missing or older than its inputs, or when
forced. Files are written atomically, so a crash never leaves a half-written artifact.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

Progress = Callable[[str], None]

log = logging.getLogger("newsletter")
