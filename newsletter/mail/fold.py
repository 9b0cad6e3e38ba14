"""Line folding of the bodies as sent: 8bit with short lines where possible, else base64."""

from __future__ import annotations

# SMTP forbids lines over 998 octets; staying well under leaves room for CRLF and clients.
MAX_LINE_BYTES = 900


# Bodies are flowed shorter still, so a recipient's tokens (unsubscribe link, topics) can be
# filled into a flowed body without a line passing MAX_LINE_BYTES.
FLOW_LINE_BYTES = 600


def reflow(html: str, limit: int = FLOW_LINE_BYTES) -> str | None:
    """Break long lines at spaces (a space and a newline are the same to HTML and CSS).

    Returns None when some line has no space to break at within ``limit`` bytes.
    """
    if len(html) * 4 <= limit:  # a character is at most 4 bytes of UTF-8
        return html
    out: list[bytes] = []
    for line in html.encode("utf-8").split(b"\n"):
        # A space is one byte in UTF-8 and never inside a multi-byte character, so cutting
        # the bytes at a space keeps every character whole.
        while len(line) > limit:
            cut = line.rfind(b" ", 0, limit + 1)
            if cut <= 0:
                return None
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return b"\n".join(out).decode("utf-8")


def body_encoding(text: str) -> tuple[str, str]:
    """(body, transfer encoding): 8bit with short lines when possible, else base64."""
    flowed = reflow(text)
    if flowed is not None:
        return flowed, "8bit"
    return text, "base64"


def encoded_size(text: str) -> int:
    """Bytes of a UTF-8 HTML body as sent: after its transfer encoding, with CRLF line ends.

    Counted, not built: the email package splits the body with ``bytes.splitlines`` and ends
    every line with CRLF; base64 takes 57 bytes a line (76 characters and CRLF).
    """
    body, cte = body_encoding(text)
    lines = body.encode("utf-8").splitlines()
    data = sum(map(len, lines)) + 2 * max(1, len(lines))  # an empty body is one CRLF
    if cte != "base64":
        return data
    full, rest = divmod(data, 57)
    return full * 78 + (4 * -(-rest // 3) + 2 if rest else 0)
