"""`newsletter feedback` against moto's server: SES events published to SNS, delivered to SQS,
applied to the store, and deleted only once applied."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from support.delivery_servers import AWS_ENV
from support.ses_events import bounce, complaint, delivery

from newsletter.cli import cli
from newsletter.config import Settings, load_settings
from newsletter.errors import StoreError
from newsletter.feedback.queue import drain
from newsletter.store import Event, Store

DAY = "2026-06-12"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Aws:
    """An SNS topic delivering to an SQS queue on moto, as SES event publishing is set up."""

    def __init__(self, url: str) -> None:
        reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset).close()
        kw: dict[str, Any] = {
            "region_name": "us-east-1",
            "endpoint_url": url,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        self.url = url
        self.sqs = boto3.client("sqs", **kw)
        self.sns = boto3.client("sns", **kw)
        # VisibilityTimeout 0: a message not deleted is handed out again at once.
        self.queue = self.sqs.create_queue(
            QueueName="ses-events", Attributes={"VisibilityTimeout": "0"}
        )["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])
        self.topic = self.sns.create_topic(Name="ses-events")["TopicArn"]
        self.sns.subscribe(
            TopicArn=self.topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"]
        )

    def publish(self, event: dict[str, Any]) -> None:
        self.sns.publish(TopicArn=self.topic, Message=json.dumps(event))

    def waiting(self) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return Aws(moto_url)


def make_settings(workdir: Path, aws: Aws, **env: str) -> Settings:
    subs = workdir / "subscribers"
    subs.mkdir(exist_ok=True)
    (subs / "list.yaml").write_text(
        "".join(f"- email: {n}@example.com\n" for n in ("hard", "angry", "soft", "fine")),
        encoding="utf-8",
    )
    base = {
        "NEWSLETTER_FEEDBACK__QUEUE_URL": aws.queue,
        "NEWSLETTER_FEEDBACK__ENDPOINT_URL": aws.url,
        "NEWSLETTER_FEEDBACK__WAIT_S": "0",
        "NEWSLETTER_FEEDBACK__VISIBILITY_TIMEOUT_S": "0",
    }
    return load_settings(None, env={**base, **env})


def sent(store: Store, *names: str) -> dict[str, str]:
    """Ledger rows of DAY marked sent with an SES MessageId each; address -> MessageId."""
    ids = {f"{n}@example.com": f"0100-ses-{n}-000000" for n in names}
    store.plan(DAY, [(email, "v", "pending") for email in ids])
    for email, ses_id in ids.items():
        store.claim(DAY, email)
        store.mark(DAY, email, "sent", message_id=ses_id)
    return ids


def client(aws: Aws) -> Any:
    return aws.sqs


def test_bounce_and_complaint_suppress_at_once_and_mark_the_ledger_row(
    workdir: Path, aws: Aws
) -> None:
    settings = make_settings(workdir, aws)
    store = Store(settings.layout.store)
    ids = sent(store, "hard", "angry", "fine")
    aws.publish(bounce(ids["hard@example.com"], "hard@example.com"))
    aws.publish(complaint(ids["angry@example.com"], "angry@example.com"))
    aws.publish(delivery(ids["fine@example.com"], "fine@example.com"))
    report = drain(settings, store, client(aws))
    assert (report.received, report.deleted, report.rejected) == (3, 3, [])
    assert report.actions == {"suppressed": 2, "delivered": 1}
    assert store.status_of("hard@example.com") == "bounced"
    assert store.status_of("angry@example.com") == "complained"
    assert store.status_of("fine@example.com") == "active"
    assert store.outcome(DAY, "hard@example.com") == "bounce"
    assert store.outcome(DAY, "fine@example.com") == "delivery"
    assert aws.waiting() == 0


def test_transient_bounces_suppress_after_the_configured_count(workdir: Path, aws: Aws) -> None:
    settings = make_settings(workdir, aws, NEWSLETTER_FEEDBACK__TRANSIENT_LIMIT="3")
    store = Store(settings.layout.store)
    ids = sent(store, "soft")
    for day in ("2026-06-12", "2026-06-13"):
        at = f"{day}T01:00:00.000Z"
        aws.publish(bounce(ids["soft@example.com"], "soft@example.com", "Transient", at=at))
    drain(settings, store, client(aws))
    assert store.status_of("soft@example.com") == "active"
    aws.publish(
        bounce(ids["soft@example.com"], "soft@example.com", "Transient", at="2026-06-14T01:00:00Z")
    )
    report = drain(settings, store, client(aws))
    assert report.actions == {"suppressed": 1}
    assert store.status_of("soft@example.com") == "bounced"


def test_old_transient_bounces_fall_out_of_the_window(workdir: Path, aws: Aws) -> None:
    settings = make_settings(
        workdir,
        aws,
        NEWSLETTER_FEEDBACK__TRANSIENT_LIMIT="2",
        NEWSLETTER_FEEDBACK__TRANSIENT_WINDOW_DAYS="7",
    )
    store = Store(settings.layout.store)
    ids = sent(store, "soft")
    aws.publish(
        bounce(ids["soft@example.com"], "soft@example.com", "Transient", at="2026-05-01T00:00:00Z")
    )
    aws.publish(
        bounce(ids["soft@example.com"], "soft@example.com", "Transient", at="2026-06-12T00:00:00Z")
    )
    assert drain(settings, store, client(aws)).actions == {"counted": 2}
    assert store.status_of("soft@example.com") == "active"


def test_messages_that_are_not_ses_notifications_stay_on_the_queue(workdir: Path, aws: Aws) -> None:
    settings = make_settings(workdir, aws)
    store = Store(settings.layout.store)
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody="hello, not json")
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=json.dumps({"Records": []}))
    aws.publish({"eventType": "Bounce", "mail": {"messageId": "x"}})  # no bounce object
    report = drain(settings, store, client(aws))
    assert report.deleted == 0 and len(report.rejected) == 3 and report.exit_code == 1
    assert any("not JSON" in r for r in report.rejected)
    assert any("not an SES event" in r for r in report.rejected)
    assert any("without its 'bounce' object" in r for r in report.rejected)
    assert store.statuses() == {}
    assert aws.waiting() == 3


def test_a_bounce_for_an_unknown_address_changes_no_status(workdir: Path, aws: Aws) -> None:
    settings = make_settings(workdir, aws)
    store = Store(settings.layout.store)
    aws.publish(bounce("0100-unknown-000000", "stranger@example.org"))
    report = drain(settings, store, client(aws))
    assert report.actions == {"unknown-address": 1} and report.deleted == 1
    assert store.statuses() == {}


def test_the_same_notification_twice_is_applied_once(workdir: Path, aws: Aws) -> None:
    settings = make_settings(workdir, aws, NEWSLETTER_FEEDBACK__TRANSIENT_LIMIT="2")
    store = Store(settings.layout.store)
    ids = sent(store, "soft")
    aws.publish(bounce(ids["soft@example.com"], "soft@example.com", "Transient"))
    (message,) = aws.sqs.receive_message(QueueUrl=aws.queue)["Messages"]
    # SQS delivers at least once: the same body can come back.
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=message["Body"])
    report = drain(settings, store, client(aws))
    assert report.actions == {"counted": 1, "duplicate": 1}
    assert store.status_of("soft@example.com") == "active"


class BrokenStore(Store):
    """A store whose commit of feedback fails (a full disk, a lock held too long)."""

    def apply_event(self, event: Event, known: bool, soft_limit: int, soft_window_s: float) -> Any:
        raise StoreError(f"{self.path}: delivery ledger error: disk I/O error")


def test_a_message_is_deleted_only_after_the_store_committed(workdir: Path, aws: Aws) -> None:
    settings = make_settings(workdir, aws)
    ids = sent(Store(settings.layout.store), "hard")
    aws.publish(bounce(ids["hard@example.com"], "hard@example.com"))
    with pytest.raises(StoreError):
        drain(settings, BrokenStore(settings.layout.store), client(aws))
    assert aws.waiting() == 1  # still there for the next run
    store = Store(settings.layout.store)
    assert drain(settings, store, client(aws)).actions == {"suppressed": 1}
    assert aws.waiting() == 0


def test_cli_reports_and_status_shows_rates_beside_the_ses_thresholds(
    workdir: Path, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(workdir, aws)
    for name, value in {
        "NEWSLETTER_FEEDBACK__QUEUE_URL": aws.queue,
        "NEWSLETTER_FEEDBACK__ENDPOINT_URL": aws.url,
        "NEWSLETTER_FEEDBACK__WAIT_S": "0",
    }.items():
        monkeypatch.setenv(name, value)
    store = Store(settings.layout.store)
    names = [f"r{i}" for i in range(30)]
    ids = sent(store, *names)
    aws.publish(bounce(ids["r0@example.com"], "r0@example.com"))
    aws.sqs.send_message(QueueUrl=aws.queue, MessageBody="junk")
    result = CliRunner().invoke(cli, ["feedback"])
    assert result.exit_code == 1, result.output
    assert "not an SES notification" in result.output
    assert "feedback: 2 messages, 1 deleted; 1 suppressed; 1 not understood" in result.output
    status = CliRunner().invoke(cli, ["status", "--date", DAY])
    assert (
        "feedback editions 1, sent 30, bounced 1, complained 0, bounce_rate 3.33%" in status.output
    )
    assert "SES review 5% / 0.1%, pause 10% / 0.5%" in status.output
    assert "bounce rate 3.33% over the last 1 editions is past the early warning (2.00%" in (
        status.output
    )
