"""POST /sns of `newsletter serve`: SNS messages signed with a test key and a self-signed
certificate served from 127.0.0.1, verified (SignatureVersion 1 and 2) before anything is
done; everything else refused and logged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from support.ses_events import TOPIC, Signer, bounce, sns_envelope
from support.web_server import SECRET, Served, serve_app

from newsletter.config import load_settings

CERT_PATH = "/SimpleNotificationService-test.pem"


@pytest.fixture
def sns_host(httpserver: HTTPServer) -> HTTPServer:
    return httpserver


@pytest.fixture
def signer(sns_host: HTTPServer) -> Signer:
    signer = Signer(sns_host.url_for(CERT_PATH))
    sns_host.expect_request(CERT_PATH).respond_with_data(
        signer.pem, content_type="application/x-x509-ca-cert"
    )
    return signer


@pytest.fixture
def served(workdir: Path, sns_host: HTTPServer) -> Iterator[Served]:
    (workdir / "subscribers").mkdir()
    (workdir / "subscribers" / "list.yaml").write_text(
        "- email: hard@example.com\n", encoding="utf-8"
    )
    port = sns_host.port
    env = {
        "NEWSLETTER_UNSUBSCRIBE_SECRET": SECRET,
        "NEWSLETTER_FEEDBACK__SNS_TOPIC_ARN": TOPIC,
        # In production: https://sns.<region>.amazonaws.com/...pem (the default pattern).
        "NEWSLETTER_FEEDBACK__SNS_CERT_URL_PATTERN": (
            rf"^http://localhost:{port}/SimpleNotificationService-[a-z]+\.pem$"
        ),
    }
    with serve_app(load_settings(None, env=env)) as s:
        yield s


def post(served: Served, message: dict[str, Any] | bytes) -> httpx.Response:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    headers = {"x-amz-sns-message-type": "Notification", "content-type": "text/plain"}
    return httpx.post(f"{served.url}/sns", content=body, headers=headers, timeout=10)


def cert_fetches(sns_host: HTTPServer) -> int:
    return sum(1 for request, _ in sns_host.log if request.path == CERT_PATH)


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_bounce_suppresses_and_the_certificate_is_fetched_once(
    served: Served, signer: Signer, sns_host: HTTPServer, version: str
) -> None:
    first = post(served, signer.sign(sns_envelope(bounce("ses-1", "hard@example.com")), version))
    assert first.status_code == 200 and "hard@example.com: suppressed" in first.text
    again = post(served, signer.sign(sns_envelope(bounce("ses-2", "other@example.org")), version))
    assert again.status_code == 200 and "other@example.org: unknown-address" in again.text
    assert served.store.status_of("hard@example.com") == "bounced"
    assert served.store.statuses() == {"hard@example.com": "bounced"}
    assert cert_fetches(sns_host) == 1


def test_a_bad_signature_is_refused(served: Served, signer: Signer) -> None:
    signed = signer.sign(sns_envelope(bounce("ses-1", "hard@example.com")))
    signed["Message"] = signed["Message"].replace("Permanent", "Transient")
    answer = post(served, signed)
    assert answer.status_code == 403 and "bad signature" in answer.text
    other_key = Signer(signer.cert_url)  # signed with a key that is not the certificate's
    answer = post(served, other_key.sign(sns_envelope(bounce("ses-1", "hard@example.com"))))
    assert answer.status_code == 403 and "bad signature" in answer.text
    assert served.store.statuses() == {}


def test_a_certificate_from_another_host_is_never_fetched(
    served: Served, sns_host: HTTPServer
) -> None:
    for url in (
        "https://sns.evil.example.org/SimpleNotificationService-x.pem",
        sns_host.url_for(CERT_PATH).replace("localhost", "127.0.0.1"),
        sns_host.url_for("/SimpleNotificationService-test.pem.evil"),
    ):
        forged = Signer(url).sign(sns_envelope(bounce("ses-1", "hard@example.com")))
        answer = post(served, forged)
        assert answer.status_code == 403 and "not on an SNS host" in answer.text
    assert cert_fetches(sns_host) == 0
    assert served.store.statuses() == {}


def test_unknown_types_other_topics_and_non_ses_notifications(
    served: Served, signer: Signer
) -> None:
    odd = signer.sign({**sns_envelope(bounce("s", "hard@example.com")), "Type": "Surprise"})
    assert post(served, odd).status_code == 400
    assert post(served, b"not json").status_code == 400
    other = signer.sign(sns_envelope(bounce("s", "hard@example.com"), topic=TOPIC + "-other"))
    answer = post(served, other)
    assert answer.status_code == 403 and "is not ours" in answer.text
    note = sns_envelope({"hello": "world"})
    answer = post(served, signer.sign(note))
    assert answer.status_code == 400 and "not an SES event" in answer.text
    assert served.store.statuses() == {}


def confirmation(sns_host: HTTPServer, topic: str) -> dict[str, Any]:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37f",
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}.",
        "SubscribeURL": sns_host.url_for("/?Action=ConfirmSubscription&Token=2336412f37f"),
        "Timestamp": "2026-06-12T00:00:00.000Z",
    }


def test_subscription_confirmed_only_for_the_configured_topic(
    served: Served, signer: Signer, sns_host: HTTPServer
) -> None:
    sns_host.expect_request(
        "/", query_string={"Action": "ConfirmSubscription", "Token": "2336412f37f"}
    ).respond_with_data("<ConfirmSubscriptionResponse/>")
    other = post(served, signer.sign(confirmation(sns_host, TOPIC + "-other")))
    assert other.status_code == 403
    assert not [r for r, _ in sns_host.log if r.path == "/"]
    ours = post(served, signer.sign(confirmation(sns_host, TOPIC)))
    assert ours.status_code == 200 and "subscription confirmed" in ours.text
    assert len([r for r, _ in sns_host.log if r.path == "/"]) == 1
    # A SubscribeURL on another host than the signing certificate's is not followed.
    elsewhere = confirmation(sns_host, TOPIC)
    elsewhere["SubscribeURL"] = "https://evil.example.org/?Action=ConfirmSubscription"
    answer = post(served, signer.sign(elsewhere))
    assert answer.status_code == 403 and "not on the signing SNS host" in answer.text
