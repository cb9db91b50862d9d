"""The fan-out router written with Quix Streams, exactly-once: the peer of bench.pipeline.

Run (by bench/quix_peer.py, in the Quix venv, from the checkout's root):
  build/bench-quix-venv/bin/python -m bench.quix_router --bootstrap B --inbound T --group G
      --directory PATH --delivery-prefix P --dlq D [--commit-interval S] [--commit-every N]

It makes the same decision as `lienthong router run`, with the same code: each value decoded
once with the contract's codec, headers checked, recipients resolved with lienthong.directory
(lienthong.router.decide.Router, which caches routes as ours does), and writes the same
records: one copy per endpoint with the original key, value and headers plus lt-recipients
and lt-routed-at (lienthong.router.records.copies), or a dead letter. Only the streaming
framework differs: Quix's consumer, its per-message pipeline and its checkpoints, each a
Kafka transaction under `processing_guarantee="exactly-once"`. It does not send Status 02
rejections (the benchmark's input has none to send). When its partitions are assigned it
prints a JSON line {"event": "quix_assigned", "timestamp": ...}, which the benchmark times from.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quixstreams import Application, message_context  # type: ignore[import-not-found]
from quixstreams.models.serializers import Serializer  # type: ignore[import-not-found]

from lienthong.contract.codec import Codec
from lienthong.contract.schemas import SchemaStore
from lienthong.directory.loader import load_directory
from lienthong.plumbing.envelope import Envelope
from lienthong.plumbing.kafka_security import librdkafka_config
from lienthong.plumbing.settings import Settings
from lienthong.router.decide import Routed, Router
from lienthong.router.records import OutRecord, copies, dead_letter, routed_at_header


def _raw_value(_: Any, value: OutRecord, **__: Any) -> bytes:
    return value.value


# Quix takes a Serializer instance; the value is already the bytes to write.
RawValue = type("RawValue", (Serializer,), {"__call__": _raw_value})


def router_function(
    directory_path: Path, delivery_prefix: str, dlq: str
) -> Callable[[bytes, bytes | None, int, Any], list[OutRecord]]:
    """Return the per-message step: the records one inbound record becomes."""
    directory = load_directory(directory_path)
    router = Router(Codec(SchemaStore.from_package()), delivery_prefix)

    def route(value: bytes, key: bytes | None, timestamp: int, headers: Any) -> list[OutRecord]:
        ctx = message_context()
        envelope = Envelope(
            ctx.topic, ctx.partition, ctx.offset, key, value, tuple(headers or ()), timestamp
        )
        decision = router.decide(envelope, directory)
        now_ms = int(time.time() * 1000)
        if isinstance(decision, Routed):
            return copies(envelope, decision.deliveries, routed_at_header(now_ms))
        return [dead_letter(envelope, decision, dlq, now_ms)]

    return route


def build(args: argparse.Namespace) -> Any:
    """Build the application and its dataframe; return the application."""
    # The broker's credentials come as the services' LIENTHONG_KAFKA_* settings do.
    security = librdkafka_config(Settings.from_env().kafka)
    app = Application(
        broker_address=args.bootstrap,
        consumer_extra_config=dict(security),
        consumer_group=args.group,
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once",
        commit_interval=args.commit_interval,
        commit_every=args.commit_every,
        auto_create_topics=False,
        use_changelog_topics=False,
        loglevel="WARNING",
        # As the services' producer where both have the setting (plumbing/kafka_confluent.py).
        producer_extra_config={
            **security,
            "linger.ms": args.linger_ms,
            "compression.type": args.compression,
            "partitioner": "murmur2_random",
        },
    )
    directory = load_directory(args.directory)
    names = {e.delivery_topic(args.delivery_prefix) for e in directory.endpoints.values()}
    outputs = {
        name: app.topic(name, key_serializer="bytes", value_serializer=RawValue())
        for name in sorted({*names, args.dlq})
    }
    source = app.topic(args.inbound, key_deserializer="bytes", value_deserializer="bytes")
    sdf = app.dataframe(source)
    sdf = sdf.apply(
        router_function(args.directory, args.delivery_prefix, args.dlq), expand=True, metadata=True
    )
    sdf = sdf.set_headers(lambda value, *_: value.headers)
    sdf.to_topic(lambda value, *_: outputs[value.topic])
    original = app._on_assign  # the one hook that says when consumption starts

    def on_assign(consumer: Any, partitions: list[Any]) -> None:
        if partitions:
            line = {"event": "quix_assigned", "timestamp": datetime.now(UTC).isoformat()}
            print(json.dumps(line), flush=True)
        original(consumer, partitions)

    app._on_assign = on_assign
    return app


def main() -> None:
    """Route until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--inbound", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--directory", type=Path, required=True)
    parser.add_argument("--delivery-prefix", required=True)
    parser.add_argument("--dlq", required=True)
    parser.add_argument("--commit-interval", type=float, default=5.0)
    parser.add_argument("--commit-every", type=int, default=0)
    parser.add_argument("--linger-ms", type=int, default=1)
    parser.add_argument("--compression", default="lz4")
    build(parser.parse_args()).run()


if __name__ == "__main__":
    main()
