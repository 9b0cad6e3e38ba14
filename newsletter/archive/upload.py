"""``publish --to s3://bucket/prefix``: the archive folder uploaded with boto3."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError, StageError

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".xml": "application/atom+xml; charset=utf-8",
    ".json": "application/json",
}


def parse_target(target: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket/prefix``."""
    parts = urlsplit(target)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"--to {target!r}: expected s3://bucket/prefix")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


def upload(
    folder: Path,
    target: str,
    s3: Any,
    only: list[Path] | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> int:
    """Upload the archive's files (or ``only`` these) under the target; returns how many."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = parse_target(target)
    files = only if only is not None else sorted(p for p in folder.rglob("*") if p.is_file())
    count = 0
    for path in files:
        if path.name.startswith("."):
            continue
        key = prefix + path.relative_to(folder).as_posix()
        kind = (
            TYPES.get(path.suffix)
            or mimetypes.guess_type(path.name)[0]
            or "application/octet-stream"
        )
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=kind)
        except (ClientError, BotoCoreError) as exc:
            raise StageError(f"upload of {path} to s3://{bucket}/{key} failed: {exc}") from None
        progress(f"uploaded s3://{bucket}/{key}")
        count += 1
    return count


def make_s3_client(endpoint_url: str = "") -> Any:
    import boto3

    return boto3.session.Session().client("s3", endpoint_url=endpoint_url or None)
