"""Subscriber lists: ``subscribers/*.yaml`` and ``*.csv`` (format in subscribers/README.md)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from email_validator import EmailNotValidError, validate_email

from .errors import ConfigError
from .models import Subscriber

FIELDS = ("email", "name", "topics", "exclude", "language")
LANGUAGES = ("ko", "en")


@dataclass(frozen=True)
class Problem:
    where: str  # file:line
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def normalize_email(address: str) -> str:
    """Validated, normalized address (domain lower-cased); raises ValueError if invalid."""
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return result.normalized


def _split(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    raise TypeError(f"expected a list or a comma-separated string, got {type(value).__name__}")


def _records_yaml(path: Path) -> list[tuple[int, dict[str, Any]]]:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if root is None:
        return []
    if isinstance(root, yaml.MappingNode):
        # Also accept {subscribers: [...]}.
        for key, value in root.value:
            if key.value == "subscribers":
                root = value
                break
    if not isinstance(root, yaml.SequenceNode):
        raise ConfigError(f"{path}:{root.start_mark.line + 1}: expected a list of subscribers")
    records = []
    for node in root.value:
        data = yaml.SafeLoader(yaml.serialize(node)).get_single_data()
        records.append((node.start_mark.line + 1, data))
    return records


def _records_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    records = []
    for row in reader:
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        records.append((reader.line_num, clean))
    return records


def read_file(path: Path, topics: set[str]) -> tuple[list[Subscriber], list[Problem]]:
    """Subscribers of one file, and every problem found in it (file and line each)."""
    records = _records_csv(path) if path.suffix.lower() == ".csv" else _records_yaml(path)
    found: list[Subscriber] = []
    problems: list[Problem] = []
    for line, data in records:
        where = f"{path}:{line}"
        if not isinstance(data, dict):
            problems.append(Problem(where, "expected a mapping with at least 'email'"))
            continue
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            problems.append(Problem(where, f"unknown field(s) {', '.join(unknown)}"))
            continue
        try:
            email = normalize_email(str(data.get("email") or ""))
        except ValueError as exc:
            problems.append(Problem(where, f"invalid address {data.get('email')!r}: {exc}"))
            continue
        try:
            wanted, excluded = _split(data.get("topics")), _split(data.get("exclude"))
        except TypeError as exc:
            problems.append(Problem(where, str(exc)))
            continue
        bad = sorted({t for t in wanted + excluded if t not in topics})
        if bad:
            problems.append(Problem(where, f"unknown topic(s) {', '.join(bad)} for {email}"
                                    f" (known: {', '.join(sorted(topics))})"))
            continue
        language = str(data.get("language") or "") or None
        if language and language not in LANGUAGES:
            problems.append(Problem(where, f"unknown language {language!r} for {email}"))
            continue
        found.append(Subscriber(email=email, name=str(data.get("name") or ""), topics=wanted,
                                exclude=excluded, language=language, origin=where))
    return found, problems


def list_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in (".yaml", ".yml", ".csv") and p.is_file())


def check(folder: Path, topics: set[str]) -> tuple[list[Subscriber], list[Problem]]:
    """All subscribers in ``folder`` and every problem (invalid, unknown topic, duplicate)."""
    everyone: list[Subscriber] = []
    problems: list[Problem] = []
    first_seen: dict[str, str] = {}
    for path in list_files(folder):
        found, trouble = read_file(path, topics)
        problems += trouble
        for sub in found:
            key = sub.email.lower()
            if key in first_seen:
                problems.append(Problem(sub.origin, f"duplicate of {sub.email} "
                                        f"(first at {first_seen[key]})"))
                continue
            first_seen[key] = sub.origin
            everyone.append(sub)
    return everyone, problems


def load(folder: Path, topics: set[str], statuses: dict[str, str] | None = None
         ) -> list[Subscriber]:
    """Active subscribers; any problem is an error naming file and line."""
    everyone, problems = check(folder, topics)
    if problems:
        more = f" (and {len(problems) - 1} more; run 'newsletter subscribers check')" \
            if len(problems) > 1 else ""
        raise ConfigError(f"{problems[0]}{more}")
    statuses = statuses or {}
    return [s for s in everyone if statuses.get(s.email.lower(), "active") == "active"]


def wants(sub: Subscriber, paper_topics: list[str]) -> bool:
    """A subscriber receives a paper whose topics meet theirs (none = all), minus excluded."""
    if set(paper_topics) & set(sub.exclude):
        return False
    return not sub.topics or bool(set(paper_topics) & set(sub.topics))
