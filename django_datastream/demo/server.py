"""Serve the Django project (pages, API and static files) from a background thread."""

from __future__ import annotations

import threading
import urllib.request
from typing import Any

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.http import Http404, HttpRequest, HttpResponse

__all__ = ["DemoServer", "SafeStaticFilesHandler"]


class SafeStaticFilesHandler(StaticFilesHandler):
    """Django's static files handler, answering 404 for a path that leads out of the static
    directories (``/static/..%2f..%2fetc%2fpasswd``): Django's finders refuse such a path with
    ``SuspiciousFileOperation``, which this handler would let through as a 500."""

    def serve(self, request: HttpRequest) -> HttpResponse:
        """The static file of ``request``; ``Http404`` for a path that is not one."""
        try:
            return super().serve(request)
        except SuspiciousOperation:
            raise Http404("No such static file.") from None


class _QuietHandler(WSGIRequestHandler):
    """Request handler that logs nothing (the page polls every few seconds)."""

    def log_message(self, format: str, *args: Any) -> None:
        return


class DemoServer:
    """A threaded WSGI server for the project, static files included (no DEBUG needed).

    ``port=0`` picks a free port; :attr:`url` tells which. ``quiet`` drops the request log.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8000, quiet: bool = True) -> None:
        handler = _QuietHandler if quiet else WSGIRequestHandler
        self.httpd = ThreadedWSGIServer((host, port), handler, ipv6=":" in host)
        self.httpd.daemon_threads = True
        self.httpd.set_app(SafeStaticFilesHandler(WSGIHandler()))
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, name="datastream-demo-server", daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:8000/``."""
        host, port = self.httpd.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/"

    def start(self) -> DemoServer:
        """Start serving in a background thread; returns ``self``."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def get(self, path: str, timeout: float = 30) -> tuple[int, bytes]:
        """GET ``path`` from the running server (a self-check): ``(status, body)``."""
        with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=timeout) as response:
            return response.status, response.read()
