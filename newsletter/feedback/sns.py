"""``POST /sns``: SES events straight from SNS over HTTPS, each message's signature verified.

SNS signs a message with the key of a certificate it names in ``SigningCertURL``. That URL
must match ``feedback.sns_cert_url_pattern`` (SNS's own hosts) before anything is fetched;
certificates are cached by URL. ``SignatureVersion`` 1 is RSA with SHA1, 2 with SHA256,
over the message's fields as ``name\\nvalue\\n`` in a fixed order. Only the configured
topic is accepted, and only its ``SubscriptionConfirmation`` is confirmed.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ..config import Settings
from ..errors import FeedbackError
from ..store import Store
from . import NotSes, apply, events_of, known_addresses, notification

log = logging.getLogger(__name__)

SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
MAX_CERTS = 16


class Refused(FeedbackError):
    """An SNS message we do not act on; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The bytes SNS signs: each signed field present, as ``name\\nvalue\\n``, in order."""
    kind = str(message.get("Type"))
    out = []
    for name in SIGNED_FIELDS[kind]:
        if name in message and message[name] is not None:
            out.append(f"{name}\n{message[name]}\n")
    return "".join(out).encode("utf-8")


class SignatureChecker:
    """Verifies SNS signatures; fetches each signing certificate once (``fetch`` is passed in)."""

    def __init__(self, cert_url_pattern: str, fetch: Callable[[str], bytes]) -> None:
        self.pattern = re.compile(cert_url_pattern)
        self.fetch = fetch
        self._certs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def certificate(self, url: str) -> Any:
        from cryptography import x509

        if not self.pattern.fullmatch(url):
            raise Refused(403, f"signing certificate {url[:120]!r} is not on an SNS host")
        with self._lock:
            cert = self._certs.get(url)
        if cert is None:
            try:
                cert = x509.load_pem_x509_certificate(self.fetch(url))
            except ValueError as exc:
                raise Refused(
                    403, f"signing certificate {url} is not a PEM certificate: {exc}"
                ) from None
            with self._lock:
                if len(self._certs) >= MAX_CERTS:
                    self._certs.pop(next(iter(self._certs)))
                self._certs[url] = cert
        now = datetime.now(UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise Refused(403, f"signing certificate {url} is not valid now")
        return cert

    def verify(self, message: dict[str, Any]) -> None:
        """Return when the message's signature is good; Refused otherwise."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        version = str(message.get("SignatureVersion"))
        algorithm = {"1": hashes.SHA1, "2": hashes.SHA256}.get(version)
        if algorithm is None:
            raise Refused(400, f"unknown SignatureVersion {version!r}")
        try:
            signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        except (binascii.Error, ValueError):
            raise Refused(403, "the signature is not base64") from None
        key = self.certificate(str(message.get("SigningCertURL", ""))).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise Refused(403, "the signing certificate holds no RSA key")
        try:
            key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise Refused(403, "bad signature") from None


class SnsEndpoint:
    """Handles one POST body: verify, then confirm the subscription or apply the events."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        checker: SignatureChecker,
        fetch: Callable[[str], bytes],
    ) -> None:
        self.settings, self.store, self.checker, self.fetch = settings, store, checker, fetch
        self.topic = settings.feedback.sns_topic_arn

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> SnsEndpoint:
        """With an httpx client for certificates and subscription confirmations."""
        import httpx

        client = httpx.Client(timeout=10, follow_redirects=False)

        def fetch(url: str) -> bytes:
            try:
                response = client.get(url)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise Refused(502, f"cannot fetch {url}: {exc}") from None
            return response.content

        checker = SignatureChecker(settings.feedback.sns_cert_url_pattern, fetch)
        return cls(settings, store, checker, fetch)

    def handle(self, body: bytes) -> tuple[int, str]:
        """(HTTP status, one-line answer); every refusal is logged."""
        try:
            return 200, self._handle(body)
        except (Refused, NotSes) as exc:
            status = exc.status if isinstance(exc, Refused) else 400
            log.warning("SNS message refused (%d): %s", status, exc)
            return status, str(exc)

    def _handle(self, body: bytes) -> str:
        try:
            message = json.loads(body)
        except ValueError:
            raise Refused(400, "not JSON") from None
        if not isinstance(message, dict):
            raise Refused(400, "not a JSON object")
        kind = message.get("Type")
        if kind not in SIGNED_FIELDS:
            raise Refused(400, f"unknown SNS message type {str(kind)[:40]!r}")
        if message.get("TopicArn") != self.topic:
            raise Refused(403, f"topic {str(message.get('TopicArn'))[:120]!r} is not ours")
        self.checker.verify(message)
        if kind == "SubscriptionConfirmation":
            return self._confirm(message)
        if kind == "UnsubscribeConfirmation":
            log.warning("SNS: %s unsubscribed this endpoint", self.topic)
            return "noted"
        note_id, ses = notification(body.decode("utf-8"), str(message.get("MessageId")))
        events = events_of(note_id, ses)
        known = known_addresses(self.settings, self.store)
        done = apply(self.settings, self.store, events, known.__contains__)
        return ", ".join(f"{d.event.email}: {d.action}" for d in done) or "nothing to do"

    def _confirm(self, message: dict[str, Any]) -> str:
        url = str(message.get("SubscribeURL", ""))
        cert = urlsplit(str(message.get("SigningCertURL", "")))
        target = urlsplit(url)
        # The confirmation goes only to the SNS host that signed the message.
        if (target.scheme, target.netloc) != (cert.scheme, cert.netloc):
            raise Refused(403, f"SubscribeURL {url[:120]!r} is not on the signing SNS host")
        self.fetch(url)
        log.warning("SNS: confirmed the subscription of this endpoint to %s", self.topic)
        return "subscription confirmed"
