"""A local SES v2 stand-in that checks every request against botocore's own service model.

moto does not implement SendBulkEmail. This server speaks the calls delivery makes
(GetAccount, SendEmail, CreateEmailTemplate, GetEmailTemplate, DeleteEmailTemplate,
SendBulkEmail): it finds the operation by method and path in
``botocore.session.get_session().get_service_model('sesv2')``, turns the JSON body (and the
path's parameters) back into the operation's input and validates it with botocore's
``ParamValidator``; a request that does not fit gets 400 BadRequestException with the report
(and is kept in ``invalid``). Templates are stored and rendered per recipient the way SES
renders a plain Handlebars template (``{{name}}`` from the template data); what each
recipient would have received is kept in ``delivered``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Callable
from email.utils import parseaddr
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import botocore.session
from botocore.model import OperationModel, Shape
from botocore.validate import ParamValidator

_MODEL = botocore.session.get_session().get_service_model("sesv2")
_TAG = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

# (recipient, request number) -> a BulkEmailEntryResult Status ("SUCCESS", ...)
Decide = Callable[[str, int], str]


def _routes() -> list[tuple[str, re.Pattern[str], OperationModel]]:
    out = []
    for name in _MODEL.operation_names:
        op = _MODEL.operation_model(name)
        uri = op.http["requestUri"].split("?")[0]
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(uri))
        out.append((op.http["method"], re.compile(pattern + r"\Z"), op))
    return out


_ROUTES = _routes()


def _from_json(value: Any, shape: Shape) -> Any:
    """A JSON value back into the Python form boto3 takes (blobs were base64)."""
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        return {k: _from_json(v, members[k]) if k in members else v for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_from_json(v, shape.member) for v in value]  # type: ignore[attr-defined]
    if shape.type_name == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    return value


def render(template: str, data: dict[str, Any]) -> str:
    """A template's text with each ``{{name}}`` replaced; KeyError for a missing value."""
    return _TAG.sub(lambda m: str(data[m.group(1)]), template)


class SesStandIn:
    """The server; ``decide`` scripts each bulk recipient's status, ``hold`` pauses calls."""

    def __init__(
        self,
        decide: Decide | None = None,
        max_send_rate: float = 10_000.0,
        fail: Callable[[str, int], tuple[int, str, str] | None] | None = None,
    ) -> None:
        self.decide: Decide = decide or (lambda rcpt, n: "SUCCESS")
        self.fail = fail or (lambda op, n: None)
        self.max_send_rate = max_send_rate
        self.lock = threading.Lock()
        self.calls: list[str] = []  # operation names, in order
        self.invalid: list[str] = []  # validation reports of refused requests
        self.templates: dict[str, dict[str, str]] = {}
        self.deleted: list[str] = []
        self.delivered: list[dict[str, Any]] = []  # what each accepted recipient got
        self.statuses: list[tuple[str, str]] = []  # (recipient, status) of every bulk entry
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- the operations ----------------------------------------------------------------------

    def GetAccount(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        quota = {"Max24HourSend": 1e7, "MaxSendRate": self.max_send_rate, "SentLast24Hours": 0}
        return 200, {"SendQuota": quota, "SendingEnabled": True}

    def CreateEmailTemplate(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        if p["TemplateName"] in self.templates:
            return 400, {"__type": "AlreadyExistsException", "message": "exists"}
        self.templates[p["TemplateName"]] = dict(p["TemplateContent"])
        return 200, {}

    def GetEmailTemplate(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        if p["TemplateName"] not in self.templates:
            return 404, {"__type": "NotFoundException", "message": "no such template"}
        return 200, {
            "TemplateName": p["TemplateName"],
            "TemplateContent": self.templates[p["TemplateName"]],
        }

    def DeleteEmailTemplate(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        if self.templates.pop(p["TemplateName"], None) is None:
            return 404, {"__type": "NotFoundException", "message": "no such template"}
        self.deleted.append(p["TemplateName"])
        return 200, {}

    def SendEmail(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        mid = f"standin-{uuid.uuid4()}"
        self.delivered.append(
            {
                "to": p["Destination"]["ToAddresses"][0],
                "raw": p["Content"]["Raw"]["Data"],
                "id": mid,
            }
        )
        return 200, {"MessageId": mid}

    def SendBulkEmail(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: N802
        template = p["DefaultContent"]["Template"]
        content = self.templates.get(template.get("TemplateName", ""))
        defaults = json.loads(template.get("TemplateData") or "{}")
        headers = {h["Name"]: h["Value"] for h in template.get("Headers", [])}
        tags = {t["Name"]: t["Value"] for t in p.get("DefaultEmailTags", [])}
        results = []
        for entry in p["BulkEmailEntries"]:
            to_header = entry["Destination"]["ToAddresses"][0]
            to = parseaddr(to_header)[1]
            with self.lock:
                n = len(self.statuses) + 1
            status = "TEMPLATE_NOT_FOUND" if content is None else self.decide(to, n)
            with self.lock:
                self.statuses.append((to, status))
            if status != "SUCCESS":
                results.append({"Status": status, "Error": f"scripted {status}"})
                continue
            assert content is not None
            replaced = entry.get("ReplacementEmailContent", {}).get("ReplacementTemplate", {})
            data = {**defaults, **json.loads(replaced.get("ReplacementTemplateData") or "{}")}
            try:
                got = {k: render(v, data) for k, v in content.items()}
            except KeyError as exc:
                results.append({"Status": "FAILED", "Error": f"no value for {exc}"})
                continue
            mid = f"standin-{uuid.uuid4()}"
            own = {h["Name"]: h["Value"] for h in entry.get("ReplacementHeaders", [])}
            with self.lock:
                self.delivered.append(
                    {"to": to, "to_header": to_header, "id": mid, "headers": {**headers, **own}}
                    | {"tags": tags, **got}
                )
            results.append({"Status": "SUCCESS", "MessageId": mid})
        return 200, {"BulkEmailEntryResults": results}

    # -- HTTP ------------------------------------------------------------------------------

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        for verb, pattern, op in _ROUTES:
            match = pattern.match(unquote(path.split("?")[0]))
            if verb != method or match is None:
                continue
            params = _from_json(json.loads(body or b"{}"), op.input_shape) if op.input_shape else {}
            params.update(match.groupdict())
            report = ParamValidator().validate(params, op.input_shape) if op.input_shape else None
            if report is not None and report.has_errors():
                with self.lock:
                    self.invalid.append(report.generate_report())
                return 400, {"__type": "BadRequestException", "message": report.generate_report()}
            handler = getattr(self, op.name, None)
            if handler is None:
                return 400, {"__type": "BadRequestException", "message": f"{op.name} not served"}
            with self.lock:
                self.calls.append(op.name)
                n = len(self.calls)
            failure = self.fail(op.name, n)
            if failure is not None:
                status, code, message = failure
                return status, {"__type": code, "message": message}
            return handler(params)  # type: ignore[no-any-return]
        return 404, {"__type": "NotFoundException", "message": f"no operation at {method} {path}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, answer = owner.handle(self.command, self.path, body)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                if status >= 400:
                    self.send_header("x-amzn-ErrorType", answer["__type"])
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

        return Handler
