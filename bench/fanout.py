"""The router benchmark's world: 64 endpoints, a group per fan-out, 1 KB documents, topics.

Each endpoint serves one agency; group `fan-N` holds the agencies of the first N endpoints,
so a document addressed to it is copied to N delivery topics. The sender (the Government
Office, as in the examples) sits on an endpoint of its own outside every group.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from lienthong.contract import examples
from lienthong.contract.codec import Codec
from lienthong.contract.jsonform import to_json
from lienthong.contract.outgoing import Outgoing, prepare
from lienthong.contract.schemas import EventType
from lienthong.directory.loader import load_directory
from lienthong.directory.model import Directory
from lienthong.plumbing.kafka_confluent import kafka_headers, make_admin, make_producer
from lienthong.plumbing.settings import KafkaSettings, TopicSettings
from lienthong.plumbing.topics import TopicSpec, apply_topics, plan_topics
from tests.support.kafka import unique_name, wait_for_topics

ENDPOINTS = 64
SENDER = examples.GOVERNMENT_OFFICE
DOCUMENT_BYTES = 1024
_SUBJECT = "V/v đẩy mạnh cắt giảm thủ tục hành chính năm 2027"
_CONTENT = (
    "Thủ tướng Chính phủ yêu cầu Chủ tịch Ủy ban nhân dân các tỉnh, thành phố rà soát, cắt giảm"
    " thủ tục hành chính, báo cáo kết quả về Văn phòng Chính phủ trước ngày 15 tháng 12 năm 2026."
)


def group(fanout: int) -> str:
    """Return the name of the group whose members are served by `fanout` endpoints."""
    return f"fan-{fanout}"


def agency(index: int) -> str:
    """Return the code of the agency of endpoint `index` (0-based)."""
    return f"000.00.{index + 1:02d}.H99"


def directory_yaml(fanouts: Iterable[int], endpoints: int = ENDPOINTS) -> str:
    """Return the directory file: the sender's endpoint, `endpoints` more, a group per fan-out."""
    lines = ["version: 1", "endpoints:", "  - {id: origin, name: Bench sender's system}"]
    lines += [f"  - {{id: ep-{i:02d}, name: Bench endpoint {i}}}" for i in range(endpoints)]
    lines += ["agencies:", f"  - {{code: {SENDER}, name: Văn phòng Chính phủ, endpoint: origin}}"]
    lines += [
        f"  - {{code: {agency(i)}, name: Bench agency {i}, endpoint: ep-{i:02d}}}"
        for i in range(endpoints)
    ]
    lines.append("groups:")
    for n in sorted(set(fanouts)):
        if not 1 <= n <= endpoints:
            raise ValueError(f"fan-out {n} needs 1 to {endpoints} endpoints")
        members = ", ".join(agency(i) for i in range(n))
        lines.append(f"  - {{name: {group(n)}, members: [{members}]}}")
    return "\n".join(lines) + "\n"


def document(index: int, recipients: str, content: str = _CONTENT) -> dict[str, Any]:
    """Return the example directive, shortened, with its own event id and number."""
    record = examples.document(
        event_id=uuid4(), number=str(100_000 + index), recipients=(recipients,), attachments=1
    )
    return {**record, "subject": _SUBJECT, "content_summary": content}


def content_for(codec: Codec, recipients: str, size: int = DOCUMENT_BYTES) -> str:
    """Return a content summary that makes the encoded document `size` bytes, or just under."""
    base = len(prepare(codec, EventType.DOCUMENT, document(0, recipients, "")).value)
    text = _CONTENT
    while len(text.encode()) < size:
        text += " " + _CONTENT
    # Cut to the bytes left; the length prefix grows by a byte past 63 bytes, hence the loop.
    room = size - base
    while room > 0:
        cut = text.encode()[:room].decode("utf-8", errors="ignore").rstrip()
        encoded = len(prepare(codec, EventType.DOCUMENT, document(0, recipients, cut)).value)
        if encoded <= size:
            return cut + " " * (size - encoded)
        room -= encoded - size
    return ""


@dataclass(frozen=True, slots=True)
class Inputs:
    """The documents of one fan-out, encoded as the producer publishes them."""

    fanout: int
    records: list[Outgoing]

    @property
    def value_bytes(self) -> tuple[int, int]:
        """Return the smallest and largest encoded value."""
        sizes = [len(r.value) for r in self.records]
        return min(sizes), max(sizes)


def inputs(codec: Codec, fanout: int, count: int) -> Inputs:
    """Encode `count` documents addressed to `fan-<fanout>`."""
    content = content_for(codec, group(fanout))
    return Inputs(
        fanout,
        [
            prepare(codec, EventType.DOCUMENT, document(i, group(fanout), content))
            for i in range(count)
        ],
    )


def text_payloads(records: Sequence[Outgoing], codec: Codec, limit: int = 500) -> list[bytes]:
    """Return ASCII lines as long as the records' values: the documents' JSON, cut to size."""
    out = []
    for record in records[:limit]:
        decoded = codec.decode(record.value).record
        text = json.dumps(to_json(decoded), ensure_ascii=True).encode()
        size = len(record.value)
        out.append((text * (size // len(text) + 1))[:size])
    return out


@dataclass(frozen=True, slots=True)
class World:
    """The directory and topics of one benchmark run."""

    directory_path: Path
    directory: Directory
    topics: TopicSettings
    inbound: dict[int, str]  # fan-out -> its inbound topic
    minimal: list[str]  # the minimal loop's delivery topics
    perf_topic: str  # ProducerPerformance's topic

    def delivery_topics(self, fanout: int) -> list[str]:
        """Return the delivery topics of `fan-<fanout>`'s endpoints."""
        prefix = self.topics.delivery_prefix
        return [
            self.directory.endpoint(f"ep-{i:02d}").delivery_topic(prefix) for i in range(fanout)
        ]


def build_world(kafka: KafkaSettings, workdir: Path, fanouts: Sequence[int]) -> World:
    """Write the directory (as many endpoints as the largest fan-out) and create every topic.

    Partition counts and retention are the deployment defaults (TopicSettings).
    """
    prefix = unique_name("bench")
    path = workdir / "directory.yaml"
    path.write_text(directory_yaml(fanouts, endpoints=max(fanouts)), encoding="utf-8")
    directory = load_directory(path)
    topics = TopicSettings(
        inbound=f"{prefix}.inbound", dlq=f"{prefix}.dlq", delivery_prefix=f"{prefix}.deliver."
    )
    inbound = {n: f"{prefix}.inbound.fan-{n}" for n in fanouts}
    specs: dict[str, TopicSpec] = {}
    for name in inbound.values():
        planned = plan_topics(
            topics.model_copy(update={"inbound": name}), directory.endpoints.values()
        )
        specs.update((s.name, s) for s in planned)
    inbound_spec = specs[next(iter(inbound.values()))]
    delivery = next(s for s in specs.values() if s.name.startswith(topics.delivery_prefix))
    minimal = [f"{prefix}.minimal.{i:02d}" for i in range(max(fanouts))]
    specs.update(
        (name, TopicSpec(name, delivery.partitions, 1, delivery.config)) for name in minimal
    )
    perf = f"{prefix}.perf"
    specs[perf] = TopicSpec(perf, inbound_spec.partitions, 1, inbound_spec.config)
    admin = make_admin(kafka)
    apply_topics(admin, list(specs.values()))
    for partitions in {s.partitions for s in specs.values()}:
        names = [s.name for s in specs.values() if s.partitions == partitions]
        wait_for_topics(admin, names, partitions, timeout=60)
    return World(path, directory, topics, inbound, minimal, perf)


def preload(kafka: KafkaSettings, topic: str, records: Sequence[Outgoing]) -> int:
    """Publish the records as the producer API does (idempotent, acks=all); return the count."""
    producer = make_producer(kafka)
    for count, record in enumerate(records, 1):
        while True:
            try:
                producer.produce(
                    topic, record.value, record.key, headers=kafka_headers(record.headers)
                )
                break
            except BufferError:
                producer.poll(0.05)
        if count % 1000 == 0:
            producer.poll(0)
    left = producer.flush(120)
    if left:
        raise RuntimeError(f"{left} records not acknowledged while pre-loading {topic}")
    return len(records)
