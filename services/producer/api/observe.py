"""Count, time and log every request: one JSON line each, with the event ids it carried."""

from __future__ import annotations

import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lienthong.producer.metrics import ProducerMetrics

log = structlog.get_logger("lienthong.producer.api")

# Set by the handlers in scope["state"]; the middleware adds them to the request's log line.
LOG_FIELDS = "lienthong.log"


class RequestObserver:
    """Pure ASGI middleware: cheaper than BaseHTTPMiddleware on the hot path."""

    def __init__(self, app: ASGIApp, metrics: ProducerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection, observing it if it is an HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        self.metrics.in_flight.inc()

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            route = _route(scope)
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.request_seconds.labels(route).observe(elapsed)
            if route not in ("/metrics", "/healthz", "/readyz"):
                fields: dict[str, Any] = scope.get("state", {}).get(LOG_FIELDS, {})
                log.info(
                    "request",
                    method=scope["method"],
                    route=route,
                    status=status,
                    latency_ms=round(elapsed * 1000, 2),
                    **fields,
                )


def _route(scope: Scope) -> str:
    """Return the matched route template: a bounded label, never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
