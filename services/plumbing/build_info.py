"""`lienthong_<service>_build_info`: which release runs, and which schemas it writes and reads into.

One series per process with value 1 (the Prometheus info-metric idiom), so a query can join it
to find every process still on an old contract during a rollout:
`count by (document_schema) (lienthong_consumer_build_info)`. Every label changes only with a
release, so the series count stays bounded.
"""

from __future__ import annotations

import functools

import confluent_kafka
from prometheus_client import CollectorRegistry, Info

from lienthong import __version__
from lienthong.contract.schemas import EventType, SchemaStore


@functools.cache
def build_labels() -> dict[str, str]:
    """Return the version, librdkafka version and current schema fingerprints (wire order hex)."""
    store = SchemaStore.from_package()
    labels = {
        "version": __version__,
        "librdkafka": confluent_kafka.libversion()[0],
    }
    for event_type in EventType:
        labels[f"{event_type.value}_schema"] = store.current(event_type).fingerprint_hex
    return labels


def register_build_info(service: str, registry: CollectorRegistry) -> Info:
    """Register `lienthong_<service>_build_info` on `registry`."""
    info = Info(
        f"lienthong_{service}_build",
        "Release of this process, its librdkafka, and the fingerprint (16 hex digits, wire"
        " order) of each event type's current schema; always 1.",
        registry=registry,
    )
    info.info(build_labels())
    return info
