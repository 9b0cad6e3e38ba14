"""SES event records and SNS messages in the shapes AWS documents, written for the tests.

``bounce``/``complaint``/``delivery`` build SES event-publishing records (``eventType`` with
its ``mail`` object); ``sns_envelope`` wraps one as SNS delivers it (to SQS, or to an HTTPS
endpoint); ``Signer`` signs SNS messages with a test RSA key and a self-signed certificate
made here (cryptography), served from a local HTTP server as SNS serves its own.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
SOURCE = "AI Paper Digest <digest@example.com>"


def _mail(ses_id: str, to: list[str], at: str) -> dict[str, Any]:
    return {
        "timestamp": at,
        "source": SOURCE,
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/digest@example.com",
        "sendingAccountId": "123456789012",
        "messageId": ses_id,
        "destination": to,
        "headersTruncated": False,
        "commonHeaders": {"from": [SOURCE], "to": to, "subject": "[2026-06-12] digest"},
        "tags": {"ses:configuration-set": ["newsletter"], "date": ["2026-06-12"]},
    }


def bounce(
    ses_id: str, to: str, kind: str = "Permanent", sub: str = "General", at: str = ""
) -> dict[str, Any]:
    at = at or "2026-06-12T00:41:02.669Z"
    status = "5.1.1" if kind == "Permanent" else "4.2.2"
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bounceSubType": sub,
            "bouncedRecipients": [
                {
                    "emailAddress": to,
                    "action": "failed",
                    "status": status,
                    "diagnosticCode": f"smtp; 550 {status} user unknown",
                }
            ],
            "timestamp": at,
            "feedbackId": f"0100-{uuid.uuid4()}-000000",
            "reportingMTA": "dsn; mta.example.org",
        },
        "mail": _mail(ses_id, [to], at),
    }


def complaint(ses_id: str, to: str, at: str = "2026-06-12T01:00:00.000Z") -> dict[str, Any]:
    return {
        "eventType": "Complaint",
        "complaint": {
            "feedbackId": f"0100-{uuid.uuid4()}-000000",
            "complaintSubType": None,
            "complainedRecipients": [{"emailAddress": to}],
            "timestamp": at,
            "userAgent": "Mozilla/5.0",
            "complaintFeedbackType": "abuse",
            "arrivalDate": at,
        },
        "mail": _mail(ses_id, [to], at),
    }


def delivery(ses_id: str, to: str, at: str = "2026-06-12T00:40:05.000Z") -> dict[str, Any]:
    return {
        "eventType": "Delivery",
        "delivery": {
            "timestamp": at,
            "processingTimeMillis": 1200,
            "recipients": [to],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "mta.example.org",
        },
        "mail": _mail(ses_id, [to], at),
    }


def sns_envelope(event: dict[str, Any], topic: str = TOPIC) -> dict[str, Any]:
    """The SNS Notification that carries ``event`` (unsigned fields filled in)."""
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic,
        "Message": json.dumps(event),
        "Timestamp": "2026-06-12T00:41:03.000Z",
        "SignatureVersion": "1",
        "Signature": "",
        "SigningCertURL": "",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }


def canonical(message: dict[str, Any]) -> bytes:
    """What SNS signs, written here from AWS's description (not from the code under test):
    for a Notification Message, MessageId, Subject (if any), Timestamp, TopicArn, Type; for
    a (Un)SubscriptionConfirmation Message, MessageId, SubscribeURL, Timestamp, Token,
    TopicArn, Type; each as its name, a newline, its value, a newline."""
    if message["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    lines = [f"{n}\n{message[n]}\n" for n in names if message.get(n) is not None]
    return "".join(lines).encode()


class Signer:
    """A test RSA key and a self-signed certificate; signs SNS messages like SNS does."""

    def __init__(self, cert_url: str) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test.invalid")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        self.pem = cert.public_bytes(serialization.Encoding.PEM)
        self.cert_url = cert_url

    def sign(self, message: dict[str, Any], version: str = "2") -> dict[str, Any]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        signed = {**message, "SignatureVersion": version, "SigningCertURL": self.cert_url}
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        raw = self.key.sign(canonical(signed), padding.PKCS1v15(), algorithm)
        signed["Signature"] = base64.b64encode(raw).decode()
        return signed
