"""Serve /metrics, /healthz and /readyz for services without their own web server.

A small WSGI app on the standard library's threading server: /metrics is prometheus_client's
own WSGI app on the injected registry (content negotiation, gzip), /healthz and /readyz render
the injected `Health` as JSON, 200 when every check passes and 503 otherwise, like the
producer's API.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from lienthong.plumbing.health import Health, Report

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Server(ThreadingMixIn, WSGIServer):
    """One thread per request, so a slow scrape never blocks a probe."""

    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: probes and scrapes arrive every few seconds."""

    def log_message(self, *_args: Any) -> None:
        """Log nothing."""


@dataclass(frozen=True, slots=True)
class MetricsServer:
    """A running metrics and health endpoint; `close()` stops it."""

    server: WSGIServer
    thread: threading.Thread
    host: str

    @property
    def port(self) -> int:
        """Return the bound port (useful when asked for port 0)."""
        return int(self.server.server_port)

    @property
    def base_url(self) -> str:
        """Return http://host:port, without a path."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """Return the scrape URL."""
        return f"{self.base_url}/metrics"

    def close(self) -> None:
        """Stop serving and wait for the server thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def health_app(registry: CollectorRegistry, health: Health) -> WsgiApp:
    """Return the WSGI app answering /metrics, /healthz and /readyz."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == "/metrics":
            scrape: Iterable[bytes] = metrics(environ, start_response)
            return scrape
        if path == "/healthz":
            return _answer(start_response, health.live(), "ok", "unhealthy")
        if path == "/readyz":
            return _answer(start_response, health.ready(), "ready", "not ready")
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: try /metrics, /healthz or /readyz\n"]

    return app


def serve_metrics(
    registry: CollectorRegistry,
    host: str = "127.0.0.1",
    port: int = 0,
    health: Health | None = None,
) -> MetricsServer:
    """Serve `registry` at /metrics and `health` at /healthz and /readyz in a daemon thread."""
    server_class = _Server6 if ":" in host else _Server
    server = make_server(
        host,
        port,
        health_app(registry, health or Health()),
        server_class=server_class,
        handler_class=_QuietHandler,
    )
    # A short poll interval: close() waits up to one of them (the default is half a second).
    thread = threading.Thread(
        target=server.serve_forever, args=(0.1,), name="metrics-http", daemon=True
    )
    thread.start()
    return MetricsServer(server, thread, host)


def _answer(start_response: StartResponse, report: Report, good: str, bad: str) -> list[bytes]:
    body = json.dumps({"status": good if report.ok else bad, "checks": report.checks})
    status = "200 OK" if report.ok else "503 Service Unavailable"
    headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
    start_response(status, headers)
    return [body.encode()]
