"""The FastAPI application: routes per event type, health, metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic.json_schema import models_json_schema

from lienthong import __version__
from lienthong.contract import strict_json
from lienthong.contract.schemas import EventType
from lienthong.directory.model import Endpoint
from lienthong.plumbing.health import OK
from lienthong.plumbing.health import Health as ServiceHealth
from lienthong.producer.api.auth import Authenticator
from lienthong.producer.api.bodies import AcceptedBody, BatchBody, Health, ProblemBody
from lienthong.producer.api.observe import LOG_FIELDS, RequestObserver
from lienthong.producer.ingest import Answer, Ingest, Publishes, problem
from lienthong.producer.json_models import ApiModel
from lienthong.producer.metrics import ProducerMetrics
from lienthong.producer.ratelimit import RateLimiter
from lienthong.producer.rules import Problem

KINDS: Mapping[str, EventType] = {
    "documents": EventType.DOCUMENT,
    "reports": EventType.REPORT,
    "statuses": EventType.STATUS,
}
_JSON = "application/json"


class ReadyPublisher(Publishes, Protocol):
    """A publisher with a lifecycle that can say whether the broker is reachable."""

    last_error: str

    @property
    def reachable(self) -> bool:
        """Tell whether the broker answered the last metadata request."""
        ...

    def start(self) -> None:
        """Connect and start background work."""
        ...

    def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued and stop."""
        ...


@dataclass(frozen=True, slots=True)
class ApiDeps:
    """Everything the routes use, built by the composition root."""

    ingest: Ingest
    auth: Authenticator
    publisher: ReadyPublisher
    metrics: ProducerMetrics
    registry: CollectorRegistry
    models: Mapping[EventType, type[ApiModel]]
    max_body_bytes: int
    max_batch: int
    limiter: RateLimiter


class _Refused(Exception):
    """A request refused before it reaches the ingest core."""

    def __init__(self, status: int, title: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(title)
        self.status, self.title, self.headers = status, title, headers or {}


def create_app(deps: ApiDeps) -> FastAPI:
    """Build the application; starting and stopping the publisher belongs to the caller."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        # uvicorn re-raises SIGTERM once it has shut down, ending the process before any
        # `finally` of the caller: deliver what is queued here, while it still runs.
        deps.publisher.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Lienthong ingestion API",
        version=__version__,
        description="Agency backends publish documents, reports and statuses to the axis.",
    )
    app.add_middleware(RequestObserver, metrics=deps.metrics)
    health = ServiceHealth(
        readiness={
            # Loaded before the app is built: without a directory the process does not start.
            "directory": lambda: OK,
            "broker": lambda: (
                OK if deps.publisher.reachable else deps.publisher.last_error or "unreachable"
            ),
        }
    )
    health.register_metrics("producer", deps.registry)
    app.state.health = health

    @app.exception_handler(_Refused)
    async def refused(_: Request, exc: _Refused) -> JSONResponse:
        return JSONResponse(problem(exc.status, exc.title), exc.status, headers=exc.headers)

    for kind, event_type in KINDS.items():
        _add_routes(app, deps, kind, event_type)

    @app.get("/healthz", response_model=Health, tags=["operations"])
    async def healthz() -> Health:
        """Answer 200 while the process runs."""
        return Health(status="ok", checks=health.live().checks)

    @app.get("/readyz", response_model=Health, tags=["operations"], responses={503: {}})
    async def readyz() -> JSONResponse:
        """Answer 200 when the broker is reachable, the directory loaded and no maintenance."""
        report = health.ready()
        body = Health(status="ready" if report.ok else "not ready", checks=report.checks)
        return JSONResponse(body.model_dump(), 200 if report.ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(deps.registry), media_type=CONTENT_TYPE_LATEST)

    app.openapi = lambda: _openapi(app, deps)  # type: ignore[method-assign]
    return app


def service_health(app: FastAPI) -> ServiceHealth:
    """Return the checks behind /healthz and /readyz, for the composition root to add to."""
    health = app.state.health
    if not isinstance(health, ServiceHealth):
        raise TypeError("not an app made by create_app")
    return health


def _add_routes(app: FastAPI, deps: ApiDeps, kind: str, event_type: EventType) -> None:
    model = deps.models[event_type].__name__
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ProblemBody} for code in (400, 401, 413, 415, 422, 429)
    }

    @app.post(
        f"/v1/{kind}",
        status_code=202,
        response_model=AcceptedBody,
        responses={
            **errors,
            403: {"model": ProblemBody},
            409: {"model": ProblemBody},
            503: {"model": ProblemBody},
        },
        openapi_extra=_body_schema({"$ref": f"#/components/schemas/{model}"}),
        name=f"publish_{event_type.value}",
        summary=f"Publish one {event_type.value}",
        tags=["events"],
    )
    async def publish_one(request: Request) -> JSONResponse:
        caller, data = await _read(request, deps)
        _within_rate(deps, caller, 1)
        answer = await deps.ingest.submit(
            caller, event_type, data, request.headers.get("traceparent")
        )
        _log_fields(
            request,
            {
                "event_id": answer.event_id,
                "event_type": event_type.value,
                "sender": answer.sender,
                "endpoint": caller.id,
                "outcome": answer.outcome,
                **answer.extra,
            },
        )
        headers = {"Retry-After": str(answer.retry_after_s)} if answer.retry_after_s else None
        return JSONResponse(answer.body, answer.status, headers=headers)

    batch_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["events"],
        "properties": {
            "events": {
                "type": "array",
                "maxItems": deps.max_batch,
                "items": {"$ref": f"#/components/schemas/{model}"},
            }
        },
    }

    @app.post(
        f"/v1/{kind}:batch",
        response_model=BatchBody,
        responses=errors,
        openapi_extra=_body_schema(batch_schema),
        name=f"publish_{event_type.value}_batch",
        summary=f"Publish up to {deps.max_batch} {kind}; each gets its own answer",
        tags=["events"],
    )
    async def publish_batch(request: Request) -> JSONResponse:
        caller, data = await _read(request, deps)
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list) or set(data) != {"events"}:
            body = problem(422, "invalid batch", (Problem("", 'expected {"events": [...]}'),))
            return JSONResponse(body, 422)
        if len(events) > deps.max_batch:
            title = f"{len(events)} events; a batch holds at most {deps.max_batch}"
            return JSONResponse(problem(422, title, (Problem("/events", title),)), 422)
        _within_rate(deps, caller, len(events))
        trace = request.headers.get("traceparent")
        answers = await asyncio.gather(
            *(deps.ingest.submit(caller, event_type, e, trace) for e in events)
        )
        results = [_batch_item(i, a) for i, a in enumerate(answers)]
        accepted = sum(a.status == 202 for a in answers)  # noqa: PLR2004
        _log_fields(
            request,
            {
                "event_type": event_type.value,
                "endpoint": caller.id,
                "accepted": accepted,
                "failed": len(answers) - accepted,
                "event_ids": [a.event_id for a in answers],
            },
        )
        body = {"results": results, "accepted": accepted, "failed": len(answers) - accepted}
        return JSONResponse(body, 200)


def _within_rate(deps: ApiDeps, caller: Endpoint, events: int) -> None:
    """Refuse the request whole (429, Retry-After) when its endpoint is over its rate."""
    wait = deps.limiter.take(caller.id, events)
    if wait:
        deps.metrics.rate_limited.labels(caller.id).inc(events)
        limiter = deps.limiter
        title = (
            f"endpoint {caller.id} is over its limit of {limiter.rate:g} events/s"
            f" (burst {limiter.burst}): retry after {wait} s"
        )
        raise _Refused(429, title, {"Retry-After": str(wait)})


def _log_fields(request: Request, fields: dict[str, Any]) -> None:
    """Hand fields to the RequestObserver's log line for this request."""
    request.scope.setdefault("state", {})[LOG_FIELDS] = fields


def _batch_item(index: int, answer: Answer) -> dict[str, Any]:
    item = {"index": index, "status": answer.status, **answer.body}
    item.pop("event_type", None)
    item.setdefault("event_id", answer.event_id)
    return item


async def _read(request: Request, deps: ApiDeps) -> tuple[Endpoint, Any]:
    """Authenticate, then check content type and size, then parse the JSON body."""
    caller = deps.auth.endpoint(request.headers.get("authorization"))
    if caller is None:
        raise _Refused(401, "missing or unknown API key", {"WWW-Authenticate": "Bearer"})
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != _JSON:
        raise _Refused(415, f"content type must be {_JSON}, not {media_type or 'missing'}")
    limit = deps.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Refused(413, f"body of {declared} bytes is over the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    try:
        return caller, strict_json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as exc:  # JsonRefused is a ValueError
        raise _Refused(400, f"body is not valid JSON: {exc}") from None


def _body_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {_JSON: {"schema": schema}}}}


def _openapi(app: FastAPI, deps: ApiDeps) -> dict[str, Any]:
    """Generate the document once, with the event models (not FastAPI params) as bodies."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, defs = models_json_schema(
            [(m, "validation") for m in deps.models.values()],
            ref_template="#/components/schemas/{model}",
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
        app.openapi_schema = schema
    return app.openapi_schema
