"""The stage files under ``DATA/editions/DATE/``: where they live, how they are written and read.

Every stage file is written atomically (temp file in the same folder, fsync, rename), so a
crash never leaves a half-written artifact that the next stage would trust, and every read
validates the file against its model so a broken one is one clear error naming it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .config import Settings
from .errors import StageError
from .files import write_atomic

M = TypeVar("M", bound=BaseModel)
__all__ = [
    "Paths",
    "fingerprint",
    "fresh",
    "read_model",
    "sha256_text",
    "write_atomic",
    "write_model",
]


@dataclass(frozen=True)
class Paths:
    """The files of one edition."""

    root: Path

    @classmethod
    def of(cls, settings: Settings, edition_date: str) -> Paths:
        return cls(settings.data_dir / "editions" / edition_date)

    @property
    def candidates(self) -> Path:
        return self.root / "candidates.json"

    @property
    def selection(self) -> Path:
        return self.root / "selection.json"

    @property
    def analyses(self) -> Path:
        return self.root / "analyses"

    @property
    def edition(self) -> Path:
        return self.root / "edition.json"

    @property
    def variants(self) -> Path:
        return self.root / "variants"


def write_model(path: Path, model: BaseModel) -> None:
    write_atomic(path, model.model_dump_json(indent=1, by_alias=True) + "\n")


def read_model(path: Path, cls: type[M], stage: str) -> M:
    """A stage file, validated against its contract; a clear error if missing or invalid."""
    if not path.is_file():
        raise StageError(f"{path} is missing: run 'newsletter {stage}' first")
    try:
        return cls.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise StageError(f"{path}: cannot read it ({exc.strerror})") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        field = f"'{where}': " if where else ""  # an empty location: the JSON itself is broken
        raise StageError(
            f"{path}: {field}{err['msg']} (rerun 'newsletter {stage} --force')"
        ) from None


def fresh(output: Path, *inputs: Path) -> bool:
    """``output`` exists and no existing input is newer than it."""
    if not output.exists():
        return False
    mtime = output.stat().st_mtime
    return all(not i.exists() or i.stat().st_mtime <= mtime for i in inputs)


def fingerprint(*parts: Any) -> str:
    """A short digest of what a stage's output depends on beyond its input files."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
