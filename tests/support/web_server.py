"""The app of ``newsletter serve`` under its production server (uvicorn) on 127.0.0.1.

The socket is bound and listening before the server thread starts, so a client may connect
at once: the kernel queues it until uvicorn accepts.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from newsletter.config import Settings
from newsletter.store import Store
from newsletter.web.app import make_app
from newsletter.web.server import bind, make_server

SECRET = "a-test-signing-key-of-at-least-32-bytes!"


class Served:
    """A running app: its base URL, its store and the Web object behind it."""

    def __init__(self, url: str, store: Store, app: Any) -> None:
        self.url, self.store, self.app = url, store, app

    @property
    def web(self) -> Any:
        return self.app.app.state.web


@contextmanager
def serve_app(
    settings: Settings, sock: socket.socket | None = None, **kwargs: Any
) -> Iterator[Served]:
    """Serve the app for ``settings`` until the block ends (uvicorn stops, thread joins).

    ``sock``: a socket bound beforehand (when the settings must name the port).
    """
    store = Store(settings.layout.store)
    app = make_app(settings, store, **kwargs)
    sock = sock or bind("127.0.0.1", 0)
    server = make_server(settings, app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", store, app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        store.close()
