from __future__ import annotations

import inspect
import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lienthong.consumer.bootstrap import ARCHIVE
from lienthong.directory.loader import load_directory
from lienthong.directory.model import Directory, Endpoint
from lienthong.operations import kafka_read
from lienthong.operations.kafka_replay import replay_log_topic, replay_transactional_id
from lienthong.plumbing.settings import RouterSettings, Settings, TopicSettings
from lienthong.router.bootstrap import transactional_id
from lienthong.security import names
from lienthong.security.access import NO_ACCESS, Access, Reader, load_access
from lienthong.security.acls import plan_acls
from lienthong.security.errors import PlanError
from lienthong.security.model import Acl, Operation, Pattern, Permission, ResourceType, allows
from lienthong.security.principals import (
    API,
    OPERATOR,
    ROUTER,
    SUPER_USERS,
    consumer_user,
    endpoint_user,
    principal,
    reader_user,
)
from lienthong.subscriber import Subscriber

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "deploy" / "directory.example.yaml"
EXAMPLE_ACCESS = ROOT / "deploy" / "access.example.yaml"
READ, WRITE, DESCRIBE, CREATE = (
    Operation.READ,
    Operation.WRITE,
    Operation.DESCRIBE,
    Operation.CREATE,
)
TOPIC, GROUP, TXN = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID
# Not in the endpoint id alphabet: a group ending in it can be nobody else's.
FOREIGN = "Z"


def directory_of(*ids: str, topics: dict[str, str] | None = None) -> Directory:
    overrides = topics or {}
    return Directory.build(
        agencies=(), endpoints=[Endpoint(i, i.upper(), overrides.get(i)) for i in ids]
    )


def acls_of(acls: frozenset[Acl], user: str) -> set[tuple[str, str, str, str]]:
    who = principal(user)
    return {
        (a.resource_type.value, a.pattern.value, a.name, a.operation.value)
        for a in acls
        if a.principal == who
    }


def can(acls: frozenset[Acl], user: str, op: Operation, rtype: ResourceType, name: str) -> bool:
    return allows(acls, principal(user), op, rtype, name)


@pytest.fixture(scope="module")
def example() -> tuple[Directory, Access, frozenset[Acl]]:
    directory = load_directory(EXAMPLE)
    access = load_access(EXAMPLE_ACCESS)
    return directory, access, plan_acls(directory, Settings(), access)


def test_router_reads_inbound_in_its_group_and_writes_deliveries_dlq_and_its_ids() -> None:
    acls = plan_acls(directory_of("vpcp"), Settings(), NO_ACCESS)
    assert acls_of(acls, ROUTER) == {
        ("TOPIC", "LITERAL", "lienthong.inbound", "READ"),
        ("GROUP", "LITERAL", "lienthong-router", "READ"),
        ("TOPIC", "PREFIXED", "lienthong.deliver.", "WRITE"),
        ("TOPIC", "LITERAL", "lienthong.dlq", "WRITE"),
        ("TRANSACTIONAL_ID", "PREFIXED", "lienthong-router-", "WRITE"),
        ("TRANSACTIONAL_ID", "PREFIXED", "lienthong-router-", "DESCRIBE"),
    }


def test_api_writes_inbound_only() -> None:
    acls = plan_acls(directory_of("vpcp"), Settings(), NO_ACCESS)
    assert acls_of(acls, API) == {("TOPIC", "LITERAL", "lienthong.inbound", "WRITE")}


def test_operator_reads_the_dlq_and_replays_into_inbound_only() -> None:
    acls = plan_acls(directory_of("vpcp"), Settings(), NO_ACCESS)
    replay_id = "lienthong-dlq-replay-lienthong.dlq.replayed"
    assert acls_of(acls, OPERATOR) == {
        ("TOPIC", "LITERAL", "lienthong.dlq", "READ"),
        ("TOPIC", "LITERAL", "lienthong.dlq.replayed", "READ"),
        ("TOPIC", "LITERAL", "lienthong.dlq.replayed", "WRITE"),
        ("TOPIC", "LITERAL", "lienthong.dlq.replayed", "CREATE"),
        ("TOPIC", "LITERAL", "lienthong.inbound", "WRITE"),
        ("TRANSACTIONAL_ID", "LITERAL", replay_id, "WRITE"),
        ("TRANSACTIONAL_ID", "LITERAL", replay_id, "DESCRIBE"),
        ("GROUP", "PREFIXED", "lienthong-ops-", "DESCRIBE"),
    }
    assert not can(acls, OPERATOR, WRITE, TOPIC, "lienthong.deliver.vpcp")
    assert not can(acls, OPERATOR, WRITE, TOPIC, "lienthong.dlq")


def test_endpoint_clients_read_its_topic_in_its_namespace_and_write_inbound_not_the_dlq() -> None:
    acls = plan_acls(directory_of("tinh-nghe-an"), Settings(), NO_ACCESS)
    assert acls_of(acls, endpoint_user("tinh-nghe-an")) == {
        ("TOPIC", "LITERAL", "lienthong.deliver.tinh-nghe-an", "READ"),
        ("GROUP", "PREFIXED", "lienthong-consumer-tinh-nghe-an.", "READ"),
        ("TOPIC", "LITERAL", "lienthong.inbound", "WRITE"),
        ("TOPIC", "PREFIXED", "lienthong.dlq.lienthong-consumer-tinh-nghe-an.", "WRITE"),
    }


def test_endpoint_consumer_reads_its_topic_in_its_group_and_writes_inbound_and_the_dlq() -> None:
    acls = plan_acls(directory_of("tinh-nghe-an"), Settings(), NO_ACCESS)
    assert acls_of(acls, consumer_user("tinh-nghe-an")) == {
        ("TOPIC", "LITERAL", "lienthong.deliver.tinh-nghe-an", "READ"),
        ("GROUP", "LITERAL", "lienthong-consumer-tinh-nghe-an", "READ"),
        ("TOPIC", "LITERAL", "lienthong.inbound", "WRITE"),
        ("TOPIC", "LITERAL", "lienthong.dlq", "WRITE"),
    }


def test_names_follow_the_settings() -> None:
    settings = Settings(
        topics=TopicSettings(inbound="axis.in", dlq="axis.dead", delivery_prefix="axis.out."),
        router=RouterSettings(group_id="rt"),
        consumer=Settings().consumer.model_copy(update={"group_prefix": "sink"}),
    )
    acls = plan_acls(directory_of("vpcp"), settings, NO_ACCESS)
    assert ("TOPIC", "PREFIXED", "axis.out.", "WRITE") in acls_of(acls, ROUTER)
    assert ("TRANSACTIONAL_ID", "PREFIXED", "rt-", "WRITE") in acls_of(acls, ROUTER)
    assert ("GROUP", "LITERAL", "rt", "READ") in acls_of(acls, ROUTER)
    endpoint = acls_of(acls, consumer_user("vpcp"))
    assert ("TOPIC", "LITERAL", "axis.out.vpcp", "READ") in endpoint
    assert ("GROUP", "LITERAL", "sink-vpcp", "READ") in endpoint
    assert ("TOPIC", "LITERAL", "axis.dead", "WRITE") in endpoint
    assert ("GROUP", "PREFIXED", "sink-vpcp.", "READ") in acls_of(acls, endpoint_user("vpcp"))
    assert ("TOPIC", "LITERAL", "axis.dead.replayed", "READ") in acls_of(acls, OPERATOR)


def test_names_are_the_ones_the_services_build() -> None:
    settings = Settings(router=RouterSettings(instance_id="router-0"))
    assert transactional_id(settings).startswith(names.router_transactional_ids(settings))
    assert names.replay_log(settings) == replay_log_topic(settings.topics)
    assert names.replay_transaction(settings) == replay_transactional_id(
        replay_log_topic(settings.topics)
    )


def test_an_override_outside_the_delivery_prefix_is_granted_to_the_router_alone() -> None:
    directory = directory_of("btc", "vpcp", topics={"btc": "ministry.inbox"})
    acls = plan_acls(directory, Settings(), NO_ACCESS)
    assert ("TOPIC", "LITERAL", "ministry.inbox", "WRITE") in acls_of(acls, ROUTER)
    assert ("TOPIC", "LITERAL", "ministry.inbox", "READ") in acls_of(acls, endpoint_user("btc"))
    assert not can(acls, endpoint_user("vpcp"), READ, TOPIC, "ministry.inbox")


def test_an_empty_delivery_prefix_grants_each_topic_not_every_topic() -> None:
    settings = Settings(topics=TopicSettings(delivery_prefix=""))
    acls = plan_acls(directory_of("a", "b"), settings, NO_ACCESS)
    router = acls_of(acls, ROUTER)
    assert ("TOPIC", "LITERAL", "a", "WRITE") in router
    assert not any(kind == "PREFIXED" and name == "" for _, kind, name, _ in router)


def test_readers_read_what_they_are_declared_for_in_groups_of_their_own() -> None:
    access = Access((Reader("archive", None, dead_letters=True), Reader("reporting", ("vpcp",))))
    acls = plan_acls(directory_of("vpcp", "tinh-nghe-an"), Settings(), access)
    archive = acls_of(acls, reader_user("archive"))
    assert archive == {
        ("TOPIC", "LITERAL", "lienthong.deliver.tinh-nghe-an", "READ"),
        ("TOPIC", "LITERAL", "lienthong.deliver.vpcp", "READ"),
        ("GROUP", "LITERAL", "lienthong-consumer-archive", "READ"),
        ("GROUP", "PREFIXED", "lienthong-consumer-archive.", "READ"),
        ("TOPIC", "LITERAL", "lienthong.dlq", "WRITE"),
    }
    reporting = acls_of(acls, reader_user("reporting"))
    assert {op for *_, op in reporting} == {"READ"}
    assert ("TOPIC", "LITERAL", "lienthong.deliver.vpcp", "READ") in reporting
    assert not can(acls, reader_user("reporting"), READ, TOPIC, "lienthong.deliver.tinh-nghe-an")


def test_the_archive_group_is_the_one_consumer_run_all_joins() -> None:
    assert names.consumer_group(Settings(), ARCHIVE) == "lienthong-consumer-archive"


def test_a_reader_naming_an_unknown_endpoint_is_refused_with_its_line() -> None:
    access = Access((Reader("archive", ("vpcp", "nowhere"), where="access.yaml:4"),))
    with pytest.raises(PlanError) as caught:
        plan_acls(directory_of("vpcp"), Settings(), access)
    assert caught.value.lines == [
        "access.yaml:4: reader 'archive' names unknown endpoint 'nowhere' (the directory has vpcp)"
    ]


def test_a_reader_may_not_share_an_endpoints_name() -> None:
    access = Access((Reader("vpcp", None),))
    with pytest.raises(PlanError) as caught:
        plan_acls(directory_of("vpcp"), Settings(), access)
    assert "GROUP 'lienthong-consumer-vpcp' would belong to both" in str(caught.value)
    assert "User:lt-endpoint-vpcp and User:lt-reader-vpcp" in str(caught.value)


def test_overlapping_namespaces_are_denied_to_the_shorter_id() -> None:
    acls = plan_acls(directory_of("a", "a.b"), Settings(), NO_ACCESS)
    short = principal(endpoint_user("a"))
    denied = {(a.pattern, a.name) for a in acls if a.permission is Permission.DENY}
    assert denied == {
        (Pattern.LITERAL, "lienthong-consumer-a.b"),
        (Pattern.PREFIXED, "lienthong-consumer-a.b."),
        (Pattern.PREFIXED, "lienthong.dlq.lienthong-consumer-a.b."),
    }
    assert all(a.principal == short for a in acls if a.permission is Permission.DENY)
    assert not can(acls, endpoint_user("a"), READ, GROUP, "lienthong-consumer-a.b")
    assert not can(acls, endpoint_user("a"), READ, GROUP, "lienthong-consumer-a.b.x")
    assert can(acls, endpoint_user("a"), READ, GROUP, "lienthong-consumer-a.x")
    assert can(acls, consumer_user("a.b"), READ, GROUP, "lienthong-consumer-a.b")


def test_no_acl_for_super_users_and_every_principal_is_ours(
    example: tuple[Directory, Access, frozenset[Acl]],
) -> None:
    _, _, acls = example
    users = {a.principal.removeprefix("User:") for a in acls}
    assert not users & SUPER_USERS
    assert all(a.principal.startswith("User:lt-") for a in acls)
    assert all(a.host == "*" for a in acls)


def test_example_plan_has_no_deny_and_no_cluster_acl(
    example: tuple[Directory, Access, frozenset[Acl]],
) -> None:
    _, _, acls = example
    assert all(a.permission is Permission.ALLOW for a in acls)
    assert all(a.resource_type is not ResourceType.CLUSTER for a in acls)
    assert all(a.operation is not Operation.ALL for a in acls)


def check_isolation(directory: Directory, access: Access, acls: frozenset[Acl]) -> None:
    """The rules of issue 12, checked through a model of Kafka's authorizer."""
    settings = Settings()
    prefix = settings.topics.delivery_prefix
    endpoints = sorted(directory.endpoints)
    deliveries = {e: directory.endpoint(e).delivery_topic(prefix) for e in endpoints}
    everyone = {
        ROUTER,
        API,
        OPERATOR,
        *map(endpoint_user, endpoints),
        *map(consumer_user, endpoints),
        *(reader_user(r.name) for r in access.readers),
    }
    for mine in endpoints:
        me, my_consumer = endpoint_user(mine), consumer_user(mine)
        assert can(acls, me, READ, TOPIC, deliveries[mine])
        assert can(acls, my_consumer, READ, TOPIC, deliveries[mine])
        assert can(acls, my_consumer, READ, GROUP, names.consumer_group(settings, mine))
        assert not can(acls, me, READ, GROUP, names.consumer_group(settings, mine))
        assert can(acls, me, READ, GROUP, names.client_groups(settings, mine) + FOREIGN)
        assert not can(
            acls, my_consumer, READ, GROUP, names.client_groups(settings, mine) + FOREIGN
        )
        assert can(acls, me, WRITE, TOPIC, settings.topics.inbound)
        assert can(acls, my_consumer, WRITE, TOPIC, settings.topics.inbound)
        for theirs in endpoints:
            if theirs == mine:
                continue
            for user, op in itertools.product((me, my_consumer), (READ, DESCRIBE, WRITE)):
                assert not can(acls, user, op, TOPIC, deliveries[theirs]), (user, theirs, op)
                for group in (
                    names.consumer_group(settings, theirs),
                    names.client_groups(settings, theirs) + FOREIGN,
                ):
                    assert not can(acls, user, op, GROUP, group), (user, group, op)
            dead = names.client_dead_letters(settings, theirs) + FOREIGN
            assert not can(acls, me, WRITE, TOPIC, dead), (mine, dead)
            assert not can(acls, my_consumer, WRITE, TOPIC, dead), (mine, dead)
    for topic in deliveries.values():
        writers = {u for u in everyone if can(acls, u, WRITE, TOPIC, topic)}
        assert writers == {ROUTER}, topic
    dlq_writers = {u for u in everyone if can(acls, u, WRITE, TOPIC, settings.topics.dlq)}
    consumers = {reader_user(r.name) for r in access.readers if r.dead_letters}
    assert dlq_writers == {ROUTER, *map(consumer_user, endpoints), *consumers}
    inbound_writers = {u for u in everyone if can(acls, u, WRITE, TOPIC, settings.topics.inbound)}
    assert inbound_writers == {
        API,
        OPERATOR,
        *map(endpoint_user, endpoints),
        *map(consumer_user, endpoints),
    }
    for user in everyone - {ROUTER, OPERATOR}:
        assert not can(acls, user, WRITE, TXN, "lienthong-router-x"), user
        assert not can(acls, user, READ, TOPIC, settings.topics.dlq), user


def test_example_directory_isolates_every_endpoint(
    example: tuple[Directory, Access, frozenset[Acl]],
) -> None:
    check_isolation(*example)


def test_example_readers_cannot_write_deliveries_or_inbound(
    example: tuple[Directory, Access, frozenset[Acl]],
) -> None:
    directory, access, acls = example
    for reader in access.readers:
        user = reader_user(reader.name)
        for endpoint in directory.endpoints.values():
            assert not can(acls, user, WRITE, TOPIC, endpoint.delivery_topic())
        assert not can(acls, user, WRITE, TOPIC, "lienthong.inbound")


ENDPOINT_IDS = st.from_regex(r"\A[ab][ab.\-]{0,3}\Z")


@settings(max_examples=200, deadline=None)
@given(ids=st.sets(ENDPOINT_IDS, min_size=1, max_size=5), reader=st.booleans())
def test_any_directory_isolates_every_endpoint(ids: set[str], *, reader: bool) -> None:
    # Ids from a tiny alphabet collide as prefixes of each other all the time (a, a.b, a-):
    # the namespaces must still be each endpoint's alone.
    directory = directory_of(*sorted(ids))
    access = Access((Reader("x-archive", None, dead_letters=True),)) if reader else NO_ACCESS
    check_isolation(directory, access, plan_acls(directory, Settings(), access))


def test_plan_is_deterministic_and_takes_no_agency_into_account() -> None:
    one = plan_acls(directory_of("a", "b"), Settings(), NO_ACCESS)
    two = plan_acls(directory_of("b", "a"), Settings(), NO_ACCESS)
    assert one == two


def test_names_built_inline_by_the_services_are_the_planned_ones() -> None:
    # TopicReader and Subscriber build these names inline, with nothing to call: read them
    # from the source, so that renaming one there fails here rather than on a secured broker.
    reader = inspect.getsource(kafka_read.TopicReader)
    assert f'f"{names.OPERATOR_GROUP_PREFIX}{{uuid.uuid4()' in reader
    subscriber = inspect.getsource(Subscriber)
    assert f'f"{names.CLIENT_DEAD_LETTER_PREFIX}{{group_id}}"' in subscriber
