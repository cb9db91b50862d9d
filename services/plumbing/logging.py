"""structlog set-up: JSON lines in production, a readable console on a TTY; once per process."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

import structlog

from lienthong.plumbing.settings import LogSettings

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


_CHATTY = ("kafka", "httpx", "httpcore", "alembic.runtime.migration")


def _plain_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k if isinstance(k, str | int | float | bool) or k is None else str(k): _plain_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain_keys(v) for v in value]
    return value


def dumps_never_raises(event: Any, **kw: Any) -> str:
    """JSON for a log line: a log call must never raise, whatever the fields hold.

    Values json cannot encode become their repr; mapping keys that are not plain
    (a (topic, partition) tuple, say) become strings.
    """
    given = kw.pop("default", None) or repr  # structlog passes its own: __structlog__, repr

    def default(value: Any) -> Any:
        try:
            return given(value)
        except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not lose the line
            return f"<{type(value).__name__}: repr failed: {type(exc).__name__}>"

    kw["default"] = default
    try:
        return json.dumps(event, **kw)
    except (TypeError, ValueError):
        pass
    try:
        return json.dumps(_plain_keys(event), **kw)
    except Exception as exc:  # noqa: BLE001 - a cycle, say: keep the line, say what went wrong
        fields = event if isinstance(event, dict) else {}
        return json.dumps(
            {
                "event": str(fields.get("event", "")),
                "level": str(fields.get("level", "")),
                "timestamp": str(fields.get("timestamp", "")),
                "log_render_error": f"{type(exc).__name__}: {exc}",
            }
        )


def configure_logging(settings: LogSettings, stream: TextIO | None = None) -> None:
    """Configure structlog (and the stdlib root logger libraries use) for this process."""
    out = stream or sys.stderr
    level = _LEVELS[settings.level]
    console = settings.format == "console" or (settings.format == "auto" and out.isatty())
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if console
        else structlog.processors.JSONRenderer(serializer=dumps_never_raises, sort_keys=False)
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    # Libraries (uvicorn, kafka-python, alembic) log through the stdlib: render them alike.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(level, logging.INFO))
    # These log every connection and request at INFO: useful when debugging, noise otherwise.
    for name in _CHATTY:
        logging.getLogger(name).setLevel(
            logging.DEBUG if level <= logging.DEBUG else logging.WARNING
        )
