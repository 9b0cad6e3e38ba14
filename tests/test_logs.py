"""Secrets never reach a log line: the filter itself, and ``send -vv`` against moto's SES with
known fake credentials, the whole output searched for them."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.delivery_servers import DAY, MotoSes, make_site, subscriber_rows
from support.llm_server import LLMServer, fail, serving
from support.processes import clean_env

from newsletter.logs import REDACTED, Redactor, protect, redact

ACCESS_KEY = "AKIAFAKEHOSTILE12345"
SECRET_KEY = "fakeSecretKey/With+Slashes0123456789abcd"
SESSION_TOKEN = "FakeSessionTokenValue0123456789"
LLM_KEY = "sk-fake-llm-key-0123456789"
UNSUBSCRIBE_KEY = "fake-unsubscribe-signing-key-0123456789"
GITHUB_TOKEN = "ghp_fakeGithubToken0123456789"
SECRETS = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, LLM_KEY, UNSUBSCRIBE_KEY, GITHUB_TOKEN)


def test_botocore_shaped_lines_are_redacted() -> None:
    protect(ACCESS_KEY, SECRET_KEY)
    signature = "a3f1" * 16
    lines = [
        "Sending http request: <AWSPreparedRequest headers={'X-Amz-Date': b'20260612T000000Z', "
        f"'Authorization': b'AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260612/us-east-1/ses/"
        f"aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}'}}>",
        f"Signature:\n{signature}",
        f"'X-Amz-Security-Token': b'{SESSION_TOKEN}'",
        "authorization: Bearer sk-anything-at-all-1234",
        "https://news.example.com/u?token=abc.def-123&x=1",
        f"secret key {SECRET_KEY} in a message",
    ]
    for line in lines:
        cleaned = redact(line)
        assert REDACTED in cleaned, line
        for value in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, signature, "sk-anything", "abc.def"):
            assert value not in cleaned, cleaned


def test_the_filter_rewrites_messages_args_and_tracebacks() -> None:
    protect(LLM_KEY)
    try:
        raise ValueError(f"key {LLM_KEY} refused")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "using %s", (LLM_KEY,), exc_info=sys.exc_info()
        )
    Redactor().filter(record)
    text = logging.Formatter().format(record)
    assert LLM_KEY not in text and text.count(REDACTED) == 2


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoSes]:
    server = MotoSes()
    yield server
    server.stop()


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with serving() as server:
        server.responder = lambda body: fail(400, "context too long")
        yield server


@pytest.mark.parametrize("verbosity", ["-vv", "-vvv"])
def test_send_at_any_verbosity_logs_no_secret(
    workdir: Path, moto: MotoSes, llm: LLMServer, verbosity: str
) -> None:
    moto.reset()
    make_site(workdir, subscriber_rows(3, [""]))
    env = clean_env(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_SESSION_TOKEN=SESSION_TOKEN,
        AWS_DEFAULT_REGION="us-east-1",
        NEWSLETTER_LLM_API_KEY=LLM_KEY,
        NEWSLETTER_UNSUBSCRIBE_SECRET=UNSUBSCRIBE_KEY,
        GITHUB_TOKEN=GITHUB_TOKEN,
        NEWSLETTER_DELIVERY__TRANSPORT="ses",
        NEWSLETTER_DELIVERY__SES__ENDPOINT_URL=moto.url,
        NEWSLETTER_DELIVERY__UNSUBSCRIBE_URL="https://news.example.com/u",
        NEWSLETTER_LLM__BASE_URL=llm.url,
        NEWSLETTER_LLM__MODEL="m",
        NEWSLETTER_LLM__MAX_RETRIES="0",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "newsletter",
            verbosity,
            "send",
            "--date",
            DAY,
            "--force",
            "--replay",
            "sample",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "sent 3, skipped 0, failed 0, unknown 0" in out
    assert llm.headers and all(h["authorization"] == f"Bearer {LLM_KEY}" for h in llm.headers)
    assert len(moto.sent()) == 3  # the credentials were used, and worked
    for value in (*SECRETS, "AWS4-HMAC-SHA256", "Signature=", "?token="):
        assert value not in out, f"{value!r} in the output of send {verbosity}"
    assert re.search(r"^INFO newsletter\.", out, re.MULTILINE)  # the verbose lines are there
    assert not re.search(r"^DEBUG (?!newsletter)", out, re.MULTILINE)  # no library dumps
