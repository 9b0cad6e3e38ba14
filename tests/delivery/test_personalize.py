"""Every message of the sample day from its variant's template is the full builder's, byte for
byte: the four example subscribers, a list of tricky names, topics and languages, and the
'nothing for your topics' notes, with the mailto link and with signed https links."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.delivery_servers import DAY, make_site, parse

from newsletter.config import load_settings
from newsletter.models import Subscriber
from newsletter.stages.deliver import assignments, built_edition, make_personalizer, variants_for
from newsletter.subscribers import load_subscribers

NAMES = ["", "Minji Kim", "김민지", "김 민지", "Zoë Ünal", "Kim, Minji", "O'Brien", "x" * 90]
TOPICS = ["", "llm", "vision", "agents,llm", "robotics", "speech", "efficiency;safety"]


def tricky_rows(n: int) -> list[dict[str, str]]:
    return [
        {
            "email": f"Reader.{i}+news@example.com" if i % 3 else f"reader{i}@example.com",
            "name": NAMES[i % len(NAMES)],
            "topics": "llm" if i % 13 == 12 else TOPICS[i % len(TOPICS)],
            # Every 13th excludes what they follow: no paper is theirs, they get the note.
            "exclude": "llm" if i % 13 == 12 else "safety" if i % 5 == 4 else "",
            "language": ("", "ko", "en")[i % 3],
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("https", [False, True])
def test_every_message_of_the_sample_day_is_the_builders(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, https: bool
) -> None:
    monkeypatch.setenv("NEWSLETTER_DELIVERY__EMPTY_TOPICS_NOTE", "true")
    if https:
        monkeypatch.setenv("NEWSLETTER_UNSUBSCRIBE_SECRET", "k" * 32)
        monkeypatch.setenv(
            "NEWSLETTER_DELIVERY__UNSUBSCRIBE_URL", "https://news.example.com/u?list=ai"
        )
    # The sample's own list as well (its four subscribers are what the golden holds).
    sample = Path(__file__).resolve().parents[2] / "newsletter/samples/subscribers/example.yaml"
    (workdir / "subscribers").mkdir()
    (workdir / "subscribers" / "example.yaml").write_text(sample.read_text("utf-8"), "utf-8")
    make_site(workdir, tricky_rows(70))
    settings = load_settings(None)
    edition = built_edition(settings, DAY)
    subs = load_subscribers(settings)
    keys = assignments(settings, edition, subs)
    variants = variants_for(settings, edition, {k for k in keys.values() if k})
    personalizer = make_personalizer(settings, edition)
    checked = set()
    for sub in subs:
        key = keys[sub.email]
        if key is None:
            continue
        variant = variants[key]
        subject = variant.subject or personalizer.subject
        template = personalizer.template(variant, subject)
        assert template.usable, key
        raw, msg_id = personalizer.message(variant, sub)
        who = personalizer.recipient(variant, sub, msg_id)
        who.date = parse(raw)["Date"].datetime  # the same second as the message's
        fast = template.render(who)
        assert fast == raw
        full = personalizer.build(variant, who, subject)
        boundary = parse(full).get_boundary()
        assert boundary is not None
        assert fast == full.replace(boundary.encode(), template.boundary.encode()), sub.email
        checked.add(key)
    assert len(checked) >= 5 and any(k.startswith("note-") for k in checked)
    assert {"minji.kim@example.com", "alex.chen@example.com"} <= {s.email for s in subs}


def test_a_test_message_is_built_in_full_with_its_own_subject(workdir: Path) -> None:
    make_site(workdir, tricky_rows(3))
    settings = load_settings(None)
    edition = built_edition(settings, DAY)
    variants = variants_for(settings, edition, set())
    personalizer = make_personalizer(settings, edition)
    variant = next(iter(variants.values()))
    raw, msg_id = personalizer.message(variant, Subscriber(email="me@example.com"), test=True)
    msg = parse(raw)
    assert msg["Subject"].startswith("[TEST] ") and msg["Message-ID"] == msg_id
    assert msg_id.startswith("<") and DAY not in msg_id.split("@")[0]
