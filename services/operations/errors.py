"""The operator tools' errors: each says in one line what failed and what to check."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException

from lienthong.plumbing.kafka_reach import reach_hint
from lienthong.plumbing.settings import KafkaSettings


class OperationsError(RuntimeError):
    """An operator command could not do what it was asked; the message is the one-line reason."""


class BrokerUnavailable(OperationsError):
    """The cluster did not answer in time, or refused the request."""


class NotFound(OperationsError):
    """A topic, an offset or an endpoint that does not exist."""


class ReplayFailed(OperationsError):
    """A replay transaction was aborted: nothing of it is visible."""


def broker_error(exc: KafkaException, kafka: KafkaSettings, doing: str) -> BrokerUnavailable:
    """Translate a client exception into a one-line reason naming the broker."""
    error = exc.args[0] if exc.args else None
    text = error.str() if isinstance(error, KafkaError) else str(exc)
    if isinstance(error, KafkaError) and error.code() == KafkaError._TIMED_OUT:
        text = "timed out"  # librdkafka's text suggests retrying the call, which we did not
    return BrokerUnavailable(f"cannot {doing}: {text} {reach_hint(kafka)}")
