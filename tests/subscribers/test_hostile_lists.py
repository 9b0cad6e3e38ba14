"""Hostile subscriber lists through the real CLI: each ends in one short line naming the file
and line, quickly, and the lists are read once per command whatever their size."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from support.cli import run
from support.delivery_servers import DAY, make_site, subscriber_rows

from newsletter.config import load_settings
from newsletter.delivery.transports.outbox import OutboxTransport
from newsletter.stages.build import build
from newsletter.stages.deliver import deliver, delivery_plan
from newsletter.store import Store
from newsletter.subscribers import check, read_lists

TOPICS = {"llm", "agents", "vision"}


def write(root: Path, name: str, data: str) -> Path:
    folder = root / "subscribers"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(data, encoding="utf-8")
    return path


def one_short_error(result: Result, expected: str) -> None:
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output[:2000]
    assert errors[0].startswith(f"Error: {expected}"), errors[0][:300]
    assert len(errors[0]) < 300


def test_a_csv_field_over_128_kb_is_one_line_naming_file_and_line(workdir: Path) -> None:
    write(
        workdir,
        "list.csv",
        "email,name\nok@example.com,Ok\nbig@example.com," + "x" * 200_000 + "\nc@example.com,C\n",
    )
    for args in (["subscribers", "check"], ["send", "--date", DAY, "--replay", "sample"]):
        one_short_error(run(*args, code=1), "subscribers/list.csv:3: unreadable CSV record")
    assert not (workdir / "data" / "outbox").exists()  # nobody is sent a partial list


def test_a_quote_left_open_in_a_csv_names_the_line_it_opens(workdir: Path) -> None:
    rows = "".join(f"r{i}@example.com,Reader {i}\n" for i in range(8000))
    write(workdir, "list.csv", 'email,name\na@example.com,"Open quote\n' + rows)
    one_short_error(
        run("subscribers", "check", code=1), "subscribers/list.csv:2: unreadable CSV record"
    )


BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["subscribers: [{email: x@example.com, name: *i}]"]
)


def test_a_yaml_alias_bomb_is_refused_at_the_first_anchor(workdir: Path) -> None:
    assert len(BOMB) < 800  # 9**9 strings once expanded
    write(workdir, "list.yaml", BOMB)
    for args in (["subscribers", "check"], ["subscribers", "list"], ["build", "--date", DAY]):
        one_short_error(
            run(*args, code=1),
            "subscribers/list.yaml:1: YAML anchors and aliases (& and *) are not allowed",
        )


def test_a_yaml_alias_in_a_record_is_refused_too(workdir: Path) -> None:
    write(
        workdir,
        "list.yaml",
        "- email: a@example.com\n  topics: &t [llm]\n- email: b@example.com\n  topics: *t\n",
    )
    one_short_error(run("subscribers", "check", code=1), "subscribers/list.yaml:2: YAML anchors")


def test_a_70_character_local_part_is_refused_with_a_clear_reason(workdir: Path) -> None:
    long = "a" * 70 + "@example.com"
    write(workdir, "list.yaml", f"- email: {long}\n- email: ok@example.com\n")
    out = run("subscribers", "check", code=1).output
    assert (
        "subscribers/list.yaml:1: invalid address 'aaaa" in out
        and "too long before the @-sign (6 characters too many)" in out
    )
    assert "1 valid subscribers, 1 problems" in out
    result = run("send", "--date", DAY, "--replay", "sample", code=1)
    assert "sent 1," in result.output
    assert sorted(p.name for p in (workdir / "data" / "outbox" / DAY).iterdir()) == [
        "ok@example.com.eml"
    ]


def test_a_megabyte_address_is_quoted_cut_short(workdir: Path) -> None:
    write(workdir, "list.yaml", "- email: '" + "é" * 1_000_000 + "@example.com'\n")
    out = run("subscribers", "check", code=1).output
    first = out.splitlines()[0]
    assert first.startswith("subscribers/list.yaml:1: invalid address 'éé") and len(first) < 400


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        (
            "nested-too-deep",
            "- email: a@example.com\n  topics: [[[[llm]]]]\n",
            "list.yaml:2: nested",
        ),
        ("unknown-tag", "- email: !!python/object:os.system a@example.com\n", "list.yaml:1: "),
        (
            "two-documents",
            "- email: a@example.com\n---\n- email: b@example.com\n",
            "list.yaml:2: more",
        ),
        ("list-as-key", "- ? [a, b]\n  : c\n", "list.yaml:1: "),
        ("scalar-root", "just text\n", "list.yaml:1: expected a list of subscribers"),
        ("mapping-without-list", "subscribers: none\n", "list.yaml:1: expected a list"),
    ],
)
def test_yaml_that_is_not_a_list_of_records_is_one_line(
    workdir: Path, name: str, data: str, expected: str
) -> None:
    write(workdir, "list.yaml", data)
    one_short_error(run("subscribers", "check", code=1), f"subscribers/{expected}")


def test_yaml_values_and_lines_read_as_safe_load_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(
        "# header comment\n"
        "subscribers:\n"
        "  - {email: a@example.com, name: !!str 123, topics: [llm, agents]}\n"
        "  -\n"
        "    email: B@Example.COM\n"
        "    name: yes\n"
        "    topics: 'vision'\n"
        "    language: en\n"
        "  - email: c@example.com\n"
        "    name: 12\n"
        "    topics: llm;agents\n"
        "other: [1, 2]\n",
        encoding="utf-8",
    )
    found, problems = check(tmp_path, TOPICS)
    assert problems == []
    assert [(s.email, s.name, s.topics, s.language, s.origin) for s in found] == [
        ("a@example.com", "123", ("llm", "agents"), None, f"{path}:3"),
        ("B@example.com", "True", ("vision",), "en", f"{path}:5"),
        ("c@example.com", "12", ("llm", "agents"), None, f"{path}:9"),
    ]
    # Equal topic choices share one tuple: a million subscribers hold a few dozen of them.
    assert found[0].topics is found[2].topics


def test_csv_rows_with_more_fields_than_the_header_are_a_problem(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text(
        "email,name\n\na@example.com,A\nb@example.com,B,extra\n", encoding="utf-8"
    )
    found, problems = check(tmp_path, TOPICS)
    assert [s.email for s in found] == ["a@example.com"]
    assert [str(p) for p in problems] == [f"{tmp_path / 'l.csv'}:4: unknown field(s) "]


def test_build_and_delivery_use_the_lists_the_command_read(workdir: Path) -> None:
    # The files are gone once read: whatever reads them again finds nobody.
    rows = subscriber_rows(30, ["", "llm", "vision"])
    make_site(workdir, rows)
    settings = load_settings(None)
    lists = read_lists(settings)
    for path in (workdir / "subscribers").iterdir():
        path.unlink()
    edition = build(settings, DAY, force=True, lists=lists, progress=lambda _: None)
    assert sum(v.subscriber_count for v in edition.variants) == 30
    store = Store(settings.layout.store)
    planned = list(delivery_plan(settings, DAY, store, lists))
    assert [email for email, *_ in planned] == sorted(r["email"] for r in rows)
    summary = deliver(
        settings, DAY, store=store, transport=OutboxTransport(workdir / "out"), lists=lists
    )
    assert summary.sent == 30 and len(list((workdir / "out").iterdir())) == 30
