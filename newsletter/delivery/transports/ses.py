"""Amazon SES (sesv2 ``SendEmail`` with Raw content) through boto3's own credential chain."""

from __future__ import annotations

import logging
import re
from typing import Any

from ...config import Settings
from ...errors import ConfigError, Fatal, Permanent, Throttled, Transient, Unknown
from ...logs import protect

log = logging.getLogger(__name__)

_THROTTLE = {
    "TooManyRequestsException",
    "Throttling",
    "ThrottlingException",
    "LimitExceededException",
}
_PERMANENT = {
    "MessageRejected",
    "BadRequestException",
    "InvalidParameterValue",
    "MailFromDomainNotVerifiedException",
    "NotFoundException",
}
_FATAL = {
    "SendingPausedException",
    "AccountSuspendedException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
    "AccountSendingPausedException",
    "ConfigurationSetSendingPausedException",
}
_TAG_VALUE = re.compile(r"[^A-Za-z0-9_.@-]")


def _tag(value: str) -> str:
    # SES tag names and values allow only ASCII letters, digits, _ - . @
    return _TAG_VALUE.sub("_", value)[:256] or "_"


def _setup_problem(exc: Exception) -> str | None:
    """The message for boto3 failing before any request (no credentials, no region), or None.

    These are BotoCoreErrors like a dropped connection, but no retry can fix them: the run
    must stop with every row still pending.
    """
    from botocore.exceptions import NoCredentialsError, NoRegionError, PartialCredentialsError

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return (
            f"SES: AWS credentials missing or incomplete ({exc}); set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or attach a role"
        )
    if isinstance(exc, NoRegionError):
        return f"SES: no AWS region ({exc}); set delivery.ses.region"
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str, limit: int = 500) -> str:
    """An answer's text for a terminal and the ledger: no control characters, bounded."""
    text = _CONTROL.sub("?", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def classify(code: str, status: int, message: str) -> type[Exception]:
    """The error kind for an SES error code, HTTP status and message."""
    if "daily message quota" in message.lower() or "daily sending quota" in message.lower():
        # Throttling in name only: retrying within the same 24 hours cannot succeed.
        return Fatal
    if code in _THROTTLE or status == 429:
        return Throttled
    if code in _FATAL or status in (401, 403):
        # No SES error about one recipient is a 401/403: whatever answers so (a proxy, a
        # firewall, a wrong endpoint) answers so for everyone.
        return Fatal
    if code in _PERMANENT or 400 <= status < 500:
        return Permanent
    return Transient


def connection_closed(exc: Exception) -> Exception:
    """The outcome of a connection that ended before SES's answer came (ConnectionClosedError).

    urllib3 swallows a failed write and surfaces every such end as "Connection aborted."
    (nothing of the answer read) or "Connection broken" (part of it read), with the socket
    error inside. A TCP reset before any byte of the answer means the peer threw away what it
    had not read (a host closing with unread data resets, RFC 1122 4.2.2.13; so does a NAT
    that forgot an idle connection): SES never took the request, retry it. An orderly close
    without an answer (RemoteDisconnected) is what a server that read the request and then
    died sends, and a reset mid-answer means SES answered: both may have sent the message.
    """
    from http.client import RemoteDisconnected

    error = getattr(exc, "kwargs", {}).get("error")
    args: tuple[object, ...] = tuple(getattr(error, "args", ()))
    cause = args[1] if len(args) > 1 else None
    aborted = bool(args) and args[0] == "Connection aborted."
    if (
        aborted
        and isinstance(cause, (ConnectionResetError, BrokenPipeError))
        and not isinstance(cause, RemoteDisconnected)
    ):
        return Transient(f"connection reset before SES answered, not taken: {cause}")
    what = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
    return Unknown(f"ConnectionClosedError ({what}); SES may have sent it")


class SesTransport:
    """Sends each message with ``sesv2.send_email`` (Raw), tagged with the date and variant."""

    name = "ses"

    def __init__(self, client: Any, configuration_set: str = "") -> None:
        self.client = client
        self.configuration_set = configuration_set
        self._account: dict[str, Any] | None = None
        self._setup_problem: str | None = None

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        """Hand one raw message to SES; returns SES's MessageId."""
        args: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": raw}},
        }
        if tags:
            args["EmailTags"] = [{"Name": _tag(k), "Value": _tag(v)} for k, v in tags.items()]
        if self.configuration_set:
            args["ConfigurationSetName"] = self.configuration_set
        return str(self.call("send_email", **args).get("MessageId", ""))

    def call(self, operation: str, *, exists_ok: bool = False, **args: Any) -> dict[str, Any]:
        """One SES call; its failure as the TransportError kind it is (``exists_ok``: an
        AlreadyExistsException is an empty answer)."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            ParamValidationError,
            ReadTimeoutError,
        )
        from botocore.parsers import ResponseParserError

        try:
            return dict(getattr(self.client, operation)(**args))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code", "")), str(error.get("Message", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if exists_ok and code == "AlreadyExistsException":
                return {}
            kind = classify(code, status, message)
            raise kind(printable(f"SES {status} {code}: {message}".strip())) from None
        except ParamValidationError as exc:
            raise Permanent(f"SES refused the request before sending: {exc}") from None
        except ConnectionClosedError as exc:
            raise connection_closed(exc) from None
        except ReadTimeoutError as exc:
            # The request went out whole and SES did not answer in time: it may have sent it.
            raise Unknown(f"{type(exc).__name__}: {exc}") from None
        except (ResponseParserError, RecursionError) as exc:
            # An answer came (SES may have taken the message) that cannot be read.
            raise Unknown(f"SES answered, but not readably ({type(exc).__name__})") from None
        except BotoCoreError as exc:
            problem = _setup_problem(exc)
            if problem:
                raise Fatal(problem) from None
            raise Transient(f"{type(exc).__name__}: {exc}") from None

    def account(self) -> dict[str, Any] | None:
        """SES's GetAccount answer (fetched once), or None if SES will not tell."""
        from botocore.exceptions import BotoCoreError, ClientError

        if self._account is None:
            try:
                self._account = dict(self.client.get_account())
            except (BotoCoreError, ClientError) as exc:
                self._setup_problem = _setup_problem(exc)
                log.info("SES GetAccount failed (%s); using delivery.rate_per_s", exc)
                self._account = {}
        return self._account or None

    def max_send_rate(self) -> float | None:
        """SES's MaxSendRate for this account (GetAccount), or None if it cannot tell."""
        rate = ((self.account() or {}).get("SendQuota") or {}).get("MaxSendRate")
        return float(rate) if rate and float(rate) > 0 else None

    def preflight(self, todo: int) -> None:
        """Before claiming anything: stop if sending is disabled; warn if the quota is short."""
        account = self.account()
        if self._setup_problem:
            raise Fatal(self._setup_problem)
        if not account:
            return
        if account.get("SendingEnabled") is False:
            raise Fatal(
                "SES: sending is disabled for this account (GetAccount SendingEnabled=false)"
            )
        quota = account.get("SendQuota") or {}
        cap, used = quota.get("Max24HourSend"), quota.get("SentLast24Hours")
        if cap is not None and used is not None and float(cap) >= 0:
            left = max(0, int(float(cap) - float(used)))
            if todo > left:
                log.warning(
                    "SES daily quota: %d of %d left, %d to send; the run stops when "
                    "it is reached and a later run sends the rest",
                    left,
                    int(float(cap)),
                    todo,
                )

    def close(self) -> None:
        """Nothing to release: boto3 clients pool their own connections."""


def make_ses_client(settings: Settings) -> Any:
    """A sesv2 client from the settings (region, endpoint_url), without boto3's retries."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoRegionError, PartialCredentialsError

    ses = settings.delivery.ses
    try:
        # A session of its own: boto3's default session caches the credentials it found
        # first, and a long-lived process must see the ones in force now.
        session = boto3.session.Session()
        _protect_credentials(session)
        return session.client(
            "sesv2",
            region_name=ses.region or None,
            endpoint_url=ses.endpoint_url or None,
            # Our own loop retries throttling and 5xx with the ledger in view; botocore must
            # not (its 'max_attempts' counts retries: 1 would still resend a timed-out request).
            config=Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=min(10.0, ses.timeout_s),
                read_timeout=ses.timeout_s,
                max_pool_connections=max(10, settings.delivery.concurrency * 2),
            ),
        )
    except NoRegionError:
        raise ConfigError(
            "delivery.ses.region is empty and no AWS region is configured "
            "(AWS_DEFAULT_REGION): set delivery.ses.region"
        ) from None
    except PartialCredentialsError as exc:
        # boto3 resolves credentials when it makes the client; only a half-set pair fails here.
        raise ConfigError(str(_setup_problem(exc))) from None


def _protect_credentials(session: Any) -> None:
    """Keep the credentials boto3 found (environment, profile, role) out of every log line."""
    from botocore.exceptions import BotoCoreError

    try:
        found = session.get_credentials()
    except BotoCoreError:
        return  # a half-set pair: make_ses_client says so
    if found is not None:
        frozen = found.get_frozen_credentials()
        protect(frozen.access_key, frozen.secret_key, frozen.token)


def make(settings: Settings, edition_date: str) -> SesTransport:
    """SES as configured under ``delivery.ses``."""
    return SesTransport(make_ses_client(settings), settings.delivery.ses.configuration_set)
