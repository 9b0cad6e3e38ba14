"""``newsletter serve``: the app under uvicorn until SIGINT/SIGTERM."""

from __future__ import annotations

from collections.abc import Callable

from ..archive.site import archive_folder
from ..config import Settings
from ..errors import ConfigError
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
    if not settings.secrets.unsubscribe_key.get_secret_value():
        # Every page hands out signed links or forms: without the key none could be made.
        name = settings.delivery.unsubscribe_secret_env
        raise ConfigError(
            f"newsletter serve needs ${name}: the key (32 bytes or more) that signs the links "
            "and forms it hands out"
        )
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
