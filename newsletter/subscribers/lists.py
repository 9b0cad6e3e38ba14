"""Reading the subscriber lists: every record checked, each problem with its file and line.

Built for lists of a million: each file is read once as a stream (``records``), a plainly
valid ASCII address is checked by one regular expression (email_validator takes ~50 µs an
address; it still decides every other one), topic lists are split and checked once per
distinct value, and equal topic lists share one tuple.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES as _SPECIAL_USE
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from ..models import Subscriber
from .records import compose, csv_records, read_text, yaml_records

__all__ = ["FIELDS", "LANGUAGES", "Problem", "check", "compose", "load", "read_text"]

FIELDS = ("email", "name", "topics", "exclude", "language")
_FIELDS = frozenset(FIELDS)
LANGUAGES = ("ko", "en")
SHOWN = 80  # a value quoted in a problem is cut to this many characters


@dataclass(frozen=True)
class Problem:
    where: str  # file:line
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def shown(value: Any, limit: int = SHOWN) -> str:
    """``repr(value)``, cut to ``limit`` characters: a problem line stays one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A plainly valid ASCII address: dot-atom local part (a common subset of its characters),
# letter-digit-hyphen labels, an alphabetic top-level domain.
_LOCAL = r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN = re.compile(rf"({_LOCAL})@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
_RESERVED = re.compile(
    r"(?:^|\.)(?:" + "|".join(re.escape(d) for d in _SPECIAL_USE) + r")\Z", re.IGNORECASE
)


def plain_address(address: str) -> str | None:
    """The normalized form of a plainly valid ASCII address, as email_validator gives it;
    None for anything else (which email_validator then decides)."""
    match = _PLAIN.fullmatch(address)
    if match is None or len(address) > 254:
        return None
    local, domain = match.groups()
    if (
        len(local) > 64
        or len(domain) > 253
        or "--" in domain  # Punycode and R-LDH labels: email_validator's rules
        or _RESERVED.search(domain)
        or local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES
    ):
        return None
    return f"{local}@{domain.lower()}"


def normalize_email(address: str) -> str:
    """Validated, normalized ASCII address (domain lower-cased); raises ValueError if invalid."""
    address = address.strip()
    plain = plain_address(address)
    if plain is not None:
        return plain
    try:
        # Our transports do not speak SMTPUTF8: a non-ASCII local part cannot be put in a
        # To: header or an SMTP envelope, so it is refused here rather than at send time.
        # strict: RFC 5321's 64 characters before the @ (email_validator allows more).
        result = validate_email(
            address, check_deliverability=False, allow_smtputf8=False, strict=True
        )
    except EmailNotValidError as exc:
        raise ValueError(str(exc).rstrip(".")[:200]) from None
    # An internationalized domain in its ASCII (IDNA) form: the form a header can carry.
    return result.ascii_email or result.normalized


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class _Reader:
    """Checks records into subscribers; topic values split and checked once each."""

    def __init__(self, topics: set[str]) -> None:
        self.topics = topics
        self.split: dict[Any, tuple[str, ...]] = {}
        self.bad: dict[tuple[str, ...], list[str]] = {}

    def topic_list(self, value: Any) -> tuple[str, ...]:
        key = tuple(value) if isinstance(value, list) else value
        try:
            return self.split[key]
        except KeyError:
            pass
        except TypeError:  # a list holding lists or mappings
            raise TypeError("expected a list of topic names") from None
        if value is None or value == "":
            out: tuple[str, ...] = ()
        elif isinstance(value, str):
            out = tuple(v.strip() for v in value.replace(";", ",").split(",") if v.strip())
        elif isinstance(value, list):
            out = tuple(str(v).strip() for v in value if str(v).strip())
        else:
            raise TypeError(
                f"expected a list or a comma-separated string, got {type(value).__name__}"
            )
        out = self.split.setdefault(out, out)  # equal lists share one tuple
        if len(self.split) < 100_000:
            self.split[key] = out
        return out

    def unknown(self, wanted: tuple[str, ...], excluded: tuple[str, ...]) -> list[str]:
        key = wanted + ("",) + excluded
        if key not in self.bad:
            self.bad[key] = sorted({t for t in wanted + excluded if t not in self.topics})
        return self.bad[key]

    def subscriber(self, data: Any, where: str) -> Subscriber | Problem:
        """The subscriber a record describes, or the record's first problem."""
        if not isinstance(data, dict):
            return Problem(where, "expected a mapping with at least 'email'")
        if not data.keys() <= _FIELDS:
            unknown = [k for k in data if k not in _FIELDS]
            keys = ", ".join(sorted(shown(k, 40) if not isinstance(k, str) else k for k in unknown))
            return Problem(where, f"unknown field(s) {keys[:200]}")
        raw = data.get("email")
        try:
            email = normalize_email(str(raw or ""))
        except ValueError as exc:
            return Problem(where, f"invalid address {shown(raw)}: {exc}")
        try:
            wanted = self.topic_list(data.get("topics"))
            excluded = self.topic_list(data.get("exclude"))
        except TypeError as exc:
            return Problem(where, str(exc))
        bad = self.unknown(wanted, excluded)
        if bad:
            names = shown(", ".join(bad), 200)[1:-1]
            return Problem(
                where,
                f"unknown topic(s) {names} for {email} (known: {', '.join(sorted(self.topics))})",
            )
        language = str(data.get("language") or "") or None
        if language and language not in LANGUAGES:
            return Problem(where, f"unknown language {shown(language)} for {email}")
        name = str(data.get("name") or "")
        if _CONTROL.search(name):
            return Problem(where, f"name of {email} contains a line break or control character")
        return Subscriber(email, name, wanted, excluded, language, where)


def read_file(path: Path, topics: set[str]) -> tuple[list[Subscriber], list[Problem]]:
    """Subscribers of one file, and every problem found in it (file and line each)."""
    return _read(path, _Reader(topics))


def _read(path: Path, reader: _Reader) -> tuple[list[Subscriber], list[Problem]]:
    records = csv_records(path) if path.suffix.lower() == ".csv" else yaml_records(path)
    found: list[Subscriber] = []
    problems: list[Problem] = []
    name = str(path)
    for line, data in records:
        result = reader.subscriber(data, f"{name}:{line}")
        if isinstance(result, Problem):
            problems.append(result)
        else:
            found.append(result)
    return found, problems


def list_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() in (".yaml", ".yml", ".csv") and p.is_file()
    )


def check(folder: Path, topics: set[str]) -> tuple[list[Subscriber], list[Problem]]:
    """All subscribers in ``folder`` and every problem (invalid, unknown topic, duplicate)."""
    everyone, problems, _ = read_folder(folder, topics)
    return everyone, problems


def read_folder(
    folder: Path, topics: set[str]
) -> tuple[list[Subscriber], list[Problem], dict[str, Subscriber]]:
    """``check``, and each subscriber by lower-cased address."""
    everyone: list[Subscriber] = []
    problems: list[Problem] = []
    first_seen: dict[str, Subscriber] = {}
    reader = _Reader(topics)
    for path in list_files(folder):
        found, trouble = _read(path, reader)
        problems += trouble
        for sub in found:
            key = sub.email.lower()
            if key == sub.email:
                key = sub.email  # one string object, not two equal ones
            if key in first_seen:
                first = first_seen[key].origin
                problems.append(Problem(sub.origin, f"duplicate of {sub.email} (first at {first})"))
                continue
            first_seen[key] = sub
            everyone.append(sub)
    return everyone, problems, first_seen


def active(everyone: Iterable[Subscriber], statuses: dict[str, str]) -> list[Subscriber]:
    """Those of ``everyone`` who did not leave (the store's statuses win over the files)."""
    if not statuses:
        return list(everyone)
    return [s for s in everyone if statuses.get(s.email.lower(), "active") == "active"]


def load(
    folder: Path, topics: set[str], statuses: dict[str, str] | None = None
) -> list[Subscriber]:
    """Active subscribers of the valid records (``check`` reports the others).

    One bad record must not cost everyone else the edition, so it is skipped here; a file
    that cannot be read at all (broken YAML, not UTF-8) still raises ConfigError.
    """
    everyone, _ = check(folder, topics)
    return active(everyone, statuses or {})


def same_address(a: str, b: str) -> bool:
    """Whether two written addresses are the same subscriber (case-insensitive)."""
    try:
        return normalize_email(a).lower() == normalize_email(b).lower()
    except ValueError:
        return a.strip().lower() == b.strip().lower()
