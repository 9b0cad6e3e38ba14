"""The size budget and the variants, through the real ``build`` stage and command."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from support.receivers import variant_by_subscriber
from support.render_edition import DAY, load_cards, write_edition

from newsletter.cli import cli
from newsletter.errors import RenderError
from newsletter.files import read_model
from newsletter.mail.parts import sent_parts
from newsletter.models import Edition
from newsletter.stages.build import build

AGENT_PAPERS = ["2606.13681", "2606.11662"]
VISION_PAPERS = ["2606.08063", "2606.13289", "2606.06113", "2606.12575"]


def test_full_korean_edition_fits_the_budget_as_sent(tmp_path: Path) -> None:
    settings = write_edition(tmp_path, load_cards())
    result = CliRunner().invoke(
        cli, ["--config", str(settings.source_path), "send", "--date", DAY, "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    edition = read_model(settings.layout.edition(DAY).edition, Edition, "build")
    full = [v for v in edition.variants if len(v.paper_ids) == 10]
    assert len(full) == 1 and full[0].subscriber_count == 2 and full[0].profiles == {"*": 2}
    by_reader = variant_by_subscriber(settings, edition)
    receivers = sorted(e for e, v in by_reader.items() if v.key == full[0].key)
    assert receivers == ["all@example.com", "also-all@example.com"]
    # What build measured is the HTML part of the largest message the transport got.
    outbox = settings.layout.outbox(DAY)
    sent = [sent_parts((outbox / f"{e}.eml").read_bytes()) for e in receivers]
    assert full[0].html_bytes == max(s.html_wire_bytes for s in sent)
    assert full[0].html_bytes <= 100_000
    assert not full[0].degraded


def test_each_variant_describes_what_its_reader_gets(tmp_path: Path) -> None:
    settings = write_edition(tmp_path, load_cards())
    edition = build(settings, DAY, progress=lambda _: None)
    by_reader = variant_by_subscriber(settings, edition)
    assert len(edition.variants) == 3
    assert by_reader["agents@example.com"].paper_ids == AGENT_PAPERS
    assert by_reader["vision@example.com"].paper_ids == VISION_PAPERS
    folder = settings.layout.edition(DAY).variants
    agents = HTMLParser(
        (folder / f"{by_reader['agents@example.com'].key}.html").read_text(encoding="utf-8")
    )
    assert [a.attributes["href"] for a in agents.css("ol.toc a")] == ["#paper-1", "#paper-8"]
    assert len(agents.css("div.c h2")) == 2
    assert "📊 순위 기반 1개 · 🤖 추천 1개 · 📄 전문 분석 2개 · 📝 초록 분석 0개" in agents.html
    vision = (folder / f"{by_reader['vision@example.com'].key}.html").read_text(encoding="utf-8")
    assert 'lang="en"' in vision and "📊 Ranked 2 · 🤖 Recommended 2" in vision
    assert "📝 Abstract only 1" in vision


def test_build_command_prints_each_variant_size(tmp_path: Path) -> None:
    settings = write_edition(tmp_path, load_cards())
    result = CliRunner().invoke(
        cli, ["--config", str(settings.source_path), "build", "--date", DAY]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "KB html" in line]
    assert len(lines) == 3
    assert any(line.startswith("ko-10p-") and "2 subscribers" in line for line in lines)
    assert "% of the 100 KB budget" in result.output  # progress lines on stderr


def test_over_budget_fails_with_a_clear_message_when_so_configured(tmp_path: Path) -> None:
    settings = write_edition(
        tmp_path,
        load_cards(),
        settings_toml='[edition]\nsize_budget_kb = 60\nover_budget = "fail"\n',
    )
    with pytest.raises(RenderError) as err:
        build(settings, DAY, progress=lambda _: None)
    message = str(err.value)
    assert "variant ko-10p-" in message and "(2 subscribers)" in message
    assert "over the 60 KB budget" in message and "Gmail clips" in message
    assert 'edition.over_budget = "shorten"' in message
    result = CliRunner().invoke(
        cli, ["--config", str(settings.source_path), "build", "--date", DAY]
    )
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("Error: variant ko-10p-")
    assert "Traceback" not in result.output


def test_shorten_policy_degrades_only_the_variant_over_budget(tmp_path: Path) -> None:
    # "shorten" is the default: a day is never lost to size.
    settings = write_edition(
        tmp_path,
        load_cards(),
        settings_toml=(
            '[edition]\nsize_budget_kb = 60\nweb_base_url = "https://news.example/2026-06-12"\n'
        ),
    )
    lines: list[str] = []
    edition = build(settings, DAY, progress=lines.append)
    full = next(v for v in edition.variants if len(v.paper_ids) == 10)
    small = [v for v in edition.variants if v is not full]
    assert full.degraded and full.html_bytes <= 60_000
    assert not any(v.degraded for v in small)
    progress = next(line for line in lines if full.key in line)
    assert "; shortened: table of contents titles cut to 24 characters; " in progress
    assert full.shortened[0] == "table of contents titles cut to 24 characters"
    html = (settings.layout.edition(DAY).variants / f"{full.key}.html").read_text(encoding="utf-8")
    assert 'href="https://news.example/2026-06-12#paper-1"' in html
    assert "메일 크기 제한 때문에" in html


def test_shorten_policy_still_fails_when_nothing_fits(tmp_path: Path) -> None:
    settings = write_edition(
        tmp_path,
        load_cards(),
        settings_toml=('[edition]\nsize_budget_kb = 10\nover_budget = "shorten"\n'),
    )
    with pytest.raises(RenderError, match="even cut to their titles the cards are"):
        build(settings, DAY, progress=lambda _: None)


def test_unknown_policy_is_a_settings_error(tmp_path: Path) -> None:
    from newsletter.errors import ConfigError

    with pytest.raises(ConfigError, match="over_budget"):
        write_edition(tmp_path, load_cards(), settings_toml='[edition]\nover_budget = "drop"\n')


HEADROOM_BYTES = 80_000  # the reference edition's HTML part as sent, with room to spare


@pytest.mark.parametrize(("factor", "limit"), [(1.0, HEADROOM_BYTES), (1.2, 100_000)])
def test_reference_edition_has_headroom_and_longer_cards_fit_whole(
    tmp_path: Path, factor: float, limit: int
) -> None:
    """Reference-length cards: at most 80 KB as sent; 20% longer: within the 100 KB budget
    with every section kept (nothing shortened)."""
    cards = load_cards(factor)
    settings = write_edition(tmp_path, cards, subscribers=[{"email": "all@example.com"}])
    (variant,) = build(settings, DAY, progress=lambda _: None).variants
    assert len(variant.paper_ids) == 10
    assert not variant.degraded  # rendered at level 0: every section of every card
    assert variant.html_bytes <= limit, variant.html_bytes


def test_5000_character_titles_are_shortened_to_fit_and_delivered(tmp_path: Path) -> None:
    cards = load_cards()
    for i, c in enumerate(cards):
        c.paper.title = f"Paper {i} " + "Very long title words " * 240  # ~5,000 characters
        c.paper.organization = "Org " * 1000
        c.selected.reason = "reason " * 700
    settings = write_edition(tmp_path, cards, settings_toml='[edition]\nover_budget = "shorten"\n')
    config = str(settings.source_path)
    result = CliRunner().invoke(cli, ["--config", config, "send", "--date", DAY])
    assert result.exit_code == 0, result.output
    assert "sent 4, skipped 0, failed 0, unknown 0" in result.output
    edition = build(settings, DAY, progress=lambda _: None)  # as built, unchanged
    full = next(v for v in edition.variants if len(v.paper_ids) == 10)
    assert full.html_bytes <= 100_000
    assert full.shortened[-1] == "10 of 10 titles over 120 characters"
    assert "long titles, organizations and reasons cut to 120 characters" in full.shortened
    assert f"; shortened: {'; '.join(full.shortened)})" in result.output  # build's report
    status = CliRunner().invoke(cli, ["--config", config, "status", "--date", DAY]).output
    assert f"! {full.key} shortened to fit the size budget: table of contents titles" in status
    eml = (settings.layout.outbox(DAY) / "all@example.com.eml").read_bytes()
    html = message_from_bytes(eml, policy=policy.default).get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.count("Very long title words") <= 10 * 6  # titles cut, every card still there
    assert all(f'id="paper-{n}"' in html for n in range(1, 11))


def test_every_free_text_field_at_its_longest_still_fits_the_budget(tmp_path: Path) -> None:
    # Every free text field of every card as long as a source or model could make it.
    cards = load_cards()
    for c in cards:
        c.paper.title = "T" * 5_000
        c.paper.organization = "O" * 5_000
        c.selected.reason = "R" * 5_000
        a = c.analysis.analysis
        a.summary = a.core_idea = a.problem = a.key_technique = "가" * 3_000
        for name in ("method", "results", "improvements", "applications", "limitations"):
            setattr(a, name, ["나" * 1_000] * 12)
        a.tags = a.prerequisites = ["다" * 80] * 12
    settings = write_edition(tmp_path, cards, settings_toml='[edition]\nover_budget = "shorten"\n')
    edition = build(settings, DAY, progress=lambda _: None)
    assert all(v.html_bytes <= 100_000 for v in edition.variants)
    # The lengthened cards are the Korean ones (the English analyses are the fixture's own).
    assert all(v.shortened for v in edition.variants if v.language == "ko")
