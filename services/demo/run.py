"""Bring the axis up on this machine, tell the story, wait for every receipt, and sum up."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from lienthong.consumer.store.store import Store
from lienthong.contract import headers as h
from lienthong.demo.scenario import Expected, Publication
from lienthong.demo.stack import Stack
from lienthong.devtools.ports import free_port, port_accepts
from lienthong.plumbing.kafka_confluent import common_config, envelope_of
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import KafkaSettings
from lienthong.producer.client import Publisher
from lienthong.producer.errors import ProducerError
from lienthong.security.names import OPERATOR_GROUP_PREFIX
from lienthong.security.principals import API, OPERATOR, ROUTER, consumer_user, endpoint_user
from lienthong.security.provision import as_principal

KAFKA_ENV = "LIENTHONG_KAFKA_"
CONSUMERS = ("vpcp", "tinh-nghe-an", "bo-nganh")
Progress = Callable[[str], None]


def port(preferred: int) -> int:
    """Return `preferred` if nothing listens there, else a free port."""
    return free_port() if port_accepts(preferred) else preferred


@dataclass
class Layout:
    """Where the demo's processes listen and keep their files."""

    workdir: Path
    kafka: KafkaSettings  # the administrator's: topics, ACLs and users, nothing else
    directory: Path
    api_port: int = field(default_factory=lambda: port(8080))
    router_port: int = field(default_factory=lambda: port(9101))
    consumer_ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for offset, endpoint in enumerate(CONSUMERS):
            self.consumer_ports.setdefault(endpoint, port(9102 + offset))

    @property
    def bootstrap(self) -> str:
        """Return the broker's bootstrap servers."""
        return self.kafka.bootstrap

    def store(self, endpoint: str) -> str:
        """Return the SQLite URL of an endpoint's store."""
        return f"sqlite:///{self.workdir / f'{endpoint}.sqlite'}"

    @property
    def secrets(self) -> Path:
        """Return the directory of the principals' password files (`users apply` writes them)."""
        return self.workdir / "secrets"

    def as_user(self, user: str) -> KafkaSettings:
        """Return the client settings of one of the deployment's principals."""
        return as_principal(self.kafka, user, self.secrets)


def principals(stack: Stack, published: Published) -> dict[str, str]:
    """Return who ran as which principal, read off what each was started with."""
    ran = {s.name: s.env.get(f"{KAFKA_ENV}SASL_USERNAME", "(none)") for s in stack.services}
    return {
        **ran,
        "Kafka publishing": ", ".join(sorted(published.users)) or "(none)",
        "dead-letter reading": OPERATOR,
    }


def build_stack(layout: Layout, env: dict[str, str]) -> Stack:
    """Declare the producer, the router and one consumer per demo endpoint."""
    base = {
        **{k: v for k, v in env.items() if not k.startswith(KAFKA_ENV)},
        "LIENTHONG_DIRECTORY_PATH": str(layout.directory),
        "LIENTHONG_LOG_FORMAT": "json",
    }
    stack = Stack(base, layout.workdir / "logs")
    stack.add(
        "router",
        ["router", "run"],
        {
            **environment(layout.as_user(ROUTER)),
            "LIENTHONG_ROUTER_INSTANCE_ID": "demo-0",
            "LIENTHONG_ROUTER_METRICS_PORT": str(layout.router_port),
        },
        ready_port=layout.router_port,
        ready_path="/readyz",
    )
    for endpoint in CONSUMERS:
        metrics = layout.consumer_ports[endpoint]
        stack.add(
            f"consumer-{endpoint}",
            ["consumer", "run", "--endpoint", endpoint],
            {
                **environment(layout.as_user(consumer_user(endpoint))),
                "LIENTHONG_CONSUMER_DATABASE_URL": layout.store(endpoint),
                "LIENTHONG_CONSUMER_METRICS_PORT": str(metrics),
            },
            ready_port=metrics,
            ready_path="/readyz",
        )
    stack.add(
        "producer",
        ["producer", "serve"],
        {**environment(layout.as_user(API)), "LIENTHONG_PRODUCER_PORT": str(layout.api_port)},
        ready_port=layout.api_port,
        ready_path="/readyz",
    )
    return stack


@dataclass
class Published:
    """What publishing the story produced."""

    answers: list[tuple[Publication, str]] = field(default_factory=list)
    users: set[str] = field(default_factory=set)  # who wrote straight to Kafka


def publish(story: list[Publication], layout: Layout, progress: Progress) -> Published:
    """Publish every event of the story the way it says (API or Kafka); record each answer.

    What goes straight to Kafka is written as the sender's endpoint, by its own principal.
    """
    out = Published()
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{layout.api_port}", timeout=30) as api,
        ExitStack() as publishers,
    ):
        kafka: dict[str, Publisher] = {}
        for pub in story:
            if pub.via == "api":
                answer = api.post(
                    f"/v1/{_route(pub)}",
                    json=pub.event,
                    headers={"Authorization": f"Bearer demo-key-{pub.endpoint}"},
                )
                said = f"HTTP {answer.status_code}"
                if answer.status_code != pub.expect_http:
                    raise DemoError(
                        f"{pub.title}: expected {pub.expect_http}, got {said}: {answer.text}"
                    )
                if answer.status_code >= 400:  # noqa: PLR2004
                    first = answer.json()["errors"][0]
                    said += f" {first['pointer']}: {first['message']}"
            else:
                if pub.endpoint not in kafka:
                    user = layout.as_user(endpoint_user(pub.endpoint))
                    kafka[pub.endpoint] = publishers.enter_context(Publisher(user))
                    out.users.add(str(user.sasl_username))
                try:
                    result = kafka[pub.endpoint].publish(pub.kind, pub.event)
                except ProducerError as exc:
                    raise DemoError(f"{pub.title}: {exc}") from exc
                said = f"Kafka {result.topic}[{result.partition}]@{result.offset}"
            out.answers.append((pub, said))
            progress(f"published {pub.title}: {said}")
    return out


def _route(pub: Publication) -> str:
    return {"document": "documents", "report": "reports", "status": "statuses"}[pub.kind.value]


class DemoError(RuntimeError):
    """The demo could not run, or its numbers do not add up."""


def held(layout: Layout) -> dict[str, dict[str, int]]:
    """Read each demo store's row counts and receipts sent."""
    found = {}
    for endpoint in CONSUMERS:
        with Store.open(layout.store(endpoint), migrate=False) as store:
            counts = store.counts()
            sent, _ = store.outbox_by_kind().get("receipt", (0, 0))
        found[endpoint] = {
            "events": counts["lt_events"],
            "documents": counts["lt_documents"],
            "reports": counts["lt_reports"],
            "statuses": counts["lt_statuses"],
            "receipts_sent": sent,
        }
    return found


def wanted(expected: Expected) -> dict[str, dict[str, int]]:
    """Return the expected counts in the shape `held` reads them."""
    return {
        e: {
            "events": expected.events[e],
            "documents": expected.documents[e],
            "reports": expected.reports[e],
            "statuses": expected.statuses[e],
            "receipts_sent": expected.receipts_sent[e],
        }
        for e in CONSUMERS
    }


def wait_until(check: Callable[[], bool], timeout_s: float, progress: Progress, what: str) -> bool:
    """Poll `check` until true or the deadline; report progress every few seconds."""
    deadline = time.monotonic() + timeout_s
    next_note = time.monotonic() + 3
    while not check():
        if time.monotonic() > deadline:
            return False
        if time.monotonic() > next_note:
            progress(f"waiting for {what}...")
            next_note = time.monotonic() + 3
        time.sleep(0.3)
    return True


def fresh_workdir(path: Path) -> Path:
    """Empty the demo's directory so every run starts from nothing."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def dead_letters(kafka: KafkaSettings, topic: str) -> Counter[str]:
    """Count the DLQ's records by reason, reading it to its current end (as the operator)."""
    config = common_config(kafka, client_id="lienthong-demo-reader", statistics=False)
    consumer = Consumer(
        {
            **config,
            # Joins no group (assign) and commits nothing, as the operator's own tools.
            "group.id": f"{OPERATOR_GROUP_PREFIX}demo",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        reasons: Counter[str] = Counter()
        remaining = {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + 10
        while remaining and time.monotonic() < deadline:
            for message in consumer.consume(100, 0.2):
                if message.error() is None:
                    env = envelope_of(message)
                    reasons[dict(env.headers).get(h.DLQ_REASON, b"?").decode()] += 1
            # The position, not the last record's offset: a transaction's commit marker takes
            # the last offset of a transactional topic, and is never handed out.
            positions = consumer.position([TopicPartition(topic, p) for p in remaining])
            remaining -= {tp.partition for tp in positions if tp.offset >= ends[tp.partition]}
        return reasons
    finally:
        consumer.close()


def render_reasons(counter: Counter[str]) -> str:
    """Render reasons as `reason n, reason n`."""
    return ", ".join(f"{reason} {n}" for reason, n in sorted(counter.items())) or "none"


def percentile(values: list[float], q: float) -> float:
    """Return the q-quantile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]
