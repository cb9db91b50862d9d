"""Consumer lag per partition, from the high watermarks the client already fetched."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaException
from prometheus_client import Gauge


class LagGauge:
    """Refresh a lag gauge (labels: topic, partition) at most once per interval."""

    def __init__(self, gauge: Gauge, interval_s: float = 1.0) -> None:
        self._gauge = gauge
        self._interval = interval_s
        self._next = 0.0

    def update(self, consumer: Consumer) -> None:
        """Set lag = high watermark - position for every assigned partition (cheap: cached)."""
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._interval
        try:
            for tp in consumer.position(consumer.assignment()):
                _, high = consumer.get_watermark_offsets(tp, cached=True)
                if tp.offset >= 0 and high >= 0:
                    self._gauge.labels(tp.topic, str(tp.partition)).set(max(0, high - tp.offset))
        except KafkaException:
            return  # no fetch yet; the next call will have watermarks

    def forget(self, topic: str, partition: int) -> None:
        """Drop a partition this process no longer owns."""
        try:
            self._gauge.remove(topic, str(partition))
        except KeyError:
            return
