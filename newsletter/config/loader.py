"""The one loader: newsletter.toml, then NEWSLETTER_* variables, then secrets and checks.

Environment overrides use double underscores for nesting, e.g. ``NEWSLETTER_LLM__BASE_URL`` or
``NEWSLETTER_EDITION__RANKED=3``; values are parsed as TOML scalars/arrays when they parse, and
as plain strings otherwise. Secrets are never read from the file, only from the variables whose
names the settings give (``llm.api_key_env``, ``delivery.smtp.password_env``, ...).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from . import checks
from .secrets import read_secrets
from .sections import Settings

ENV_PREFIX = "NEWSLETTER_"
DEFAULT_CONFIG_NAME = "newsletter.toml"


def load_settings(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    data_dir: str | Path | None = None,
) -> Settings:
    """Settings from ``path`` (or ./newsletter.toml if present) and the environment, checked.

    Every check runs here, before any stage: a problem is one ConfigError naming the file and
    line, or the environment variable.
    """
    env = dict(os.environ) if env is None else env
    raw: dict[str, Any] = {}
    text = ""
    where: Path | None = None
    if path is not None:
        where = Path(path)
        if not where.is_file():
            raise ConfigError(f"{where}: config file not found")
    elif Path(DEFAULT_CONFIG_NAME).is_file():
        where = Path(DEFAULT_CONFIG_NAME)
    if where is not None:
        try:
            text = where.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            line = where.read_bytes()[: exc.start].count(b"\n") + 1
            raise ConfigError(
                f"{where}:{line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}"
                "); save the file as UTF-8"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read the config file ({exc.strerror})") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{where}: invalid TOML: {exc}") from exc
    from_env = _apply_env(raw, env)
    if data_dir is not None:
        raw.setdefault("storage", {})["data_dir"] = str(data_dir)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, where, text, from_env)) from None
    settings.source_path = where
    settings.secrets = read_secrets(
        env,
        llm_api_key=settings.llm.api_key_env,
        smtp_password=settings.delivery.smtp.password_env,
        unsubscribe_key=settings.delivery.unsubscribe_secret_env,
        github_token=settings.sources.github.token_env,
    )
    for key, problem in checks.problems(settings):
        raise ConfigError(f"{_where(key, where, text, from_env)}: {problem}")
    return settings


def _where(
    key: tuple[str, ...], where: Path | None, text: str, from_env: dict[tuple[str, ...], str]
) -> str:
    """'newsletter.toml:7', 'environment NEWSLETTER_A__B' or 'settings' for a key path."""
    variable = from_env.get(key)
    if variable:
        return f"environment {variable}"
    line = _find_line(text, key) if text else None
    origin = str(where) if where else "settings"
    return f"{origin}:{line}" if line else origin


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """Apply NEWSLETTER_A__B overrides; returns each overridden key path -> variable name."""
    applied: dict[tuple[str, ...], str] = {}
    secrets = {
        "NEWSLETTER_LLM_API_KEY",
        "NEWSLETTER_SMTP_PASSWORD",
        "NEWSLETTER_UNSUBSCRIBE_SECRET",
    }
    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name in secrets or "__" not in name:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        node = raw
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment {name}: {'.'.join(parts)} is not a table")
            node = child
        key = "from" if parts[-1] == "from" else parts[-1]
        node[key] = _parse_env_value(value)
        applied[(*parts[:-1], key)] = name
    return applied


def _parse_env_value(value: str) -> Any:
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _describe(
    exc: ValidationError,
    where: Path | None,
    text: str,
    from_env: dict[tuple[str, ...], str] | None = None,
) -> str:
    # An unknown key (a typo) explains a "Field required" next to it, so it is named first.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    key = ".".join(str(p) for p in err["loc"])
    variable = next(
        (
            name
            for path, name in (from_env or {}).items()
            if tuple(str(p) for p in err["loc"][: len(path)]) == path
        ),
        None,
    )
    origin = str(where) if where else "settings"
    line = _find_line(text, err["loc"]) if text and variable is None else None
    loc = f"environment {variable}" if variable else f"{origin}:{line}" if line else origin
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key '{key}'{more}"
    return f"{loc}: '{key}': {err['msg'].removeprefix('Value error, ')}{more}"


def _find_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best effort: the line where the failing key is written (tomllib gives no positions)."""
    for i, part in enumerate(loc):
        if isinstance(part, int) and i:
            # An item of an array of tables ([[sources.feeds]]): its own lines, from the
            # header of that item to the next table header.
            item = _array_item_lines(text, str(loc[i - 1]), part)
            if item is not None:
                first, last = item
                found = (
                    _find_line("\n".join(text.splitlines()[first - 1 : last]), loc[i + 1 :])
                    if i + 1 < len(loc)
                    else None
                )
                return first - 1 + found if found else first
    leaf = str(loc[-1])
    if isinstance(loc[-1], int) and len(loc) > 1:
        leaf = str(loc[-2])
    pattern = re.compile(
        rf"^\s*(\[+\s*[\w.\"-]*\b{re.escape(leaf)}\b[\w.\"-]*\s*\]+|"
        rf"[\"']?{re.escape(leaf)}[\"']?\s*=)"
    )
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _array_item_lines(text: str, name: str, index: int) -> tuple[int, int] | None:
    """First and last line of item ``index`` of the array of tables ``[[...name]]``."""
    header = re.compile(rf"^\s*\[\[\s*[\w.\"-]*\b{re.escape(name)}\s*\]\]")
    lines = text.splitlines()
    starts = [n for n, line in enumerate(lines, start=1) if header.match(line)]
    if index >= len(starts):
        return None
    first = starts[index]
    last = next(
        (n - 1 for n in range(first + 1, len(lines) + 1) if lines[n - 1].lstrip().startswith("[")),
        len(lines),
    )
    return first, last
