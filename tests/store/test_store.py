"""The SQLite ledger: plan, claim, mark, unknown rows, subscriber status."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from newsletter.errors import StoreError
from newsletter.store import Store

DAY = "2026-06-12"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "newsletter.db")


def test_wal_mode(store: Store) -> None:
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_plan_claim_mark(store: Store) -> None:
    assert (
        store.plan(DAY, [("a@example.com", "v1", "pending"), ("b@example.com", "", "skipped")]) == 2
    )
    assert store.plan(DAY, [("a@example.com", "v1", "pending")]) == 0
    assert store.claim(DAY, "a@example.com")
    assert not store.claim(DAY, "a@example.com")  # already claimed
    assert not store.claim(DAY, "b@example.com")  # skipped rows are never claimed
    assert store.counts(DAY) == {"pending": 0, "sending": 1, "sent": 0, "failed": 0, "skipped": 1}
    store.mark(DAY, "a@example.com", "sent", message_id="<m@example.com>")
    row = store.rows(DAY, "sent")[0]
    assert (row.email, row.message_id, row.attempts) == ("a@example.com", "<m@example.com>", 1)
    with pytest.raises(ValueError):
        store.mark(DAY, "a@example.com", "delivered")


def test_plan_follows_changes_only_for_rows_not_yet_sent(store: Store) -> None:
    store.plan(
        DAY,
        [
            ("a@example.com", "v1", "pending"),
            ("b@example.com", "v1", "pending"),
            ("c@example.com", "", "skipped"),
        ],
    )
    store.claim(DAY, "a@example.com")
    store.mark(DAY, "a@example.com", "sent", message_id="m1")
    # Topics changed: everyone now maps to v2, c has papers now.
    store.plan(
        DAY,
        [
            ("a@example.com", "v2", "pending"),
            ("b@example.com", "v2", "pending"),
            ("c@example.com", "v2", "pending"),
        ],
    )
    rows = {r.email: (r.variant, r.state) for r in store.rows(DAY)}
    assert rows == {
        "a@example.com": ("v1", "sent"),
        "b@example.com": ("v2", "pending"),
        "c@example.com": ("v2", "pending"),
    }


def test_unknown_rows_are_released_only_on_request(store: Store) -> None:
    store.plan(DAY, [("a@example.com", "v", "pending"), ("b@example.com", "v", "pending")])
    store.claim(DAY, "a@example.com")  # a crash happens here: never marked
    assert [r.email for r in store.rows(DAY, "sending")] == ["a@example.com"]
    assert store.release_unknown(DAY) == 1
    assert store.counts(DAY)["pending"] == 2
    assert store.rows(DAY, "pending")[0].last_error == "retried after unknown"


def test_drop_pending_of_those_who_left(store: Store) -> None:
    store.plan(DAY, [("a@example.com", "v", "pending"), ("b@example.com", "v", "pending")])
    assert store.drop_pending(DAY, {"a@example.com"}, "left") == 1
    assert store.rows(DAY, "skipped")[0].email == "b@example.com"


def test_only_one_of_many_claimers_wins(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    Store(path).plan(DAY, [(f"r{i}@example.com", "v", "pending") for i in range(50)])
    wins: list[str] = []
    lock = threading.Lock()

    def claimer() -> None:
        mine = Store(path)  # a connection of its own, as another process would have
        for i in range(50):
            if mine.claim(DAY, f"r{i}@example.com"):
                with lock:
                    wins.append(f"r{i}@example.com")

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(f"r{i}@example.com" for i in range(50))


def test_subscriber_status(store: Store) -> None:
    assert store.status_of("a@example.com") == "active"
    store.set_status("A@example.com", "unsubscribed", "link")
    assert store.status_of("a@example.com") == "unsubscribed"
    assert store.statuses() == {"a@example.com": "unsubscribed"}
    store.set_status("a@example.com", "active")
    assert store.status_of("a@example.com") == "active"
    with pytest.raises(ValueError):
        store.set_status("a@example.com", "gone")


def test_ledger_survives_reopening(tmp_path: Path) -> None:
    first = Store(tmp_path / "n.db")
    first.plan(DAY, [("a@example.com", "v", "pending")])
    first.claim(DAY, "a@example.com")
    first.mark(DAY, "a@example.com", "sent", message_id="m")
    first.close()
    again = Store(tmp_path / "n.db")
    assert again.rows(DAY)[0].state == "sent"


def test_mark_moves_only_a_claimed_row(store: Store) -> None:
    store.plan(DAY, [("a@example.com", "v", "pending"), ("b@example.com", "v", "pending")])
    store.claim(DAY, "a@example.com")
    assert store.mark(DAY, "a@example.com", "sent", message_id="<m1@example.com>")
    # A late or stray outcome for the same row must not rewrite history.
    for late in ("failed", "pending", "sending", "sent"):
        assert not store.mark(
            DAY, "a@example.com", late, message_id="<m2@example.com>", error="late"
        )
    row = store.rows(DAY, "sent")[0]
    assert (row.email, row.message_id, row.last_error) == (
        "a@example.com",
        "<m1@example.com>",
        None,
    )
    # Never claimed: a mark cannot send or fail it.
    assert not store.mark(DAY, "b@example.com", "sent")
    assert store.rows(DAY, "pending")[0].email == "b@example.com"
    # A Fatal error puts the claimed row back to pending, and only that once.
    store.claim(DAY, "b@example.com")
    assert store.mark(DAY, "b@example.com", "pending", error="paused")
    assert not store.mark(DAY, "b@example.com", "pending", error="again")
    assert store.rows(DAY, "pending")[0].last_error == "paused"


def test_a_damaged_ledger_is_a_store_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.db"
    path.write_bytes(b"this is not sqlite " * 300)
    with pytest.raises(StoreError) as info:
        Store(path)
    assert str(info.value).startswith(f"{path}: cannot open the delivery ledger")
    assert "file is not a database" in str(info.value)


def test_a_ledger_damaged_after_opening_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.db"
    Store(path).plan(DAY, [("a@example.com", "v", "pending")])
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # Overwrite every page after the header: the schema is still readable, the data not.
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.seek(100)
        fh.write(b"\xff" * (size - 100))
    with pytest.raises(StoreError) as info:
        store = Store(path)
        store.rows(DAY)
    assert str(info.value).startswith(f"{path}: ")


def test_a_locked_ledger_is_a_store_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.db"
    store = Store(path, timeout_s=0.05)
    store.plan(DAY, [("a@example.com", "v", "pending")])
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    try:
        with pytest.raises(StoreError) as info:
            store.claim(DAY, "a@example.com")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(info.value)
    assert message.startswith(f"{path}: delivery ledger error: database is locked")
    assert "another process holds it" in message
    assert store.claim(DAY, "a@example.com")  # released: works again


def test_cli_names_a_damaged_ledger_in_one_line(workdir: Path) -> None:
    from click.testing import CliRunner

    from newsletter.cli import cli

    (workdir / "data").mkdir()
    (workdir / "data" / "newsletter.db").write_bytes(b"\x00garbage" * 500)
    result = CliRunner().invoke(cli, ["subscribers", "list"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        "Error: data/newsletter.db: cannot open the delivery ledger (file is not a "
        "database); check storage.data_dir / --data-dir"
    ]


def test_a_batch_is_claimed_and_marked_in_one_transaction_each(store: Store) -> None:
    store.plan(DAY, [(f"r{i}@example.com", "v", "pending") for i in range(5)])
    store.claim(DAY, "r0@example.com")  # another worker's
    won = store.claim_many(DAY, [f"r{i}@example.com" for i in range(4)])
    assert won == {"r1@example.com", "r2@example.com", "r3@example.com"}
    assert store.claim_many(DAY, ["r1@example.com", "r4@example.com"]) == {"r4@example.com"}
    moved = store.mark_many(
        DAY,
        [
            ("r1@example.com", "sent", "<m1@example.com>", None),
            ("r2@example.com", "failed", None, "rejected"),
            ("r3@example.com", "pending", None, "run stopped before sending"),
            ("r9@example.com", "sent", "<m9@example.com>", None),  # no such row
        ],
    )
    assert moved == [True, True, True, False]
    # A second outcome for the same rows is refused, as with mark().
    assert store.mark_many(DAY, [("r1@example.com", "failed", None, "late")]) == [False]
    assert store.states(DAY) == {
        "r0@example.com": "sending",
        "r1@example.com": "sent",
        "r2@example.com": "failed",
        "r3@example.com": "pending",
        "r4@example.com": "sending",
    }
    with pytest.raises(ValueError):
        store.mark_many(DAY, [("r4@example.com", "delivered", None, None)])


def test_only_one_of_many_batch_claimers_wins_each_row(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    Store(path).plan(DAY, [(f"r{i:03d}@example.com", "v", "pending") for i in range(300)])
    wins: list[str] = []
    lock = threading.Lock()

    def claimer(offset: int) -> None:
        mine = Store(path)
        for start in range(offset, 300, 7):
            got = mine.claim_many(DAY, [f"r{i:03d}@example.com" for i in range(start, start + 20)])
            with lock:
                wins.extend(got)

    threads = [threading.Thread(target=claimer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [f"r{i:03d}@example.com" for i in range(300)]


def test_pending_rows_are_read_a_page_at_a_time_by_index(store: Store) -> None:
    store.plan(DAY, [(f"r{i:03d}@example.com", f"v{i % 3}", "pending") for i in range(250)])
    store.claim(DAY, "r005@example.com")
    seen, after = [], ""
    while page := store.pending_page(DAY, after, 100):
        seen += page
        after = page[-1][0]
    assert [e for e, _ in seen] == [f"r{i:03d}@example.com" for i in range(250) if i != 5]
    assert seen[0] == ("r000@example.com", "v0")
    # The page query walks an index: no sort of every pending row per page.
    plan = store._connection().execute(
        "EXPLAIN QUERY PLAN SELECT email, variant FROM deliveries WHERE date=? AND "
        "state='pending' AND email > ? ORDER BY email LIMIT ?",
        (DAY, "", 100),
    )
    details = " ".join(str(r[-1]) for r in plan)
    assert "deliveries_state_email" in details and "TEMP B-TREE" not in details
