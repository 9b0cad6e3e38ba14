"""Settings: defaults, the file, environment overrides, and errors that name key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import load_settings
from newsletter.errors import ConfigError


def test_defaults_run_locally(workdir: Path) -> None:
    s = load_settings()
    assert s.source_path is None
    assert s.edition.language == "ko" and s.edition.timezone == "Asia/Seoul"
    assert (s.edition.ranked, s.edition.recommended) == (5, 5)
    assert s.delivery.transport == "outbox"
    assert s.llm.base_url == "" and not s.llm_enabled
    assert s.data_dir == Path("data")
    assert s.sources.huggingface.url == "https://huggingface.co/api/daily_papers"
    assert s.sources.arxiv.request_interval_s == 3
    assert {"llm", "agents", "vision", "robotics"} <= set(s.topics)


def test_file_in_working_directory_is_read(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text(
        '[edition]\ntitle = "Daily"\nranked = 3\n[delivery]\nfrom = "a <a@example.com>"\n'
        '[[sources.feeds]]\nname = "x"\nurl = "http://127.0.0.1:1/feed"\n'
        '[topics.nlp]\nkeywords = ["language"]\n',
        encoding="utf-8",
    )
    s = load_settings()
    assert s.source_path == Path("newsletter.toml")
    assert s.edition.title == "Daily" and s.edition.ranked == 3
    assert s.delivery.from_ == "a <a@example.com>"
    assert s.sources.feeds[0].url == "http://127.0.0.1:1/feed"
    assert list(s.topics) == ["nlp"]  # a configured taxonomy replaces the default one


def test_environment_overrides_file(workdir: Path) -> None:
    (workdir / "c.toml").write_text("[edition]\nranked = 3\n", encoding="utf-8")
    s = load_settings(
        "c.toml",
        env={
            "NEWSLETTER_EDITION__RANKED": "7",
            "NEWSLETTER_SOURCES__ARXIV__CATEGORIES": '["cs.CL", "cs.LG"]',
            "NEWSLETTER_LLM__BASE_URL": "http://127.0.0.1:9/v1",
            "NEWSLETTER_LLM__MODEL": "m",
            "NEWSLETTER_DELIVERY__FROM": "x@example.com",
        },
    )
    assert s.edition.ranked == 7
    assert s.sources.arxiv.categories == ["cs.CL", "cs.LG"]
    assert s.llm.base_url == "http://127.0.0.1:9/v1" and s.llm_enabled
    assert s.delivery.from_ == "x@example.com"


def test_secret_variables_are_not_settings(workdir: Path) -> None:
    s = load_settings(env={"NEWSLETTER_LLM_API_KEY": "sk-test"})
    assert "sk-test" not in s.model_dump_json()


def test_typo_names_key_file_and_line(workdir: Path) -> None:
    (workdir / "newsletter.toml").write_text('# mine\n[edition]\ntitel = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value) == "newsletter.toml:3: unknown key 'edition.titel'"


def test_wrong_type_names_key(workdir: Path) -> None:
    (workdir / "n.toml").write_text('[edition]\nranked = "many"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"n\.toml:2: 'edition\.ranked': .*integer"):
        load_settings("n.toml")


def test_unknown_section_and_bad_choice(workdir: Path) -> None:
    (workdir / "n.toml").write_text('[delivery]\ntransport = "pigeon"\n', encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"n\.toml:2: delivery\.transport: unknown transport 'pigeon'"
    ):
        load_settings("n.toml")
    (workdir / "m.toml").write_text("[sauces]\nx = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"m\.toml:1: unknown key 'sauces'"):
        load_settings("m.toml")


def test_bad_env_value_names_variable_key(workdir: Path) -> None:
    with pytest.raises(ConfigError, match=r"'edition\.ranked'"):
        load_settings(env={"NEWSLETTER_EDITION__RANKED": "lots"})


def test_invalid_toml_and_missing_file(workdir: Path) -> None:
    (workdir / "bad.toml").write_text("[edition\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: invalid TOML"):
        load_settings("bad.toml")
    with pytest.raises(ConfigError, match="not found"):
        load_settings("nope.toml")


def test_secrets_are_read_once_and_never_shown(workdir: Path) -> None:
    env = {
        "NEWSLETTER_LLM_API_KEY": "sk-very-secret",
        "NEWSLETTER_SMTP_PASSWORD": "pw-very-secret",
        "NEWSLETTER_UNSUBSCRIBE_SECRET": "k" * 40,
        "GITHUB_TOKEN": "ghp-very-secret",
    }
    s = load_settings(env=env)
    assert s.secrets.llm_api_key.get_secret_value() == "sk-very-secret"
    assert s.secrets.smtp_password.get_secret_value() == "pw-very-secret"
    assert s.secrets.github_token.get_secret_value() == "ghp-very-secret"
    shown = repr(s) + str(s) + s.model_dump_json() + repr(s.secrets) + str(s.secrets)
    for value in env.values():
        assert value not in shown
    # Read once: a later change of the environment does not change the loaded settings.
    env["NEWSLETTER_LLM_API_KEY"] = "changed"
    assert s.secrets.llm_api_key.get_secret_value() == "sk-very-secret"


def test_a_secret_variable_can_be_renamed(workdir: Path) -> None:
    s = load_settings(env={"NEWSLETTER_LLM__API_KEY_ENV": "MY_KEY", "MY_KEY": "sk-1"})
    assert s.secrets.llm_api_key.get_secret_value() == "sk-1"


def test_a_title_per_language(workdir: Path) -> None:
    assert load_settings().edition.title_for("en") == "AI Paper Digest"  # built in
    # An English edition without a title gets the English one, not the Korean default.
    english = load_settings(env={"NEWSLETTER_EDITION__LANGUAGE": "en"}).edition
    assert english.title == "AI Paper Digest" and english.title_for("ko") == "AI 논문 핵심 요약"
    (workdir / "newsletter.toml").write_text(
        '[edition]\ntitle = "오늘의 논문"\ntitles = { en = "Papers of the Day" }\n',
        encoding="utf-8",
    )
    e = load_settings().edition
    assert (e.title_for("ko"), e.title_for("en")) == ("오늘의 논문", "Papers of the Day")


@pytest.mark.parametrize(
    ("titles", "message"),
    [
        ('{ fr = "Le digest" }', "edition.titles: unknown language 'fr' (known: ko, en)"),
        ('{ en = "" }', "edition.titles.en is empty"),
        ('{ en = "Two\\nlines" }', "edition.titles.en contains a line break"),
    ],
)
def test_a_bad_title_is_refused_at_load_naming_the_line(
    workdir: Path, titles: str, message: str
) -> None:
    (workdir / "newsletter.toml").write_text(
        f"[edition]\nranked = 3\ntitles = {titles}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith("newsletter.toml:3: ") and message in str(err.value)
