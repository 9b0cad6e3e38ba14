"""``newsletter serve``: the app under uvicorn until SIGINT/SIGTERM."""

from __future__ import annotations

from collections.abc import Callable

from ..archive.site import archive_folder
from ..config import Settings
from ..store import Store
from .app import make_app
from .server import bind, make_server


def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the list service (and the archive, and POST /sns when configured)."""
    host = host or settings.web.host
    port = settings.web.port if port is None else port
    store = Store(settings.layout.store)
    app = make_app(settings, store)
    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    announce(f"newsletter serve: http://{host}:{real_port}/ (sign-up)")
    if settings.feedback.sns_topic_arn:
        announce(f"  SNS notifications: POST /sns (topic {settings.feedback.sns_topic_arn})")
    if archive_folder(settings).is_dir():
        announce(f"  archive: /archive/ ({archive_folder(settings)})")
    try:
        make_server(settings, app).run(sockets=[sock])
    finally:
        sock.close()
        store.close()
