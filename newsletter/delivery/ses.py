"""Amazon SES (sesv2 ``SendEmail`` with Raw content) through boto3's own credential chain."""

from __future__ import annotations

import re
from typing import Any

from ..config import Settings
from .transports import Fatal, Permanent, Throttled, Transient, Transport, register

_THROTTLE = {"TooManyRequestsException", "Throttling", "ThrottlingException",
             "LimitExceededException"}
_PERMANENT = {"MessageRejected", "BadRequestException", "InvalidParameterValue",
              "MailFromDomainNotVerifiedException", "NotFoundException"}
_FATAL = {"SendingPausedException", "AccountSuspendedException", "AccessDeniedException",
          "UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch",
          "ExpiredTokenException"}
_TAG_VALUE = re.compile(r"[^A-Za-z0-9_.@-]")


def _tag(value: str) -> str:
    # SES tag values allow only ASCII letters, digits, _ - . @
    return _TAG_VALUE.sub("_", value)[:256] or "_"


class SesTransport:
    name = "ses"

    def __init__(self, client: Any, configuration_set: str = "") -> None:
        self.client = client
        self.configuration_set = configuration_set

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        args: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": raw}},
        }
        if tags:
            args["EmailTags"] = [{"Name": _tag(k), "Value": _tag(v)} for k, v in tags.items()]
        if self.configuration_set:
            args["ConfigurationSetName"] = self.configuration_set
        try:
            answer = self.client.send_email(**args)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            text = f"{code}: {exc.response.get('Error', {}).get('Message', '')}"
            if code in _THROTTLE or status == 429:
                raise Throttled(text) from None
            if code in _FATAL:
                raise Fatal(text) from None
            if code in _PERMANENT or (400 <= status < 500):
                raise Permanent(text) from None
            raise Transient(text) from None
        except (EndpointConnectionError, BotoCoreError) as exc:
            raise Transient(f"{type(exc).__name__}: {exc}") from None
        return str(answer.get("MessageId", ""))

    def max_send_rate(self) -> float | None:
        """SES's own MaxSendRate for this account, if the API tells."""
        try:
            quota = self.client.get_account().get("SendQuota", {})
        except Exception:  # noqa: BLE001 - fall back to the configured rate
            return None
        rate = quota.get("MaxSendRate")
        return float(rate) if rate else None

    def close(self) -> None:
        pass


def make_ses_client(settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    ses = settings.delivery.ses
    return boto3.client(
        "sesv2",
        region_name=ses.region,
        endpoint_url=ses.endpoint_url or None,
        # Our own loop retries throttling and 5xx with the ledger in view.
        config=Config(retries={"max_attempts": 1, "mode": "standard"},
                      max_pool_connections=max(10, settings.delivery.concurrency * 2)),
    )


@register("ses")
def _ses(settings: Settings, edition_date: str) -> Transport:
    return SesTransport(make_ses_client(settings), settings.delivery.ses.configuration_set)
