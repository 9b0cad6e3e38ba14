"""The Starlette app of ``newsletter serve``: pages, forms and their answers.

Every form carries a CSRF token (``csrf.py``); the one POST without one is RFC 8058's
one-click unsubscribe, which a mail provider sends with the signed link alone. Work on the
store runs in the thread pool, so a locked database never stalls the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..archive.site import archive_folder
from ..config import Settings
from ..delivery.transports import Transport
from ..errors import TokenError
from ..store import Store
from . import csrf
from .links import Links
from .mailer import Mailer
from .pages import Pages
from .server import ASGIApp, BodyLimit
from .service import ListService
from .unsubscribe import verify_token

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    # Tokens travel in URLs: no Referer may carry them to another site.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
}


class Web:
    """The app's state and handlers: one per served process."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        transport_factory: Callable[[], Transport] | None = None,
        now: Callable[[], float] = time.time,
        sns: Any = None,
    ) -> None:
        self.settings, self.store = settings, store
        self.links = Links(settings, now)
        self.service = ListService(settings, store, self.links)
        self.mailer = Mailer(settings, self.links, transport_factory)
        self.pages = Pages(settings.edition.language, settings.edition.title)
        self.sns = sns

    # -- helpers ----------------------------------------------------------------------------

    def page(
        self,
        body: str,
        status: int = 200,
        cookie: str = "",
        secure: bool = False,
        background: BackgroundTask | None = None,
    ) -> HTMLResponse:
        response = HTMLResponse(body, status, headers=SECURITY_HEADERS, background=background)
        if cookie:
            response.headers.append("Set-Cookie", csrf.cookie_header(cookie, secure))
        return response

    def refused(self, exc: TokenError, key: str = "link_refused", status: int = 400) -> Response:
        log.warning("refused (%s): %s", exc.reason, exc)
        link = "/" if exc.reason in ("used", "expired") else ""
        return self.page(
            self.pages.message(key, str(exc), error=True, link=link, link_key="to_signup"),
            status,
        )

    def csrf_pair(self, request: Request) -> tuple[str, str]:
        """(cookie to set or '', token for the form): the browser's cookie is kept."""
        cookie = request.cookies.get(csrf.COOKIE, "")
        fresh = "" if cookie else csrf.new_cookie()
        return fresh, csrf.form_token(self.links, cookie or fresh)

    async def form(self, request: Request) -> dict[str, list[str]]:
        body = await request.body()
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            return {}
        return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)

    def check_csrf(self, request: Request, form: dict[str, list[str]]) -> None:
        csrf.check(self.links, request.cookies.get(csrf.COOKIE), _one(form, csrf.FIELD))

    # -- sign-up ----------------------------------------------------------------------------

    def signup_page(
        self,
        request: Request,
        problem: str = "",
        email: str = "",
        chosen: list[str] | None = None,
        language: str = "",
        status: int = 200,
    ) -> Response:
        cookie, token = self.csrf_pair(request)
        body = self.pages.render(
            "signup",
            "signup",
            action="subscribe",
            csrf=token,
            problem=problem,
            email=email,
            topics=self.service.topics,
            chosen=chosen or [],
            language=language or self.settings.edition.language,
        )
        return self.page(body, status, cookie, request.url.scheme == "https")

    async def signup_get(self, request: Request) -> Response:
        return self.signup_page(request)

    async def signup_post(self, request: Request) -> Response:
        form = await self.form(request)
        try:
            self.check_csrf(request, form)
        except TokenError as exc:
            return self.refused(exc, "form_refused", 403)
        email, topics = _one(form, "email") or "", form.get("topics", [])
        language = _one(form, "language") or None
        client = request.client.host if request.client else "unknown"
        result = await run_in_threadpool(self.service.signup, email, topics, language, client)
        if result.outcome == "invalid":
            return self.signup_page(request, result.problem, email, topics, language or "", 400)
        if result.outcome == "busy":
            page = self.pages.message("busy", result.problem, error=True)
            response = self.page(page, 429)
            response.headers["Retry-After"] = "3600"
            return response
        task = None
        if result.nonce:
            # After the answer is sent: the page and its timing are the same either way.
            task = BackgroundTask(
                self.mailer.send_confirmation, result.email, result.nonce, language
            )
        words_in = language if language in ("ko", "en") else None
        page = self.pages.message(
            "check_inbox", self.pages.words(words_in)["check_inbox_text"], language=words_in
        )
        return self.page(page, background=task)

    # -- confirm ----------------------------------------------------------------------------

    async def confirm_get(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        try:
            email = self.links.read(token, "confirm").subject
        except TokenError as exc:
            return self.refused(exc)
        cookie, form_token = self.csrf_pair(request)
        words = self.pages.words()
        body = self.pages.render(
            "confirm",
            "confirm",
            action="confirm",
            csrf=form_token,
            token=token,
            text=words["confirm_text"].format(email=email),
            button=words["confirm"],
        )
        return self.page(body, 200, cookie, request.url.scheme == "https")

    async def confirm_post(self, request: Request) -> Response:
        form = await self.form(request)
        try:
            self.check_csrf(request, form)
            _, email = await run_in_threadpool(self.service.confirm, _one(form, "token") or "")
        except TokenError as exc:
            return self.refused(exc, status=409 if exc.reason == "used" else 400)
        link = self.links.preferences_url(email)
        words = self.pages.words()
        page = self.pages.message(
            "confirmed",
            words["confirmed_text"].format(email=email),
            link=link,
            link_key="to_preferences",
        )
        return self.page(page)

    # -- preferences --------------------------------------------------------------------------

    async def preferences_get(
        self, request: Request, saved: bool = False, token: str | None = None
    ) -> Response:
        token = token if token is not None else request.query_params.get("token", "")
        try:
            email = self.links.read(token, "preferences").subject
        except TokenError as exc:
            return self.refused(exc)
        now = await run_in_threadpool(self.service.current, email)
        cookie, form_token = self.csrf_pair(request)
        body = self.pages.render(
            "preferences",
            "preferences",
            now.language,
            action="preferences",
            csrf=form_token,
            token=token,
            email=email,
            topics=self.service.topics,
            chosen=now.topics,
            language=now.language or self.settings.edition.language,
            paused=now.paused,
            status=now.status,
            saved=saved,
        )
        return self.page(body, 200, cookie, request.url.scheme == "https")

    async def preferences_post(self, request: Request) -> Response:
        form = await self.form(request)
        token = _one(form, "token") or ""
        try:
            self.check_csrf(request, form)
            email = self.links.read(token, "preferences").subject
        except TokenError as exc:
            return self.refused(exc, "form_refused", 403)
        if _one(form, "action") == "unsubscribe":
            await run_in_threadpool(self.service.unsubscribe, email, "preferences page")
            return self.unsubscribed(email)
        topics, language = form.get("topics", []), _one(form, "language") or None
        problem = self.service.check_choice(topics, language)
        if problem:
            return self.page(self.pages.message("form_refused", problem, error=True), 400)
        await run_in_threadpool(
            self.service.save, email, topics, language, _one(form, "paused") == "1"
        )
        return await self.preferences_get(request, saved=True, token=token)

    # -- unsubscribe --------------------------------------------------------------------------

    def unsubscribed(self, email: str) -> Response:
        words = self.pages.words()
        return self.page(
            self.pages.message("unsubscribed", words["unsubscribed_text"].format(email=email))
        )

    async def unsubscribe_get(self, request: Request) -> Response:
        # Mail scanners fetch every link: GET only asks.
        token = request.query_params.get("token", "")
        try:
            email = await run_in_threadpool(
                verify_token, self.settings, token, self.store, self.links
            )
        except TokenError as exc:
            return self.refused(exc)
        cookie, form_token = self.csrf_pair(request)
        words = self.pages.words()
        body = self.pages.render(
            "confirm",
            "unsubscribe",
            action="?" + request.url.query,
            csrf=form_token,
            token=token,
            text=words["unsubscribe_text"].format(email=email),
            button=words["unsubscribe"],
        )
        return self.page(body, 200, cookie, request.url.scheme == "https")

    async def unsubscribe_post(self, request: Request) -> Response:
        body = await request.body()
        form = await self.form(request)
        token = request.query_params.get("token", "") or _one(form, "token") or ""
        one_click = _is_one_click(body, form)
        try:
            email = await run_in_threadpool(
                verify_token, self.settings, token, self.store, self.links
            )
            if not one_click:
                self.check_csrf(request, form)
        except TokenError as exc:
            return self.refused(
                exc,
                "form_refused" if exc.reason == "csrf" else "link_refused",
                403 if exc.reason == "csrf" else 400,
            )
        how = "one-click (RFC 8058)" if one_click else "unsubscribe link"
        await run_in_threadpool(self.service.unsubscribe, email, how)
        return self.unsubscribed(email)

    # -- SNS ----------------------------------------------------------------------------------

    async def sns_post(self, request: Request) -> Response:
        status, text = await run_in_threadpool(self.sns.handle, await request.body())
        return Response(text + "\n", status, media_type="text/plain")


def _one(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _is_one_click(body: bytes, form: dict[str, list[str]]) -> bool:
    """RFC 8058's POST: List-Unsubscribe=One-Click, url-encoded or as a multipart field."""
    if _one(form, "List-Unsubscribe") == "One-Click":
        return True
    return b'name="List-Unsubscribe"' in body and b"One-Click" in body


def make_app(settings: Settings, store: Store, **kwargs: Any) -> ASGIApp:
    """The whole app, wrapped in the body and time limits of ``[web]``."""
    if "sns" not in kwargs and settings.feedback.sns_topic_arn:
        from ..feedback.sns import SnsEndpoint

        kwargs["sns"] = SnsEndpoint.from_settings(settings, store)
    web = Web(settings, store, **kwargs)
    routes: list[Route | Mount] = [
        Route("/", web.signup_get, methods=["GET"]),
        Route("/subscribe", web.signup_get, methods=["GET"]),
        Route("/subscribe", web.signup_post, methods=["POST"]),
        Route("/confirm", web.confirm_get, methods=["GET"]),
        Route("/confirm", web.confirm_post, methods=["POST"]),
        Route("/preferences", web.preferences_get, methods=["GET"]),
        Route("/preferences", web.preferences_post, methods=["POST"]),
        Route("/unsubscribe", web.unsubscribe_get, methods=["GET"]),
        Route("/unsubscribe", web.unsubscribe_post, methods=["POST"]),
    ]
    if web.sns is not None:
        routes.append(Route("/sns", web.sns_post, methods=["POST"]))
    archive = archive_folder(settings)
    if archive.is_dir():
        routes.append(Mount("/archive", StaticFiles(directory=archive, html=True)))
    app = Starlette(routes=routes)
    app.state.web = web
    w = settings.web
    return BodyLimit(app, w.max_body_bytes, w.request_timeout_s)
