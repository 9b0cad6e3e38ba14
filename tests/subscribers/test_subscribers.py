"""Subscriber lists: reading, every problem with file and line, filters, editing commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support.cli import run

from newsletter.cli import cli
from newsletter.config import Settings
from newsletter.models import Subscriber
from newsletter.routing import wants
from newsletter.store import Store
from newsletter.subscribers import check, load

TOPICS = set(Settings().topics)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_and_csv_read_with_every_problem_located(tmp_path: Path) -> None:
    folder = tmp_path / "subscribers"
    write(
        folder,
        "a.yaml",
        """\
- email: Ok.One@Example.COM
  name: One
  topics: [llm, agents]
  exclude: [safety]
  language: en
- email: not-an-address
- email: two@example.com
  topics: [llm, cooking]
- email: three@example.com
  favourite: tea
- email: four@example.com
  language: fr
- email: five@example.com
  name: "Evil\\r\\nBcc: x@example.com"
""",
    )
    write(
        folder,
        "b.csv",
        "email,name,topics,exclude,language\n"
        'six@example.com,Six,"vision;video",,\n'
        "ok.one@example.com,Dup,,,\n"
        "seven@example.com,,,robotics,ko\n",
    )
    found, problems = check(folder, TOPICS)
    assert [s.email for s in found] == [
        "Ok.One@example.com",
        "six@example.com",
        "seven@example.com",
    ]
    one = found[0]
    assert (one.name, one.topics, one.exclude, one.language) == (
        "One",
        ("llm", "agents"),
        ("safety",),
        "en",
    )
    assert found[1].topics == ("vision", "video")
    text = [str(p) for p in problems]
    a, b = folder / "a.yaml", folder / "b.csv"
    assert text[0].startswith(f"{a}:6: invalid address 'not-an-address'")
    assert text[1].startswith(f"{a}:7: unknown topic(s) cooking for two@example.com")
    assert text[2] == f"{a}:9: unknown field(s) favourite"
    assert text[3] == f"{a}:11: unknown language 'fr' for four@example.com"
    assert text[4].startswith(f"{a}:13: name of five@example.com contains a line break")
    assert text[5] == f"{b}:3: duplicate of ok.one@example.com (first at {a}:1)"
    assert len(problems) == 6


def test_load_skips_bad_records_refuses_broken_files_drops_those_who_left(tmp_path: Path) -> None:
    from newsletter.errors import ConfigError

    folder = tmp_path / "s"
    write(folder, "a.yaml", "- email: a@example.com\n- email: b@example.com\n")
    assert [s.email for s in load(folder, TOPICS, {"b@example.com": "unsubscribed"})] == [
        "a@example.com"
    ]
    write(folder, "b.yaml", "- email: bad\n- email: c@example.com\n")
    assert [s.email for s in load(folder, TOPICS)] == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    write(folder, "b.yaml", "- email: c@example.com\n  topics: [llm\n")
    with pytest.raises(ConfigError, match=r"b\.yaml:3: invalid YAML"):
        load(folder, TOPICS)


@pytest.mark.parametrize(
    ("topics", "exclude", "paper", "expected"),
    [
        ([], [], ["vision"], True),  # no topics: everything
        ([], [], [], True),
        (["llm"], [], ["llm", "safety"], True),
        (["llm"], [], ["vision"], False),
        (["llm"], ["safety"], ["llm", "safety"], False),  # excluded wins
        ([], ["safety"], ["safety"], False),
        (["llm", "agents"], [], ["agents"], True),
    ],
)
def test_wants(topics: list[str], exclude: list[str], paper: list[str], expected: bool) -> None:
    sub = Subscriber(email="a@example.com", topics=topics, exclude=exclude)
    assert wants(sub, paper) is expected


def test_add_remove_list_cli(workdir: Path) -> None:
    write(
        workdir / "subscribers",
        "subscribers.yaml",
        "# our readers\n- email: a@example.com\n  name: A\n  # likes everything\n"
        "- email: b@example.com\n  topics: [llm]\n",
    )
    run(
        "subscribers",
        "add",
        "C@Example.com",
        "--name",
        "Cee",
        "--topics",
        "llm,agents",
        "--exclude",
        "safety",
        "--language",
        "en",
    )
    out = run("subscribers", "list").output.splitlines()
    assert out == [
        "a@example.com\tA\t*\tsubscribers/subscribers.yaml:2",
        "b@example.com\t\tllm\tsubscribers/subscribers.yaml:5",
        "C@example.com\tCee\tllm,agents\t-safety\ten\tsubscribers/subscribers.yaml:7",
    ]
    dup = run("subscribers", "add", "c@example.com", code=1)
    assert "already subscribed" in dup.output and "subscribers.yaml:7" in dup.output
    bad = run("subscribers", "add", "d@example.com", "--topics", "cooking", code=1)
    assert "unknown topic(s) cooking" in bad.output
    run("subscribers", "remove", "a@example.com")
    text = (workdir / "subscribers" / "subscribers.yaml").read_text(encoding="utf-8")
    assert text.startswith("# our readers\n- email: b@example.com\n")
    assert "A\n" not in text and "likes everything" not in text
    assert [line.split("\t")[0] for line in run("subscribers", "list").output.splitlines()] == [
        "b@example.com",
        "C@example.com",
    ]
    assert "not in any list" in run("subscribers", "remove", "zz@example.com", code=1).output
    run("subscribers", "check")


def test_add_to_csv_keeps_its_columns(workdir: Path) -> None:
    path = write(workdir / "subscribers", "team.csv", "name,email,topics\nA,a@example.com,llm\n")
    run(
        "subscribers",
        "add",
        "b@example.com",
        "--name",
        "B, Jr.",
        "--topics",
        "vision,video",
        "--file",
        "team.csv",
    )
    assert path.read_text(encoding="utf-8").splitlines()[-1] == (
        '"B, Jr.",b@example.com,"vision,video"'
    )
    err = run(
        "subscribers", "add", "c@example.com", "--exclude", "llm", "--file", "team.csv", code=1
    )
    assert "no column exclude" in err.output
    run("subscribers", "remove", "a@example.com")
    assert path.read_text(encoding="utf-8") == (
        'name,email,topics\n"B, Jr.",b@example.com,"vision,video"\n'
    )


def test_import_skips_listed_and_departed_and_is_all_or_nothing(workdir: Path) -> None:
    write(workdir / "subscribers", "subscribers.yaml", "- email: a@example.com\n")
    Store(workdir / "data" / "newsletter.db").set_status("gone@example.com", "bounced")
    source = write(
        workdir,
        "new.csv",
        "email,topics\na@example.com,\nn1@example.com,llm\n"
        "gone@example.com,\nbad-address,\nn2@example.com,\n",
    )
    err = run("subscribers", "import", str(source), code=1)
    assert "new.csv:5: invalid address" in err.output and "nothing imported" in err.output
    assert len(run("subscribers", "list").output.splitlines()) == 1
    ok = run("subscribers", "import", str(source), "--skip-invalid")
    assert "imported 2 subscribers" in ok.output
    assert "a@example.com already listed" in ok.output
    assert "gone@example.com is bounced; not re-added" in ok.output
    listed = [line.split("\t")[0] for line in run("subscribers", "list").output.splitlines()]
    assert listed == ["a@example.com", "n1@example.com", "n2@example.com"]


def test_unsubscribe_wins_over_the_files_until_resubscribed(workdir: Path) -> None:
    write(
        workdir / "subscribers",
        "subscribers.yaml",
        "- email: a@example.com\n- email: b@example.com\n",
    )
    run("subscribers", "unsubscribe", "B@example.com")
    assert run("subscribers", "list").output.split() == [
        "a@example.com",
        "*",
        "subscribers/subscribers.yaml:1",
    ]
    everyone = run("subscribers", "list", "--all").output
    assert "b@example.com\t\t*\tsubscribers/subscribers.yaml:2\t[unsubscribed]" in everyone
    refused = run("subscribers", "add", "b@example.com", "--file", "more.yaml", code=1)
    assert "unsubscribed in the store" in refused.output
    run("subscribers", "unsubscribe", "a@example.com", "--status", "bounced")
    assert run("subscribers", "list").output == ""
    run("subscribers", "resubscribe", "a@example.com")
    assert run("subscribers", "list").output.split() == [
        "a@example.com",
        "*",
        "subscribers/subscribers.yaml:1",
    ]


def test_check_cli_reports_and_fails(workdir: Path) -> None:
    write(workdir / "subscribers", "x.yaml", "- email: a@example.com\n- email: a@example.com\n")
    result = run("subscribers", "check", code=1)
    assert "x.yaml:2: duplicate of a@example.com" in result.output
    assert "1 valid subscribers, 1 problems" in result.output


BROKEN_YAML = "- email: a@example.com\n  topics: [llm\n- email: b@example.com\n"


@pytest.mark.parametrize(
    "command", [["add", "c@example.com"], ["remove", "a@example.com"], ["import", "new.csv"]]
)
def test_editing_a_broken_yaml_list_is_one_line_naming_file_and_line(
    workdir: Path, command: list[str]
) -> None:
    path = write(workdir / "subscribers", "subscribers.yaml", BROKEN_YAML)
    write(workdir, "new.csv", "email\nc@example.com\n")
    result = CliRunner().invoke(cli, ["subscribers", *command])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # not a traceback
    # libyaml's wording (the C parser reads the lists); the file and line are what matter.
    assert result.output.splitlines() == [
        "Error: subscribers/subscribers.yaml:3: invalid YAML: did not find expected ',' or ']'"
    ]
    assert path.read_text(encoding="utf-8") == BROKEN_YAML  # untouched


def test_check_and_list_read_the_bundled_list_like_send(workdir: Path) -> None:
    # No subscribers/ here and no storage.subscribers_dir: send uses the bundled examples.
    listed = run("subscribers", "list").output.splitlines()
    assert len(listed) >= 2
    checked = run("subscribers", "check").output
    assert f"{len(listed)} valid subscribers, 0 problems" in checked
    assert not (workdir / "subscribers").exists()


def test_check_of_a_configured_folder_that_is_missing_fails(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text(
        '[storage]\nsubscribers_dir = "lists"\n', encoding="utf-8"
    )
    result = run("subscribers", "check", code=1)
    assert "storage.subscribers_dir" in result.output and "lists is not a folder" in result.output


def test_list_into_a_closed_pipe_exits_quietly(workdir: Path) -> None:
    import subprocess
    import sys

    rows = "".join(f"- email: reader{i}@example.com\n" for i in range(50))
    write(workdir / "subscribers", "subscribers.yaml", rows)
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "subscribers", "list"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line, like `| head -0`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0, err
    assert err == ""


def test_counted_profiles_are_those_of_the_merged_list(workdir: Path) -> None:
    # build counts subscribers per topic choice from the lists as read, adjusted by the
    # store's changes; it must count exactly the subscribers delivery goes through.
    from collections import Counter

    from newsletter.config import load_settings
    from newsletter.routing import profile
    from newsletter.store import Preferences
    from newsletter.subscribers import load_subscribers, read_lists

    write(
        workdir / "subscribers",
        "s.yaml",
        "- email: a@example.com\n  topics: [llm]\n- email: B@example.com\n"
        "- email: c@example.com\n  topics: [llm]\n- email: d@example.com\n  topics: [vision]\n",
    )
    settings = load_settings()
    store = Store(workdir / "data" / "newsletter.db")
    store.set_status("a@example.com", "unsubscribed", "test")
    store.set_preferences(Preferences("b@example.com", ["vision"], [], "en", False, ""))
    store.set_preferences(Preferences("c@example.com", ["llm"], [], None, True, ""))  # paused
    for email, confirm in [("web@example.com", True), ("pending@example.com", False)]:
        nonce = store.request_signup(email, Preferences(email, ["agents"], [], "ko", False, ""))
        if confirm:
            assert store.confirm_signup(email, nonce)
    nonce = store.request_signup(
        "d@example.com", Preferences("d@example.com", [], [], None, False, "")
    )
    assert store.confirm_signup("d@example.com", nonce)  # listed too: counted once

    lists = read_lists(settings)
    merged = load_subscribers(settings, store, lists)
    assert sorted(s.email for s in merged) == ["B@example.com", "d@example.com", "web@example.com"]
    assert lists.active_profiles(store, set(settings.topics)) == Counter(map(profile, merged))
    assert lists.longest_with(store) == "web@example.com"
