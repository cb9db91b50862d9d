"""The pipeline benchmark's axis: directory, topics, one database per endpoint, the processes.

The world is bench.fanout's (endpoints `ep-NN`, one agency each, a group `fan-N` per fan-out,
the sender on an endpoint `origin` of its own outside every group), with two additions: the
sender's endpoint gets an API key, so the API accepts its documents, and, when there are more
endpoints than the fan-out, groups `rot-NNN` of `fanout` consecutive endpoints (wrapping), so
documents addressed to them in turn spread evenly over every endpoint. The services run as
deployed, through services/demo/stack.py: the API, the routers (one group, an instance id
each) and a consumer per endpoint writing to a PostgreSQL database of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from bench.fanout import World, agency, build_world, group
from lienthong.demo.stack import Service, Stack
from lienthong.devtools.kafka import settings_for
from lienthong.directory.loader import load_directory
from lienthong.plumbing.kafka_security import environment
from lienthong.plumbing.settings import KafkaSettings
from tests.support.api import auth, demo_key
from tests.support.environ import inherited_env
from tests.support.kafka import unique_name
from tests.support.ports import free_port

ORIGIN = "origin"
_ORIGIN_LINE = "{id: origin, name: Bench sender's system}"

CreateDatabase = Callable[[str], str]  # a name -> the URL of that new, empty database


@dataclass(frozen=True, slots=True)
class Axis:
    """One run's directory, topics and databases, and the names the load addresses."""

    world: World
    fanout: int
    endpoint_ids: tuple[str, ...]
    recipients: tuple[str, ...]  # the group each document names, in turn
    databases: Mapping[str, str]  # endpoint id -> database URL
    group_prefix: str  # consumer groups and the routers' group start with it

    @property
    def inbound(self) -> str:
        """Return the inbound topic the API publishes to and the routers read."""
        return self.world.inbound[self.fanout]

    @property
    def headers(self) -> dict[str, str]:
        """Return the HTTP headers of the sender's API requests."""
        return auth(ORIGIN)


def directory_text(base: str, fanout: int, endpoints: int) -> str:
    """Add the sender's API key and, past `fanout` endpoints, the rotating groups to `base`."""
    if _ORIGIN_LINE not in base:
        raise RuntimeError(f"bench/fanout.py no longer writes {_ORIGIN_LINE!r}; update this")
    credential = hashlib.sha256(demo_key(ORIGIN).encode()).hexdigest()
    text = base.replace(_ORIGIN_LINE, f"{_ORIGIN_LINE[:-1]}, credential_sha256: {credential}}}")
    if endpoints > fanout:
        for start in range(endpoints):
            members = ", ".join(agency((start + j) % endpoints) for j in range(fanout))
            text += f"  - {{name: {rotation(start)}, members: [{members}]}}\n"
    return text


def rotation(start: int) -> str:
    """Return the name of the group of `fanout` endpoints from endpoint `start` on."""
    return f"rot-{start:03d}"


def build_axis(
    kafka: KafkaSettings,
    workdir: Path,
    fanout: int,
    endpoints: int,
    create_database: CreateDatabase,
) -> Axis:
    """Write the directory, create every topic, and one fresh database per endpoint."""
    if not 1 <= fanout <= endpoints:
        raise ValueError(f"the fan-out ({fanout}) must be between 1 and the endpoints")
    world = build_world(kafka, workdir, sorted({fanout, endpoints}))
    path = world.directory_path
    path.write_text(
        directory_text(path.read_text(encoding="utf-8"), fanout, endpoints), encoding="utf-8"
    )
    world = replace(world, directory=load_directory(path))
    ids = tuple(f"ep-{i:02d}" for i in range(endpoints))
    prefix = unique_name("bench").replace("-", "_")
    databases = {e: create_database(f"{prefix}_{e.replace('-', '_')}") for e in ids}
    recipients = (
        (group(fanout),) if endpoints == fanout else tuple(rotation(i) for i in range(endpoints))
    )
    return Axis(world, fanout, ids, recipients, databases, prefix.replace("_", "-"))


@dataclass(frozen=True, slots=True)
class Running:
    """The started stack and its services by role."""

    stack: Stack
    api: Service
    routers: tuple[Service, ...]
    consumers: Mapping[str, Service]  # endpoint id -> its consumer

    @property
    def api_url(self) -> str:
        """Return the API's base URL."""
        return self.api.url

    def pids(self) -> dict[str, int]:
        """Return every service's pid by name."""
        return {s.name: s.process.pid for s in self.stack.services if s.process is not None}

    def metrics_urls(self, role: str) -> list[str]:
        """Return the /metrics URLs of the routers or the consumers."""
        services = self.routers if role == "router" else tuple(self.consumers.values())
        return [f"{s.url}/metrics" for s in services]


def declare(axis: Axis, bootstrap: str, routers: int, log_dir: Path) -> Running:
    """Declare the API, `routers` routers and one consumer per endpoint (not started)."""
    topics = axis.world.topics
    base = {
        **inherited_env(),
        **environment(settings_for(bootstrap)),
        "LIENTHONG_TOPICS_INBOUND": axis.inbound,
        "LIENTHONG_TOPICS_DLQ": topics.dlq,
        "LIENTHONG_TOPICS_DELIVERY_PREFIX": topics.delivery_prefix,
        "LIENTHONG_DIRECTORY_PATH": str(axis.world.directory_path),
        "LIENTHONG_LOG_FORMAT": "json",
        "LIENTHONG_ROUTER_GROUP_ID": f"{axis.group_prefix}-router",
        "LIENTHONG_CONSUMER_GROUP_PREFIX": f"{axis.group_prefix}-consumer",
    }
    stack = Stack(base, log_dir)
    routed = []
    for i in range(routers):
        port = free_port()
        routed.append(
            stack.add(
                f"router-{i}",
                ["router", "run"],
                {
                    "LIENTHONG_ROUTER_INSTANCE_ID": f"bench-{i}",
                    "LIENTHONG_ROUTER_METRICS_PORT": str(port),
                },
                ready_port=port,
                ready_path="/readyz",
            )
        )
    consumers = {}
    for endpoint, url in axis.databases.items():
        port = free_port()
        consumers[endpoint] = stack.add(
            f"consumer-{endpoint}",
            ["consumer", "run", "--endpoint", endpoint],
            {"LIENTHONG_CONSUMER_DATABASE_URL": url, "LIENTHONG_CONSUMER_METRICS_PORT": str(port)},
            ready_port=port,
            ready_path="/readyz",
        )
    port = free_port()
    api = stack.add(
        "api",
        ["producer", "serve"],
        # The benchmark offers what the axis can take: no fair-use limit in the way.
        {"LIENTHONG_PRODUCER_PORT": str(port), "LIENTHONG_PRODUCER_RATE_LIMIT_EVENTS_PER_S": "0"},
        ready_port=port,
        ready_path="/readyz",
    )
    return Running(stack, api, tuple(routed), consumers)
