"""Where the email templates come from: an operator's folder first, then the bundled ones.

The bundled templates live in the repository's top-level ``templates/`` and are installed as
``newsletter/templates/`` (setup.py maps the folder into the package). An override folder (
``edition.templates_dir``, else a ``templates/`` folder in the working directory) is searched
first, file by file: a restyled ``partials/inline.css`` or ``partials/card.mjml.j2`` replaces
the bundled one and everything else stays bundled.
"""

from __future__ import annotations

import traceback
from importlib import resources
from pathlib import Path

import jinja2

from ..errors import ConfigError, RenderError
from ..files import fingerprint, sha256_text


def bundled_dir() -> Path:
    """The bundled templates: inside the installed package, else the source checkout's."""
    installed = Path(str(resources.files("newsletter"))) / "templates"
    if installed.is_dir():
        return installed
    # A source checkout, or an editable install of one: the repository's top-level folder.
    return Path(__file__).resolve().parents[2] / "templates"


def override_dir(configured: str = "", cwd: Path | None = None) -> Path | None:
    """The operator's template folder, if any: ``configured``, else ./templates if present."""
    if configured:
        folder = Path(configured)
        if not folder.is_dir():
            raise ConfigError(f"edition.templates_dir: {folder} is not a folder")
        return folder
    folder = (cwd or Path.cwd()) / "templates"
    if not folder.is_dir() or folder.resolve() == bundled_dir().resolve():
        return None
    return folder


def search_path(override: Path | None) -> list[Path]:
    """The folders a template name is looked up in, first match wins."""
    return [override, bundled_dir()] if override is not None else [bundled_dir()]


def digest(override: Path | None) -> str:
    """A digest of every template file a build may read, overrides included."""
    files = []
    roots = {"bundled": bundled_dir()} | ({"override": override} if override else {})
    # By role rather than path: the same templates installed elsewhere are the same build.
    for role, root in roots.items():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            files.append((role, path.relative_to(root).as_posix(), sha256_text(read(path))))
    return fingerprint(files)


def read(path: Path) -> str:
    """A template file's text (e.g. partials/inline.css, which Jinja does not render)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RenderError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def find(env: jinja2.Environment, name: str) -> Path:
    """The file a template name resolves to on the environment's search path."""
    for folder in search_path_of(env).split(", "):
        path = Path(folder) / name
        if path.is_file():
            return path
    raise RenderError(f"template {name} not found in {search_path_of(env)}")


def search_path_of(env: jinja2.Environment) -> str:
    """The folders of an environment's loader, for messages."""
    loader = env.loader
    loaders = loader.loaders if isinstance(loader, jinja2.ChoiceLoader) else [loader]
    folders = [
        p for item in loaders if isinstance(item, jinja2.FileSystemLoader) for p in item.searchpath
    ]
    return ", ".join(folders)


def template_error(exc: Exception) -> RenderError:
    """One line naming the template file and line where rendering failed."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = exc.filename or exc.name or "template"
        return RenderError(f"{where}:{exc.lineno}: {exc.message}")
    # Jinja rewrites the traceback so that a template's frames carry its file and line.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    if frames:
        where = f"{frames[-1].filename}:{frames[-1].lineno}"
        return RenderError(f"{where}: {type(exc).__name__}: {exc}")
    return RenderError(f"template error: {type(exc).__name__}: {exc}")
