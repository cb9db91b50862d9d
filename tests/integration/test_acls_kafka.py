"""`acls apply` and SCRAM users on the real secured broker, as the super user lt-admin.

Needs the session fixture `kafka_admin` (tests/conftest.py): the KafkaSettings of lt-admin
on the SASL_SSL broker. `kafka_bootstrap` is requested too so the test is marked `kafka`.
The plan uses names of its own (topics, groups, endpoints), but the service principals
(lt-router, lt-api, lt-operator) are shared with the rest of the session, and apply deletes
every stale lt-* ACL: each test puts the broker's ACLs back as it found them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka.admin import AdminClient

from lienthong.directory.model import Directory, Endpoint
from lienthong.plumbing.kafka_confluent import make_admin
from lienthong.plumbing.settings import (
    ConsumerSettings,
    KafkaSettings,
    RouterSettings,
    Settings,
    TopicSettings,
)
from lienthong.security.access import Access, Reader
from lienthong.security.acls import plan_acls
from lienthong.security.kafka_acls import apply_acls, create_acls, delete_acls, read_acls
from lienthong.security.model import Acl, Operation, Pattern, ResourceType
from lienthong.security.principals import is_owned
from lienthong.security.users import delete_users, existing_users, upsert_users
from tests.support.kafka import unique_name

TIMEOUT_S = 15.0


def eventually(check: Callable[[], bool], what: str, deadline_s: float = 15.0) -> None:
    """Poll until `check()` holds: ACLs reach a broker's metadata a moment after the reply."""
    end = time.monotonic() + deadline_s
    while not check():
        if time.monotonic() > end:
            pytest.fail(f"not within {deadline_s:.0f} s: {what}")
        time.sleep(0.1)


@pytest.fixture
def admin(kafka_admin: KafkaSettings, kafka_bootstrap: str) -> Iterator[AdminClient]:
    """An admin client as lt-admin; the broker's ACLs are restored when the test ends."""
    client = make_admin(kafka_admin)
    before, _ = read_acls(client, timeout_s=TIMEOUT_S)
    yield client
    now, _ = read_acls(client, timeout_s=TIMEOUT_S)
    create_acls(client, before - now, timeout_s=TIMEOUT_S)
    delete_acls(client, now - before, timeout_s=TIMEOUT_S)


def own_plan() -> tuple[Settings, frozenset[Acl]]:
    name = unique_name("acls")
    settings = Settings(
        topics=TopicSettings(
            inbound=f"{name}.inbound", dlq=f"{name}.dlq", delivery_prefix=f"{name}.deliver."
        ),
        router=RouterSettings(group_id=f"{name}-router"),
        consumer=ConsumerSettings(group_prefix=f"{name}-consumer"),
    )
    directory = Directory.build(
        agencies=(),
        endpoints=[Endpoint(f"{name}-a", "A"), Endpoint(f"{name}-b", "B", f"{name}.ministry")],
    )
    access = Access((Reader(f"{name}-archive", None, dead_letters=True),))
    return settings, plan_acls(directory, settings, access)


def test_apply_twice_then_nothing_to_do(admin: AdminClient) -> None:
    _, plan = own_plan()
    first = apply_acls(admin, plan, timeout_s=TIMEOUT_S)
    assert first.created  # its names are new: every ACL of theirs is
    eventually(lambda: plan <= read_acls(admin, timeout_s=TIMEOUT_S)[0], "every ACL visible")
    second = apply_acls(admin, plan, timeout_s=TIMEOUT_S)
    assert second.nothing_to_do, (second.created, second.deleted)
    assert second.in_place == len(plan)


def test_a_stale_lt_acl_is_removed_and_a_foreign_one_left(admin: AdminClient) -> None:
    _, plan = own_plan()
    topic = unique_name("acls-stale")
    stale = Acl("User:lt-endpoint-gone", ResourceType.TOPIC, Pattern.LITERAL, topic, Operation.READ)
    foreign = Acl(
        f"User:{unique_name('it')}", ResourceType.TOPIC, Pattern.LITERAL, topic, Operation.READ
    )
    create_acls(admin, {stale, foreign}, timeout_s=TIMEOUT_S)
    eventually(lambda: {stale, foreign} <= read_acls(admin, timeout_s=TIMEOUT_S)[0], "the two ACLs")
    changes = apply_acls(admin, plan, timeout_s=TIMEOUT_S)
    assert stale in changes.deleted
    assert all(is_owned(a.principal) for a in changes.deleted)

    def settled() -> bool:
        acls = read_acls(admin, timeout_s=TIMEOUT_S)[0]
        return stale not in acls and foreign in acls

    eventually(settled, "the stale ACL gone, the foreign one kept")


def test_scram_user_round_trip(admin: AdminClient) -> None:
    user = unique_name("lt-it")
    assert upsert_users(admin, {user: "a-password-for-the-test"}, timeout_s=TIMEOUT_S) == {}
    eventually(
        lambda: existing_users(admin, timeout_s=TIMEOUT_S).get(user) == ("SCRAM-SHA-512/8192",),
        f"{user} listed",
    )
    assert delete_users(admin, {user: ("SCRAM-SHA-512/8192",)}, timeout_s=TIMEOUT_S) == {}
    eventually(lambda: user not in existing_users(admin, timeout_s=TIMEOUT_S), f"{user} gone")
