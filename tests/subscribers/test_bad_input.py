"""Bad subscriber input through the real CLI: non-ASCII local parts, files that are not UTF-8,
bad rows that must not cost the others the edition, empty lists, an outbox in the way,
and unsubscribing an address no list holds."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from support.cli import run
from support.delivery_servers import DAY, parse, states

from newsletter.delivery.transports.outbox import OutboxTransport, outbox_name


def send(code: int = 0) -> Result:
    return run("send", "--date", DAY, "--replay", "sample", code=code)


def write(root: Path, name: str, data: str | bytes) -> Path:
    folder = root / "subscribers"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def outbox(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "data" / "outbox" / DAY).glob("*.eml"))


def test_non_ascii_local_part_is_refused_with_file_and_line(workdir: Path) -> None:
    write(
        workdir,
        "list.yaml",
        "- email: 민지@example.com\n  name: 민지\n"
        "- email: 수진@example.com\n- email: ok@example.com\n  name: 오케이\n",
    )
    checked = run("subscribers", "check", code=1).output
    assert "list.yaml:1: invalid address '민지@example.com'" in checked
    assert "list.yaml:3: invalid address '수진@example.com'" in checked
    assert "1 valid subscribers, 2 problems" in checked
    for _attempt in range(2):  # a rerun neither crashes nor resends
        result = send(code=1)
        assert "Traceback" not in result.output
        assert (
            "warning: subscribers/list.yaml:1: invalid address '민지@example.com'" in result.output
        )
        assert "2 subscriber list problems" in result.output
        assert "are not supported: '민', '지'; skipped" in result.output
    assert outbox(workdir) == ["ok@example.com.eml"]
    assert states(workdir) == {"ok@example.com": "sent"}
    msg = parse((workdir / "data" / "outbox" / DAY / "ok@example.com.eml").read_bytes())
    assert msg["To"].addresses[0].addr_spec == "ok@example.com"
    refused = run("send", "--date", DAY, "--to", "민지@example.com", code=1).output
    assert "민지@example.com" in refused and "Traceback" not in refused


def test_internationalized_domain_is_sent_in_its_ascii_form(workdir: Path) -> None:
    write(workdir, "list.yaml", "- email: a@예시.kr\n  name: 가나\n")
    assert run("subscribers", "list").output.startswith("a@xn--vv4b11d.kr\t가나")
    assert "sent 1," in send().output
    (path,) = (workdir / "data" / "outbox" / DAY).glob("*.eml")
    assert path.name == "a@xn--vv4b11d.kr.eml"
    msg = parse(path.read_bytes())
    assert msg["To"].addresses[0].addr_spec == "a@xn--vv4b11d.kr"
    assert msg["To"].addresses[0].display_name == "가나"


def test_outbox_file_names_never_collide(tmp_path: Path) -> None:
    names = [
        "a@example.com",
        "a_b@example.com",
        "a/b@example.com",
        "a?b@example.com",
        "민지@example.com",
        "수진@example.com",
        "..@example.com",
        "x" * 300 + "@e.com",
    ]
    files = [outbox_name(n) for n in names]
    assert files[0] == "a@example.com" and files[1] == "a_b@example.com"
    assert len(set(files)) == len(names)
    assert all("/" not in f and not f.startswith(".") and len(f) < 200 for f in files)
    transport = OutboxTransport(tmp_path / "out")
    for n in names:
        transport.send(n.encode("utf-8"), "s@example.com", n, {})
    written = {p.read_bytes().decode("utf-8") for p in (tmp_path / "out").glob("*.eml")}
    assert written == set(names)


def test_files_that_are_not_utf8_stop_with_one_line(workdir: Path) -> None:
    write(workdir, "list.yaml", "- email: a@example.com\n  name: Jos\xe9\n".encode("latin-1"))
    offset = len(b"- email: a@example.com\n  name: Jos")
    line = f"subscribers/list.yaml: not UTF-8 (byte 0xe9 at offset {offset})"
    for args in (
        ["subscribers", "check"],
        ["subscribers", "list"],
        ["build", "--date", DAY],
        ["send", "--date", DAY, "--replay", "sample"],
    ):
        out = run(*args, code=1).output
        assert line in out and "Traceback" not in out, args
    assert not (workdir / "data" / "outbox").exists()
    (workdir / "subscribers" / "list.yaml").unlink()
    write(workdir, "list.csv", b"\xef\xbb\xbfemail,name\nb@example.com,G\xfcnter\n")
    out = run("subscribers", "check", code=1).output
    assert "subscribers/list.csv: not UTF-8 (byte 0xfc at offset 29)" in out
    source = workdir / "new.csv"
    source.write_bytes(b"email\n\xff@example.com\n")
    out = run("subscribers", "import", str(source), code=1).output
    assert f"{source}: not UTF-8 (byte 0xff at offset 6)" in out


def test_bad_rows_are_skipped_with_warnings_and_send_exits_1(workdir: Path) -> None:
    write(
        workdir,
        "list.yaml",
        "- email: good@example.com\n- email: not-an-address\n"
        "- email: cook@example.com\n  topics: [cooking]\n- email: good@example.com\n"
        '- email: crlf@example.com\n  name: "Eve\\r\\nBcc: x@evil.example"\n',
    )
    write(workdir, "more.csv", "email,name\nalso@example.com,Also\n")
    checked = run("subscribers", "check", code=1).output
    assert "2 valid subscribers, 4 problems" in checked
    built = run("build", "--date", DAY, code=1)  # nothing selected yet: build says so
    assert "selection.json is missing" in built.output
    result = send(code=1)
    for where in (
        "list.yaml:2: invalid address",
        "list.yaml:3: unknown topic(s) cooking",
        "list.yaml:5: duplicate of good@example.com",
        "list.yaml:6: name of crlf@example.com contains a line break",
    ):
        assert f"warning: subscribers/{where}" in result.output
    assert "sent 2," in result.output
    assert "4 subscriber list problems" in result.output
    assert outbox(workdir) == ["also@example.com.eml", "good@example.com.eml"]
    rebuilt = run("build", "--date", DAY).output
    assert "warning: subscribers/list.yaml:2: invalid address" in rebuilt
    assert "2 subscribers" in rebuilt
    # Fixed lists: the next run sends only to the newly valid row and exits 0.
    write(workdir, "list.yaml", "- email: good@example.com\n- email: cook@example.com\n")
    fixed = send()
    assert "warning" not in fixed.output and "sent 1," in fixed.output
    assert states(workdir) == {
        "good@example.com": "sent",
        "also@example.com": "sent",
        "cook@example.com": "sent",
    }


def test_unparseable_yaml_still_stops_everything(workdir: Path) -> None:
    write(workdir, "a.yaml", "- email: a@example.com\n")
    write(workdir, "b.yaml", "- email: b@example.com\n  topics: [llm\n- email: c@example.com\n")
    result = send(code=1)
    assert "subscribers/b.yaml:3: invalid YAML" in result.output
    assert "Traceback" not in result.output
    assert not (workdir / "data" / "outbox").exists()


def test_empty_lists_warn_naming_the_folder(workdir: Path) -> None:
    write(workdir, "list.yaml", "[]\n")
    write(workdir, "list.csv", "email,name,topics\n")
    result = send()
    assert "warning: subscribers/: the subscriber lists hold no subscriber" in result.output
    assert "sent 0," in result.output
    assert "0 valid subscribers, 0 problems" in run("subscribers", "check").output
    write(workdir, "list.yaml", "- email: bad\n")
    only_bad = send(code=1).output
    assert "the subscriber lists hold no valid subscriber" in only_bad


def test_outbox_date_that_is_a_file_leaves_rows_pending(workdir: Path) -> None:
    write(workdir, "list.yaml", "- email: a@example.com\n- email: b@example.com\n")
    send_dry = run("send", "--date", DAY, "--replay", "sample", "--dry-run")
    assert "2 would be sent" in send_dry.output
    blocker = workdir / "data" / "outbox" / DAY
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder", encoding="utf-8")
    result = send(code=1)
    assert f"data/outbox/{DAY}: not a folder" in result.output
    assert "File exists" not in result.output
    assert set(states(workdir).values()) == {"pending"}
    assert (
        "pending 2, sending 0, sent 0, failed 0, skipped 0, unknown 0"
        in run("status", "--date", DAY).output
    )
    blocker.unlink()
    assert "sent 2," in send().output
    assert states(workdir) == {"a@example.com": "sent", "b@example.com": "sent"}


def test_unsubscribe_of_an_unlisted_address_says_so_and_still_wins(workdir: Path) -> None:
    write(workdir, "list.yaml", "- email: a@example.com\n")
    listed = run("subscribers", "unsubscribe", "a@example.com").output
    assert listed.strip() == "a@example.com: unsubscribed"
    out = run("subscribers", "unsubscribe", "Later@Example.com").output
    assert "Later@example.com: unsubscribed" in out
    assert "not in any list under subscribers/" in out
    refused = run("subscribers", "add", "later@example.com", code=1).output
    assert "unsubscribed in the store" in refused
    write(workdir, "list.yaml", "- email: a@example.com\n- email: later@example.com\n")
    assert run("subscribers", "list").output == ""
