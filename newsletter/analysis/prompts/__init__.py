"""Prompt templates: one versioned file per task and language under ``prompts/``.

A file starts with ``version: NAME`` and has three parts, ``=== system ===``, ``=== user ===`` and
``=== repair ===``, whose ``$placeholders`` are filled with ``string.Template``. ``llm.prompt_dir``
points to a folder of edited copies; the cache key holds the version and a hash of the text, so an
edited prompt is never answered from the cache of the old one.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ...errors import ConfigError

_PART = re.compile(r"^=== (system|user|repair) ===\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Prompt:
    """One loaded template file."""

    path: str
    version: str
    parts: dict[str, str]
    digest: str

    def render(self, part: str, **values: object) -> str:
        """The part with its placeholders filled; a missing value is a settings error."""
        try:
            return string.Template(self.parts[part]).substitute(
                {k: str(v) for k, v in values.items()}
            )
        except (KeyError, ValueError) as exc:
            raise ConfigError(
                f"{self.path}: the '{part}' part uses an unknown or malformed placeholder ({exc})"
            ) from None

    def repair_messages(
        self, messages: list[dict[str, str]], answer: str, problems: list[str]
    ) -> list[dict[str, str]]:
        """The conversation so far, the answer, and one repair request naming its problems."""
        if len(answer) > MAX_QUOTED_ANSWER:
            # A runaway answer is not sent back whole: the problems say what was wrong.
            answer = f"{answer[:MAX_QUOTED_ANSWER]}… [cut: {len(answer):,} characters in all]"
        return messages + [
            {"role": "assistant", "content": answer},
            {
                "role": "user",
                "content": self.render("repair", problems="\n".join(f"- {p}" for p in problems)),
            },
        ]


MAX_QUOTED_ANSWER = 40_000  # characters of a previous answer quoted back in a repair


def parse(text: str, where: str) -> Prompt:
    """A template file's text as a Prompt, or ConfigError naming the file."""
    first, _, rest = text.partition("\n")
    if not first.startswith("version:") or not first.split(":", 1)[1].strip():
        raise ConfigError(f"{where}:1: a prompt file starts with 'version: NAME'")
    pieces = _PART.split(rest)
    parts = {pieces[i]: pieces[i + 1].strip() for i in range(1, len(pieces) - 1, 2)}
    missing = [p for p in ("system", "user", "repair") if p not in parts]
    if missing:
        raise ConfigError(
            f"{where}: missing part(s) {', '.join(missing)} "
            "(each starts with a line '=== NAME ===')"
        )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return Prompt(where, first.split(":", 1)[1].strip(), parts, digest)


def load(task: str, language: str, prompt_dir: str = "") -> Prompt:
    """The template for ``task`` ("analyze" or "recommend") in ``language``."""
    name = f"{task}.{language}.txt"
    if prompt_dir:
        path = Path(prompt_dir) / name
        if not path.is_file():
            raise ConfigError(f"llm.prompt_dir: {path} not found")
        return parse(path.read_text(encoding="utf-8"), str(path))
    bundled = resources.files("newsletter") / "analysis" / "prompts" / name
    if not bundled.is_file():
        raise ConfigError(f"no bundled prompt {name} for language '{language}'")
    return parse(bundled.read_text(encoding="utf-8"), f"newsletter/analysis/prompts/{name}")
