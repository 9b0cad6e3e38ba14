"""Editing the subscriber lists: add, remove and import, each file rewritten atomically."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..files import write_atomic
from ..models import Subscriber
from .lists import FIELDS, LANGUAGES, Problem, list_files, read_file, same_address
from .records import compose, csv_records, read_text

DEFAULT_FILE = "subscribers.yaml"


@dataclass(frozen=True)
class Entry:
    """Where one record sits in its file: lines [start, end) counted from 0."""

    path: Path
    start: int
    end: int
    email: str


def _spans_yaml(path: Path) -> list[Entry]:
    text = read_text(path)
    root = compose(path, text)
    if isinstance(root, yaml.MappingNode):
        root = next((v for k, v in root.value if k.value == "subscribers"), None)
    if not isinstance(root, yaml.SequenceNode):
        return []
    out = []
    for node in root.value:
        end = node.end_mark.line + (1 if node.end_mark.column > 0 else 0)
        email = ""
        if isinstance(node, yaml.MappingNode):
            email = next((str(v.value) for k, v in node.value if k.value == "email"), "")
        out.append(Entry(path, node.start_mark.line, end, email))
    return out


def _spans_csv(path: Path) -> list[Entry]:
    records = list(csv_records(path))
    text = read_text(path, "utf-8-sig")
    total = len(text.splitlines())
    out = []
    for i, (line, record) in enumerate(records):
        # A record runs to the line before the next one (a quoted field may span lines).
        end = records[i + 1][0] - 1 if i + 1 < len(records) else total
        out.append(Entry(path, line - 1, end, str(record.get("email", ""))))
    return out


def entries(folder: Path) -> list[Entry]:
    """Every record of every list file, with its line span (to edit files in place)."""
    out: list[Entry] = []
    for path in list_files(folder):
        out += _spans_csv(path) if path.suffix.lower() == ".csv" else _spans_yaml(path)
    return out


def _check_new(sub: Subscriber, topics: set[str]) -> None:
    bad = sorted({t for t in sub.topics + sub.exclude if t not in topics})
    if bad:
        raise ConfigError(
            f"unknown topic(s) {', '.join(bad)} for {sub.email} "
            f"(known: {', '.join(sorted(topics))})"
        )
    if sub.language and sub.language not in LANGUAGES:
        raise ConfigError(f"unknown language {sub.language!r} (known: {', '.join(LANGUAGES)})")


def _append(path: Path, subs: list[Subscriber]) -> None:
    """Append records to a CSV (its own column order) or to a YAML top-level list."""
    text = read_text(path, "utf-8-sig") if path.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    if path.suffix.lower() == ".csv":
        header = next(csv.reader(io.StringIO(text)), None) if text else None
        columns = [c.strip().lower() for c in header] if header else list(FIELDS)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if not header:
            writer.writerow(columns)
        for sub in subs:
            record = {
                "email": sub.email,
                "name": sub.name,
                "topics": ",".join(sub.topics),
                "exclude": ",".join(sub.exclude),
                "language": sub.language or "",
            }
            missing = [k for k, v in record.items() if v and k not in columns]
            if missing:
                raise ConfigError(f"{path}: no column {', '.join(missing)} for {sub.email}")
            writer.writerow([record.get(c, "") for c in columns])
        write_atomic(path, text + out.getvalue())
        return
    if text.strip():
        root = compose(path, text)
        if not (isinstance(root, yaml.SequenceNode) and not root.flow_style):
            raise ConfigError(
                f"{path}: can only add to a file that is a plain YAML list "
                "('- email: ...'); pass --file another.yaml"
            )
    items = []
    for sub in subs:
        item: dict[str, Any] = {"email": sub.email}
        if sub.name:
            item["name"] = sub.name
        if sub.topics:
            item["topics"] = list(sub.topics)
        if sub.exclude:
            item["exclude"] = list(sub.exclude)
        if sub.language:
            item["language"] = sub.language
        items.append(item)
    dumped = yaml.safe_dump(
        items, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000
    )
    write_atomic(path, text + dumped)


def add(folder: Path, subs: list[Subscriber], topics: set[str], file: str | None = None) -> Path:
    """Append new subscribers to ``folder/file`` (default subscribers.yaml); no duplicates."""
    existing = {e.email.lower(): e for e in entries(folder)}
    for sub in subs:
        _check_new(sub, topics)
        known = existing.get(sub.email.lower())
        if known is not None:
            raise ConfigError(f"{sub.email} is already subscribed ({known.path}:{known.start + 1})")
    target = folder / (file or DEFAULT_FILE)
    if target.suffix.lower() not in (".yaml", ".yml", ".csv"):
        raise ConfigError(f"{target}: a subscriber list ends in .yaml, .yml or .csv")
    folder.mkdir(parents=True, exist_ok=True)
    _append(target, subs)
    return target


def remove(folder: Path, email: str) -> list[str]:
    """Delete every record of ``email`` from the list files; returns where it was."""
    found = [e for e in entries(folder) if same_address(e.email, email)]
    if not found:
        raise ConfigError(f"{email} is not in any list under {folder}/")
    where = []
    for path in sorted({e.path for e in found}):
        lines = read_text(path).splitlines(keepends=True)
        for entry in sorted((e for e in found if e.path == path), key=lambda e: -e.start):
            where.append(f"{path}:{entry.start + 1}")
            del lines[entry.start : entry.end]
        write_atomic(path, "".join(lines))
    return sorted(where)


def import_file(
    source: Path,
    folder: Path,
    topics: set[str],
    statuses: dict[str, str],
    file: str | None = None,
    skip_invalid: bool = False,
) -> tuple[list[Subscriber], list[Problem]]:
    """Add a CSV/YAML file's new subscribers; returns (added, problems and skips).

    Addresses already listed, or that left earlier (unsubscribed, bounced, complained), are
    skipped and reported. Invalid records stop the import unless ``skip_invalid``.
    """
    if not source.is_file():
        raise ConfigError(f"{source}: file not found")
    found, problems = read_file(source, topics)
    if problems and not skip_invalid:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(
            f"{problems[0]}{more}; nothing imported (--skip-invalid imports the valid ones)"
        )
    existing = {e.email.lower(): e for e in entries(folder)}
    new: list[Subscriber] = []
    seen: set[str] = set()
    for sub in found:
        key = sub.email.lower()
        if key in existing:
            e = existing[key]
            problems.append(
                Problem(
                    sub.origin, f"{sub.email} already listed at {e.path}:{e.start + 1}; skipped"
                )
            )
        elif statuses.get(key, "active") != "active":
            problems.append(
                Problem(
                    sub.origin,
                    f"{sub.email} is {statuses[key]}; not re-added (use 'subscribers resubscribe')",
                )
            )
        elif key in seen:
            problems.append(Problem(sub.origin, f"duplicate of {sub.email} in {source}"))
        else:
            seen.add(key)
            new.append(sub)
    if new:
        add(folder, new, topics, file)
    return new, problems
