"""The topics a deployment needs, planned from settings and the directory, applied idempotently."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from lienthong.directory.model import Endpoint
from lienthong.plumbing.settings import TopicSettings


class TopicError(RuntimeError):
    """The cluster refused to create or describe a topic."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic as the deployment wants it."""

    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TopicOutcome:
    """What `apply_topics` did or found for one topic."""

    name: str
    action: Literal["created", "exists", "differs", "would-create"]
    detail: str = ""


def plan_topics(topics: TopicSettings, endpoints: Iterable[Endpoint]) -> list[TopicSpec]:
    """Return the inbound, DLQ and one delivery topic per endpoint, in a stable order."""

    def spec(name: str, partitions: int, retention_ms: int) -> TopicSpec:
        config = {"cleanup.policy": "delete", "retention.ms": str(retention_ms)}
        if topics.min_insync_replicas is not None:
            config["min.insync.replicas"] = str(topics.min_insync_replicas)
        return TopicSpec(name, partitions, topics.replication_factor, config)

    planned = [
        spec(topics.inbound, topics.inbound_partitions, topics.inbound_retention_ms),
        spec(topics.dlq, topics.dlq_partitions, topics.dlq_retention_ms),
    ]
    for endpoint in sorted(endpoints, key=lambda e: e.id):
        name = endpoint.delivery_topic(topics.delivery_prefix)
        planned.append(spec(name, topics.delivery_partitions, topics.delivery_retention_ms))
    return planned


def apply_topics(
    admin: AdminClient, specs: list[TopicSpec], *, dry_run: bool = False, timeout: float = 30.0
) -> list[TopicOutcome]:
    """Create the missing topics; report existing ones, and how they differ from the plan."""
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise TopicError(f"cannot list topics: {exc.args[0]}") from exc
    missing = [s for s in specs if s.name not in existing]
    outcomes = {
        s.name: _compare(admin, s, len(existing[s.name].partitions), timeout)
        for s in specs
        if s.name in existing
    }
    if missing and dry_run:
        outcomes.update({s.name: TopicOutcome(s.name, "would-create") for s in missing})
    elif missing:
        by_name = {s.name: s for s in missing}
        futures = admin.create_topics(
            [
                NewTopic(s.name, s.partitions, s.replication_factor, config=dict(s.config))
                for s in missing
            ],
            request_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":  # raced with another apply
                    raise TopicError(f"cannot create {name}: {exc.args[0].str()}") from exc
            outcomes[name] = TopicOutcome(name, "created", _describe(by_name[name]))
    return [outcomes[s.name] for s in specs]


def _describe(spec: TopicSpec) -> str:
    return f"partitions={spec.partitions}, retention.ms={spec.config.get('retention.ms')}"


def _compare(admin: AdminClient, spec: TopicSpec, partitions: int, timeout: float) -> TopicOutcome:
    """Compare an existing topic with its spec; never change it (see the message for why)."""
    diffs = []
    if partitions != spec.partitions:
        # Adding partitions moves keys and would break per-document ordering: an operator decides.
        diffs.append(f"{partitions} partitions, plan says {spec.partitions}")
    resource = ConfigResource(ConfigResource.Type.TOPIC, spec.name)
    try:
        described = admin.describe_configs([resource])[resource].result(timeout=timeout)
    except KafkaException as exc:
        raise TopicError(f"cannot describe {spec.name}: {exc.args[0].str()}") from exc
    for key, wanted in spec.config.items():
        actual = described[key].value if key in described else None
        if actual != wanted:
            diffs.append(f"{key}={actual}, plan says {wanted}")
    if diffs:
        return TopicOutcome(spec.name, "differs", "; ".join(diffs) + " (left unchanged)")
    return TopicOutcome(spec.name, "exists", _describe(spec))
