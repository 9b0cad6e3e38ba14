"""Templates: bundled from the top-level templates/ folder, overridden by an operator's folder
(./templates or ``edition.templates_dir``), a broken override named by file and line, and a
real non-editable install that still finds the bundled ones."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import REPO
from support.render_edition import DAY, load_cards, write_edition
from support.sent import as_sent

from newsletter.cli import cli
from newsletter.config import load_settings
from newsletter.errors import ConfigError, RenderError
from newsletter.render import templates
from newsletter.stages.build import build
from newsletter.stages.deliver import load_variants


def test_the_bundled_templates_are_the_repositorys_top_level_folder() -> None:
    assert templates.bundled_dir().resolve() == (REPO / "templates").resolve()
    assert not (REPO / "newsletter" / "templates").exists()
    names = {p.relative_to(REPO / "templates").as_posix() for p in REPO.glob("templates/**/*")}
    assert {"edition.mjml.j2", "edition.txt.j2", "partials/card.mjml.j2"} <= names


def _override(folder: Path, name: str, edit: tuple[str, str] | None = None, text: str = "") -> None:
    """Copy the bundled ``name`` into ``folder`` with one replacement, or write ``text``."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if edit is not None:
        bundled = (REPO / "templates" / name).read_text(encoding="utf-8")
        assert edit[0] in bundled
        text = bundled.replace(edit[0], edit[1], 1)
    path.write_text(text, encoding="utf-8")


def _sent_html(settings_root: Path) -> str:
    """The HTML part as sent of the first variant built under ``settings_root``."""
    settings = load_settings(settings_root / "newsletter.toml", env={})
    edition = build(settings, DAY, progress=lambda _: None)
    return as_sent(load_variants(settings, edition)[edition.variants[0].key]).html


def test_a_templates_folder_in_the_working_directory_overrides_by_name(
    workdir: Path,
) -> None:
    write_edition(workdir, load_cards()[:2])
    _override(workdir / "templates", "partials/inline.css", (".toc{", ".toc{letter-spacing:1px;"))
    html = _sent_html(workdir)
    assert "letter-spacing:1px" in html
    assert 'class="toc"' in html  # every other template is still the bundled one


def test_the_setting_names_the_folder_and_a_change_there_rebuilds(tmp_path: Path) -> None:
    folder = tmp_path / "my-templates"
    _override(folder, "partials/footer.mjml.j2", ("{{ L.why_receive }}", "Operator footer"))
    settings = write_edition(
        tmp_path, load_cards()[:2], settings_toml=f'[edition]\ntemplates_dir = "{folder}"\n'
    )
    lines: list[str] = []
    first = build(settings, DAY, progress=lines.append)
    html = (settings.layout.edition(DAY).variants / f"{first.variants[0].key}.html").read_text()
    assert "Operator footer" in html
    assert build(settings, DAY, progress=lines.append).built_at == first.built_at  # unchanged
    _override(folder, "partials/footer.mjml.j2", ("{{ L.why_receive }}", "Footer v2"))
    again = build(settings, DAY, progress=lines.append)
    assert again.built_at != first.built_at
    assert any("rebuilding (settings, templates or subscribers changed)" in x for x in lines)


def test_a_missing_templates_folder_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"edition.templates_dir: .*nowhere is not a folder"):
        write_edition(
            tmp_path, load_cards()[:1], settings_toml='[edition]\ntemplates_dir = "nowhere"\n'
        )


@pytest.mark.parametrize(
    ("name", "edit", "what"),
    [
        ("partials/card.mjml.j2", ("{% if s.problem %}", "{% if s.problem %"), "unexpected"),
        ("partials/header.mjml.j2", ("{{ date }}", "{{ date.nope() }}"), "UndefinedError"),
    ],
)
def test_a_broken_override_is_one_line_naming_file_and_line(
    workdir: Path, name: str, edit: tuple[str, str], what: str
) -> None:
    write_edition(workdir, load_cards()[:1])
    _override(workdir / "templates", name, edit)
    text = (workdir / "templates" / name).read_text(encoding="utf-8")
    line_no = text[: text.index(edit[1])].count("\n") + 1
    result = CliRunner().invoke(cli, ["build", "--date", DAY])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("Error:")]
    assert f"{workdir / 'templates' / name}:{line_no}: " in line and what in line, line
    with pytest.raises(RenderError):
        build(load_settings(workdir / "newsletter.toml", env={}), DAY, force=True)


def test_a_non_editable_install_ships_the_templates_and_runs_the_sample_day(
    tmp_path: Path,
) -> None:
    """``pip install`` of the built wheel into a fresh venv, then the README's first command.

    Offline: the wheel is built with this venv's setuptools (no build isolation), and the new
    venv borrows this one's dependencies through a .pth file, so nothing is downloaded.
    """
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build_dir = tmp_path / "src"  # a copy, so the build leaves nothing in the checkout
    _copy_tracked(REPO, build_dir)
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels)]
        + [str(build_dir)],
        check=True,
        capture_output=True,
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = wheels.glob("newsletter-*.whl")
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run(
        [str(venv / "bin" / "newsletter"), "send", "--date", DAY, "--replay", "sample"],
        cwd=empty,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (Path(site) / "newsletter" / "templates" / "partials" / "card.mjml.j2").is_file()
    assert len(list((empty / "data" / "outbox" / DAY).glob("*.eml"))) == 4
    where = subprocess.run(
        [str(python), "-c", "import newsletter.render.templates as t; print(t.bundled_dir())"],
        cwd=empty,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where == str(Path(site) / "newsletter" / "templates")


def _copy_tracked(repo: Path, target: Path) -> None:
    """What a wheel is built from (git's files, and new ones not ignored), under ``target``."""
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
        + ["pyproject.toml", "setup.py", "README.md", "newsletter", "templates"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = repo / name
        if source.is_file():
            dest = target / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(source.read_bytes())
