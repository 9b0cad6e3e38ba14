"""Header values and the top-level headers of a message: nothing from outside breaks a line."""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import format_datetime, parseaddr

from ..errors import HeaderInjection


class _Policy(EmailPolicy):
    """SMTP's policy, except that the List-* headers are never RFC 2047-encoded.

    Python folds an unstructured header at 78 characters and turns any longer word, such as
    an unsubscribe URL, into encoded words; mail providers then no longer find the link.
    Those headers are ASCII and allowed up to 998 characters, so they are written as is.
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _RAW_HEADERS:
            return _WIDE.fold_binary(name, value)
        return super().fold_binary(name, value)


_RAW_HEADERS = {"list-unsubscribe", "list-unsubscribe-post", "list-id"}


_WIDE = SMTP.clone(max_line_length=998)


POLICY = _Policy(linesep="\r\n")


def _is_break(ch: str) -> bool:
    # C0/C1 controls and the Unicode line separators: str.splitlines(), which the email
    # package uses when folding, breaks a line at every one of them.
    code = ord(ch)
    return (code < 32 and ch != "\t") or 0x7F <= code <= 0x9F or ch in "\u2028\u2029"


def safe_header(value: str, field: str) -> str:
    """``value`` unchanged, or HeaderInjection if it could break out of its header line."""
    if any(_is_break(ch) for ch in value):
        raise HeaderInjection(f"{field} contains a line break or control character: {value!r}")
    return value


def sender_domain(from_: str) -> str:
    """The domain of the From address (for Message-IDs); ValueError if there is none."""
    addr = parseaddr(from_)[1]
    if "@" not in addr:
        raise ValueError(f"{from_!r} is not an email address")
    return addr.rsplit("@", 1)[1]


def build_headers(
    *,
    from_: str,
    to: str,
    to_name: str = "",
    subject: str,
    msg_id: str,
    date: datetime,
    list_id: str = "",
    unsubscribe_url: str = "",
    unsubscribe_mailto: str = "",
    reply_to: str = "",
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    """The top-level headers of one message, every value checked by ``safe_header``."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = safe_header(from_, "From")
    msg["To"] = (
        Address(display_name=safe_header(to_name, "name"), addr_spec=safe_header(to, "To"))
        if to_name
        else safe_header(to, "To")
    )
    if reply_to:
        msg["Reply-To"] = safe_header(reply_to, "Reply-To")
    msg["Subject"] = safe_header(subject, "Subject")
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = safe_header(msg_id, "Message-ID")
    msg["MIME-Version"] = "1.0"
    if list_id:
        msg["List-Id"] = safe_header(list_id, "List-Id")
    links = []
    if unsubscribe_url:
        links.append(f"<{safe_header(unsubscribe_url, 'List-Unsubscribe')}>")
    if unsubscribe_mailto:
        links.append(f"<{safe_header(unsubscribe_mailto, 'List-Unsubscribe')}>")
    if links:
        msg["List-Unsubscribe"] = ", ".join(links)
    if unsubscribe_url:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in (extra_headers or {}).items():
        msg[name] = safe_header(value, name)
    return msg
