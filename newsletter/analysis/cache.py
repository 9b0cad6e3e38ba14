"""A folder of JSON answers keyed by everything that decides them (``DATA/cache/llm``)."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from ..files import write_atomic

log = logging.getLogger(__name__)


def cache_key(**parts: Any) -> str:
    """A stable key from named parts (paper id, version, text hash, model, prompt, language)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class AnswerCache:
    """Stored results by key; a damaged entry counts as missing."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, kind: str, key: str) -> Path:
        return self.folder / kind / f"{key}.json"

    def get(self, kind: str, key: str) -> Any | None:
        path = self._path(kind, key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("llm cache: ignoring unreadable %s (%s)", path, exc)
            return None

    def put(self, kind: str, key: str, value: Any) -> None:
        write_atomic(self._path(kind, key), json.dumps(value, ensure_ascii=False, indent=1))
