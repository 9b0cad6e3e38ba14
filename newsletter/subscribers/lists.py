"""Reading the subscriber lists: every record checked, each problem with its file and line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from email_validator import EmailNotValidError, validate_email

from ..errors import ConfigError
from ..models import Subscriber

FIELDS = ("email", "name", "topics", "exclude", "language")


LANGUAGES = ("ko", "en")


@dataclass(frozen=True)
class Problem:
    where: str  # file:line
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def normalize_email(address: str) -> str:
    """Validated, normalized ASCII address (domain lower-cased); raises ValueError if invalid."""
    try:
        # Our transports do not speak SMTPUTF8: a non-ASCII local part cannot be put in a
        # To: header or an SMTP envelope, so it is refused here rather than at send time.
        result = validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc).rstrip(".")) from None
    # An internationalized domain in its ASCII (IDNA) form: the form a header can carry.
    return result.ascii_email or result.normalized


def _split(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    raise TypeError(f"expected a list or a comma-separated string, got {type(value).__name__}")


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """A list file's text; bytes that are not UTF-8 are a ConfigError naming the offset."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
    if encoding == "utf-8-sig":
        text = text.removeprefix("\ufeff")
    return text


def compose(path: Path, text: str) -> yaml.Node | None:
    """The YAML node tree of a list file; broken YAML is a ConfigError naming file:line."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None


def _records_yaml(path: Path) -> list[tuple[int, dict[str, Any]]]:
    text = read_text(path)
    root = compose(path, text)
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
    text = read_text(path, "utf-8-sig")
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
            problems.append(
                Problem(
                    where,
                    f"unknown topic(s) {', '.join(bad)} for {email}"
                    f" (known: {', '.join(sorted(topics))})",
                )
            )
            continue
        language = str(data.get("language") or "") or None
        if language and language not in LANGUAGES:
            problems.append(Problem(where, f"unknown language {language!r} for {email}"))
            continue
        name = str(data.get("name") or "")
        if any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029" for ch in name):
            problems.append(
                Problem(where, f"name of {email} contains a line break or control character")
            )
            continue
        found.append(
            Subscriber(
                email=email,
                name=name,
                topics=wanted,
                exclude=excluded,
                language=language,
                origin=where,
            )
        )
    return found, problems


def list_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() in (".yaml", ".yml", ".csv") and p.is_file()
    )


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
                problems.append(
                    Problem(sub.origin, f"duplicate of {sub.email} (first at {first_seen[key]})")
                )
                continue
            first_seen[key] = sub.origin
            everyone.append(sub)
    return everyone, problems


def load(
    folder: Path, topics: set[str], statuses: dict[str, str] | None = None
) -> list[Subscriber]:
    """Active subscribers of the valid records (``check`` reports the others).

    One bad record must not cost everyone else the edition, so it is skipped here; a file
    that cannot be read at all (broken YAML, not UTF-8) still raises ConfigError.
    """
    everyone, _ = check(folder, topics)
    statuses = statuses or {}
    return [s for s in everyone if statuses.get(s.email.lower(), "active") == "active"]


def same_address(a: str, b: str) -> bool:
    """Whether two written addresses are the same subscriber (case-insensitive)."""
    try:
        return normalize_email(a).lower() == normalize_email(b).lower()
    except ValueError:
        return a.strip().lower() == b.strip().lower()
