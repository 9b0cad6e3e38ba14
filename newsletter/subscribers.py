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
from .files import write_atomic
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


def _compose(path: Path, text: str) -> yaml.Node | None:
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
    root = _compose(path, text)
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


def wants(sub: Subscriber, paper_topics: list[str]) -> bool:
    """A subscriber receives a paper whose topics meet theirs (none = all), minus excluded."""
    if set(paper_topics) & set(sub.exclude):
        return False
    return not sub.topics or bool(set(paper_topics) & set(sub.topics))


# -- editing the files ------------------------------------------------------------------------

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
    root = _compose(path, text)
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
    text = read_text(path, "utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    out = []
    start = 1  # the header is line 0
    for row in reader:
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        out.append(Entry(path, start, reader.line_num, clean.get("email", "")))
        start = reader.line_num
    return out


def entries(folder: Path) -> list[Entry]:
    """Every record of every list file, with its line span (to edit files in place)."""
    out: list[Entry] = []
    for path in list_files(folder):
        out += _spans_csv(path) if path.suffix.lower() == ".csv" else _spans_yaml(path)
    return out


def same_address(a: str, b: str) -> bool:
    """Whether two written addresses are the same subscriber (case-insensitive)."""
    try:
        return normalize_email(a).lower() == normalize_email(b).lower()
    except ValueError:
        return a.strip().lower() == b.strip().lower()


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
        root = _compose(path, text)
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
