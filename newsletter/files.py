"""Files that are never half-written, and stage files read against their contracts.

Every stage file is written atomically (temp file in the same folder, fsync, rename), so a
crash never leaves a half-written artifact that the next stage would trust, and every read
validates the file against its model so a broken one is one clear error naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import StageError

M = TypeVar("M", bound=BaseModel)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write via a unique temp file in the same folder, fsync, and rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
