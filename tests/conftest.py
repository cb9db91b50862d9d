"""Session services for the tests: a real Kafka broker and a real PostgreSQL server.

Each starts only when a test asks for it, once per session, on free loopback ports. A test
that uses them is marked `kafka` / `postgres` automatically, so `-m "not kafka"` deselects
it. A service that cannot start fails the tests that need it (an error, never a skip): a
CI run must not turn green by skipping what it could not run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from lienthong.plumbing.settings import KafkaSettings
from tests.support.kafka import LocalKafka, describe_broker, unique_name
from tests.support.postgres import LocalPostgres

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

_MARKERS_BY_FIXTURE = {
    "kafka": "kafka",
    "kafka_bootstrap": "kafka",
    "kafka_admin": "kafka",
    "postgres": "postgres",
    "postgres_url": "postgres",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use the broker or the database by the fixtures they request."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for marker in sorted({_MARKERS_BY_FIXTURE[n] for n in names & _MARKERS_BY_FIXTURE.keys()}):
            if item.get_closest_marker(marker) is None:
                item.add_marker(marker)


_described: list[str] = []  # the session broker is described at the first failure only


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the session broker's state to the first failure of a test that used it.

    When the broker goes bad, every later test fails with a client's view of it; its own log
    says why, and CI keeps nothing else.
    """
    report: pytest.TestReport = yield
    broker = getattr(item, "funcargs", {}).get("kafka")
    if report.failed and isinstance(broker, LocalKafka) and not _described:
        _described.append(item.nodeid)
        report.sections.append(("session broker", describe_broker(broker)))
    return report


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A running single-node Kafka broker for the whole session (own dir and ports).

    Tests may stop or restart it (`kafka.restart()`), but must leave it running.
    """
    broker = LocalKafka(home=tmp_path_factory.mktemp("kafka"))
    try:
        broker.start()  # raises with the broker log's tail if it cannot start
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka: LocalKafka) -> str:
    """The session broker's bootstrap servers, e.g. 127.0.0.1:21234."""
    return kafka.bootstrap


@pytest.fixture(scope="session")
def kafka_admin(kafka: LocalKafka) -> KafkaSettings:
    """Client settings for the session broker's super user, lt-admin (SASL_SSL, SCRAM).

    For the tests' own set-up and inspection; what a service may do as its own principal is
    tested with the principals `lienthong acls apply` makes.
    """
    return kafka.admin_settings()


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """A running PostgreSQL server for the whole session (own temp dir and port)."""
    server = LocalPostgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_url(postgres: LocalPostgres) -> str:
    """The URL of a fresh, empty database of the session server, one per test."""
    if not postgres.running:  # a test stopped it for an outage and did not start it again
        postgres.start()
    return postgres.create_database(unique_name("test").replace("-", "_"))
