"""The records of one list file, read as a stream with the line each starts on.

A list of a million subscribers is read once, in time linear in the file and without holding
a second copy of it: CSV through the csv module from the file, YAML as libyaml's parser
events (``yaml.CSafeLoader`` when PyYAML has it) turned into plain values here. YAML anchors
and aliases are refused (a few hundred bytes of them expand to gigabytes), and so is nesting
deeper than a record needs; a CSV field the csv module refuses (over 128 KB: typically a
quote left open that swallows the rest of the file) is one error naming the line it starts.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 4  # a list of records, a record, its topic list: anything deeper is not a list
_STR = "tag:yaml.org,2002:str"


def _at(event: Any) -> int:
    """The 1-based line an event starts on."""
    return int(event.start_mark.line) + 1 if event.start_mark is not None else 0


def not_utf8(path: Path, data: bytes | None = None) -> ConfigError:
    """The error for a file that is not UTF-8, naming the first bad byte's offset."""
    data = path.read_bytes() if data is None else data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ConfigError(
            f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        )
    return ConfigError(f"{path}: not UTF-8; save it as UTF-8")


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """A list file's text; bytes that are not UTF-8 are a ConfigError naming the offset."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise not_utf8(path, data) from None
    if encoding == "utf-8-sig":
        text = text.removeprefix("\ufeff")
    return text


def yaml_error(path: Path, exc: yaml.YAMLError) -> ConfigError:
    """Broken YAML as one line naming file:line."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or str(exc)
    return ConfigError(f"{where}: invalid YAML: {problem}")


def compose(path: Path, text: str) -> yaml.Node | None:
    """The YAML node tree of a list file (for editing it); broken YAML is a ConfigError."""
    try:
        return yaml.compose(text, Loader=Loader)
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None


# -- CSV ---------------------------------------------------------------------------------------


def csv_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, {field: value}) per data row; the header names the fields (lower-cased)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header: list[str] | None = None
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise ConfigError(
                        f"{path}:{start}: unreadable CSV record ({exc}; a quote left "
                        "open?); fix the file"
                    ) from None
                if not row:
                    continue  # a blank line
                if header is None:
                    header = [k.strip().lower() for k in row]
                    continue
                record: dict[str, Any] = dict(zip(header, map(str.strip, row), strict=False))
                if len(row) > len(header):
                    record[""] = "more fields than the header has"
                yield start, record
    except UnicodeDecodeError:
        raise not_utf8(path) from None


# -- YAML ------------------------------------------------------------------------------------


class _Events:
    """libyaml's events for one file, turned into plain values the way SafeLoader would."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self.loader = Loader(data)
        self.get = self.loader.get_event
        self.known: dict[str, Any] = {}  # plain scalars seen, by text (short ones)

    def refuse(self, event: Any) -> ConfigError:
        return ConfigError(
            f"{self.path}:{_at(event)}: YAML anchors and aliases (& and *) are not allowed "
            "in a subscriber list; write each record out"
        )

    def next(self) -> Any:
        event = self.get()
        if type(event) is yaml.AliasEvent or getattr(event, "anchor", None):
            raise self.refuse(event)
        return event

    def value(self, event: Any, depth: int = 1) -> Any:
        """The value of the node that starts with ``event`` (its later events consumed)."""
        kind = type(event)
        if kind is yaml.ScalarEvent:
            return self.scalar(event)
        if kind is yaml.AliasEvent or event.anchor is not None:
            raise self.refuse(event)
        if depth > MAX_DEPTH:
            raise ConfigError(f"{self.path}:{_at(event)}: nested deeper than a record can be")
        if kind is yaml.SequenceStartEvent:
            items = []
            while type(item := self.get()) is not yaml.SequenceEndEvent:
                items.append(self.value(item, depth + 1))
            return items
        if kind is yaml.MappingStartEvent:
            mapping: dict[Any, Any] = {}
            while type(key := self.get()) is not yaml.MappingEndEvent:
                name = self.value(key, depth + 1)
                try:
                    mapping[name] = self.value(self.get(), depth + 1)
                except TypeError:
                    raise ConfigError(
                        f"{self.path}:{_at(key)}: a mapping key must be a plain value"
                    ) from None
            return mapping
        raise ConfigError(f"{self.path}:{_at(event)}: unexpected YAML structure")

    def scalar(self, event: Any) -> Any:
        if event.anchor is not None:
            raise self.refuse(event)
        tag, text = event.tag, event.value
        if tag is not None and tag != "!":
            return self._construct(tag, event)
        if not event.implicit[0]:
            return text  # quoted: a string (yaml.resolver)
        # A plain scalar's tag comes from the implicit resolvers, as yaml.composer does it.
        # None of SafeLoader's (bool, int, float, null, timestamp, merge, value) matches a
        # text with an '@': an address is a string without asking them.
        if "@" in text:
            return text
        if text in self.known:
            return self.known[text]
        value = self._construct(self.loader.resolve(yaml.ScalarNode, text, (True, False)), event)
        if len(text) <= 40 and len(self.known) < 10_000:
            self.known[text] = value
        return value

    def _construct(self, tag: str, event: Any) -> Any:
        if tag == _STR:
            return event.value
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        constructors = self.loader.yaml_constructors
        return constructors.get(tag, constructors[None])(self.loader, node)


def yaml_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line, value) per item of the file's list (a top-level list or ``subscribers:``)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise not_utf8(path, data) from None
    events = _Events(path, data)
    try:
        yield from _items(events)
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None
    finally:
        events.loader.dispose()


def _items(events: _Events) -> Iterator[tuple[int, Any]]:
    events.next()  # stream start
    if isinstance(events.loader.peek_event(), yaml.StreamEndEvent):
        return
    events.next()  # document start
    root = events.next()
    if isinstance(root, yaml.MappingStartEvent):
        # Also accept {subscribers: [...]}: the other keys' values are read and left.
        found = None
        while type(key := events.next()) is not yaml.MappingEndEvent:
            name = events.value(key)
            start = events.next()
            wanted = name == "subscribers" and found is None
            if wanted and isinstance(start, yaml.SequenceStartEvent):
                found = start
                yield from _sequence(events)
            else:
                events.value(start, 2)
        if found is None:
            raise ConfigError(f"{events.path}:{_at(root)}: expected a list of subscribers")
    elif isinstance(root, yaml.SequenceStartEvent):
        yield from _sequence(events)
    elif not (isinstance(root, yaml.ScalarEvent) and root.value == "" and root.implicit[0]):
        raise ConfigError(f"{events.path}:{_at(root)}: expected a list of subscribers")
    events.next()  # document end
    extra = events.next()
    if not isinstance(extra, yaml.StreamEndEvent):
        raise ConfigError(
            f"{events.path}:{_at(extra)}: more than one YAML document; a subscriber list is one"
        )


def _sequence(events: _Events) -> Iterator[tuple[int, Any]]:
    while type(event := events.get()) is not yaml.SequenceEndEvent:
        yield _at(event), events.value(event, 2)
