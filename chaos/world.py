"""The axis the fault suite runs: topics, one PostgreSQL store per endpoint, the processes.

The example directory, with topics under a prefix of the run's own: the Government Office
(`vpcp`) sends every document to one agency at each of three other endpoints, so each
document makes three delivery copies and three receipts (status 01) back to `vpcp`'s store.
Every service runs as deployed, one process each, through services/demo/stack.py: the API, the
router(s), and a consumer per endpoint (`vpcp` included: it stores the receipts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lienthong.demo.stack import Service, Stack
from lienthong.directory.model import Directory
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import KafkaSettings, Settings
from tests.support.environ import inherited_env
from tests.support.ports import free_port
from tests.support.router import Deployment, deploy

SENDER_ENDPOINT = "vpcp"
TARGET_ENDPOINTS = ("tinh-nghe-an", "bo-nganh", "dia-phuong")
CONSUMERS = (SENDER_ENDPOINT, *TARGET_ENDPOINTS)
UNKNOWN_AGENCY = "000.00.00.G98"  # in no directory: documents to it are dead-lettered

CreateDatabase = Callable[[str], str]  # a name -> the URL of that new, empty database


@dataclass(frozen=True, slots=True)
class World:
    """One run's deployment (settings, directory, topics) and its stores."""

    deployment: Deployment
    stores: Mapping[str, str]  # endpoint id -> database URL
    recipients: tuple[str, ...]  # the agencies every document names, one per target endpoint

    @property
    def settings(self) -> Settings:
        """Return the settings every process of the run shares."""
        return self.deployment.settings

    @property
    def directory(self) -> Directory:
        """Return the run's directory."""
        return self.deployment.directory

    def delivery_topic(self, endpoint: str) -> str:
        """Return an endpoint's delivery topic."""
        return self.directory.endpoint(endpoint).delivery_topic(
            self.settings.topics.delivery_prefix
        )

    def endpoint_of(self, agency: str) -> str:
        """Return the endpoint that serves an agency."""
        return self.directory.agencies[agency].endpoint


def build_world(kafka: KafkaSettings, create_database: CreateDatabase) -> World:
    """Create the run's topics and one fresh database per consumer."""
    deployment = deploy(kafka, batch_max_records=500, inbound_partitions=3)
    directory = deployment.directory
    recipients = tuple(directory.agencies_at(endpoint)[0] for endpoint in TARGET_ENDPOINTS)
    prefix = deployment.settings.topics.inbound.removesuffix(".inbound").replace("-", "_")
    stores = {e: create_database(f"{prefix}_{e.replace('-', '_')}") for e in CONSUMERS}
    return World(deployment, stores, recipients)


@dataclass(frozen=True, slots=True)
class Running:
    """The declared stack and its services by role."""

    stack: Stack
    api: Service
    routers: tuple[Service, ...]
    consumers: Mapping[str, Service]  # endpoint id -> its consumer

    def metrics_url(self, service: Service) -> str:
        """Return a service's /metrics URL."""
        return f"{service.url}/metrics"


def declare(
    world: World, log_dir: Path, *, routers: int = 1, extra_env: Mapping[str, str] | None = None
) -> Running:
    """Declare the API, the routers and one consumer per endpoint of the run (not started)."""
    settings = world.settings
    topics = settings.topics
    base = {
        **inherited_env(),
        **environment(settings.kafka),
        "LIENTHONG_TOPICS_INBOUND": topics.inbound,
        "LIENTHONG_TOPICS_DLQ": topics.dlq,
        "LIENTHONG_TOPICS_DELIVERY_PREFIX": topics.delivery_prefix,
        "LIENTHONG_DIRECTORY_PATH": str(settings.directory.path),
        "LIENTHONG_LOG_FORMAT": "json",
        "LIENTHONG_ROUTER_GROUP_ID": settings.router.group_id,
        "LIENTHONG_ROUTER_LAG_INTERVAL_S": "1",
        "LIENTHONG_CONSUMER_GROUP_PREFIX": f"{settings.router.group_id}-consumer",
        "LIENTHONG_CONSUMER_LAG_INTERVAL_S": "1",
        "LIENTHONG_CONSUMER_RETRY_MAX_BACKOFF_S": "2",
        **(extra_env or {}),
    }
    stack = Stack(base, log_dir)
    declared = []
    for i in range(routers):
        port = free_port()
        declared.append(
            stack.add(
                f"router-{i}",
                ["router", "run"],
                {
                    "LIENTHONG_ROUTER_INSTANCE_ID": f"chaos-{i}",
                    "LIENTHONG_ROUTER_METRICS_PORT": str(port),
                    "LIENTHONG_ROUTER_READINESS_INTERVAL_S": "1",
                },
                ready_port=port,
                ready_path="/readyz",
            )
        )
    consumers = {}
    for endpoint, url in world.stores.items():
        port = free_port()
        consumers[endpoint] = stack.add(
            f"consumer-{endpoint}",
            ["consumer", "run", "--endpoint", endpoint],
            {
                "LIENTHONG_CONSUMER_DATABASE_URL": url,
                "LIENTHONG_CONSUMER_METRICS_PORT": str(port),
                "LIENTHONG_CONSUMER_INSTANCE_ID": "chaos-0",
                "LIENTHONG_CONSUMER_READINESS_INTERVAL_S": "1",
            },
            ready_port=port,
            ready_path="/readyz",
        )
    port = free_port()
    api = stack.add(
        "api",
        ["producer", "serve"],
        {"LIENTHONG_PRODUCER_PORT": str(port), "LIENTHONG_PRODUCER_READINESS_INTERVAL_S": "1"},
        ready_port=port,
        ready_path="/readyz",
    )
    return Running(stack, api, tuple(declared), consumers)
