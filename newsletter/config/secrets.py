"""The secrets the settings name, read once from the environment and never shown.

A secret never comes from the settings file: each setting ``*_env`` names the environment
variable that holds it. ``SecretStr`` keeps the values out of every repr, log line and dump.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, SecretStr


class Secrets(BaseModel):
    """Every secret the program uses; an unset variable is an empty secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    llm_api_key: SecretStr = SecretStr("")
    smtp_password: SecretStr = SecretStr("")
    unsubscribe_key: SecretStr = SecretStr("")
    github_token: SecretStr = SecretStr("")

    @property
    def signing_key(self) -> bytes:
        """The key that signs every link and form token (``$NEWSLETTER_UNSUBSCRIBE_SECRET``)."""
        return self.unsubscribe_key.get_secret_value().encode("utf-8")


def read_secrets(
    env: Mapping[str, str],
    *,
    llm_api_key: str,
    smtp_password: str,
    unsubscribe_key: str,
    github_token: str,
) -> Secrets:
    """The secrets from the variables named (an empty name reads nothing)."""

    def get(name: str) -> SecretStr:
        return SecretStr(env.get(name, "") if name else "")

    return Secrets(
        llm_api_key=get(llm_api_key),
        smtp_password=get(smtp_password),
        unsubscribe_key=get(unsubscribe_key),
        github_token=get(github_token),
    )
