"""Wait for an AdminClient future and turn its failure into one line naming what failed."""

from __future__ import annotations

import concurrent.futures
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from lienthong.security.errors import BrokerError


def wait(future: Future[Any], timeout_s: float, doing: str) -> Any:
    """Return a future's result; raise BrokerError `cannot <doing>: <the broker's reason>`."""
    try:
        # librdkafka fails the request itself at its request timeout; this bound is a backstop.
        return future.result(timeout=timeout_s + 5)
    except KafkaException as exc:
        raise BrokerError(f"cannot {doing}: {reason(exc)}") from None
    except concurrent.futures.TimeoutError:
        raise BrokerError(f"cannot {doing}: timed out after {timeout_s:.0f} s") from None


def reason(exc: KafkaException) -> str:
    """Return the broker's (or librdkafka's) reason, with the error's name to search for."""
    error = exc.args[0] if exc.args else None
    if not isinstance(error, KafkaError):
        return str(exc)
    if error.code() == KafkaError._TIMED_OUT:
        return "timed out"  # librdkafka's text suggests retrying the call, which we did not
    return f"{error.str()} ({error.name()})"
