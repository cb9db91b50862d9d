from __future__ import annotations

import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from lienthong.directory.model import Directory, Endpoint
from lienthong.plumbing.settings import Settings
from lienthong.security.access import NO_ACCESS
from lienthong.security.acls import plan_acls
from lienthong.security.errors import BrokerError
from lienthong.security.kafka_acls import acl_of, apply_acls, binding, read_acls
from lienthong.security.model import Acl, Operation, Pattern, Permission
from lienthong.security.model import ResourceType as Ours
from tests.support.security_fakes import FakeAdmin

DIRECTORY = Directory.build(agencies=(), endpoints=[Endpoint("vpcp", "VPCP")])
PLAN = plan_acls(DIRECTORY, Settings(), NO_ACCESS)


def kafka(principal: str, name: str, op: AclOperation = AclOperation.READ) -> AclBinding:
    return AclBinding(
        ResourceType.TOPIC,
        name,
        ResourcePatternType.LITERAL,
        principal,
        "*",
        op,
        AclPermissionType.ALLOW,
    )


@pytest.mark.parametrize("acl", sorted(PLAN))
def test_every_planned_acl_round_trips_through_a_binding(acl: Acl) -> None:
    assert acl_of(binding(acl)) == acl


def test_deny_cluster_and_prefixed_round_trip() -> None:
    for acl in (
        Acl(
            "User:lt-x", Ours.CLUSTER, Pattern.LITERAL, "kafka-cluster", Operation.IDEMPOTENT_WRITE
        ),
        Acl("User:lt-x", Ours.GROUP, Pattern.PREFIXED, "g.", Operation.ALL, Permission.DENY),
    ):
        assert acl_of(binding(acl)) == acl


def test_apply_creates_everything_then_has_nothing_to_do() -> None:
    admin = FakeAdmin()
    first = apply_acls(admin, PLAN, timeout_s=1)
    assert first.created == PLAN
    assert first.deleted == frozenset()
    assert first.in_place == 0
    second = apply_acls(admin, PLAN, timeout_s=1)
    assert second.nothing_to_do
    assert second.in_place == len(PLAN)
    assert admin.calls.count("create_acls") == 1
    assert "delete_acls" not in admin.calls


def test_apply_deletes_our_stale_acls_and_leaves_the_rest() -> None:
    stale = kafka("User:lt-endpoint-gone", "lienthong.deliver.gone")
    foreign = kafka("User:analytics", "lienthong.deliver.vpcp")
    admin_acl = kafka("User:lt-admin", "lienthong.dlq")
    admin = FakeAdmin({*map(binding, PLAN), stale, foreign, admin_acl})
    changes = apply_acls(admin, PLAN, timeout_s=1)
    assert changes.created == frozenset()
    assert changes.deleted == {acl_of(stale)}
    assert admin.deleted == [stale]
    assert foreign in admin.bindings
    assert admin_acl in admin.bindings


def test_creates_come_before_deletes() -> None:
    admin = FakeAdmin({kafka("User:lt-endpoint-gone", "t")})
    apply_acls(admin, PLAN, timeout_s=1)
    assert admin.calls == ["describe_acls", "create_acls", "delete_acls"]


def test_dry_run_reads_only() -> None:
    admin = FakeAdmin({kafka("User:lt-endpoint-gone", "t")})
    changes = apply_acls(admin, PLAN, dry_run=True, timeout_s=1)
    assert changes.created == PLAN
    assert len(changes.deleted) == 1
    assert admin.calls == ["describe_acls"]


def test_each_refused_acl_is_one_line_naming_principal_resource_and_operation() -> None:
    admin = FakeAdmin(refuse={"User:lt-api"})
    with pytest.raises(BrokerError) as caught:
        apply_acls(admin, PLAN, timeout_s=1)
    assert caught.value.lines == [
        (
            "cannot create ALLOW User:lt-api WRITE on TOPIC lienthong.inbound:"
            " Broker: Cluster authorization failed (CLUSTER_AUTHORIZATION_FAILED)"
        )
    ]


def test_an_unreachable_broker_is_one_line() -> None:
    with pytest.raises(BrokerError) as caught:
        read_acls(FakeAdmin(down=True), timeout_s=1)
    assert str(caught.value) == (
        "cannot read the cluster's ACLs: Local: Broker transport failure (_TRANSPORT)"
    )


def test_bindings_the_model_cannot_express_are_counted_and_left_alone() -> None:
    odd = AclBinding(
        ResourceType.TOPIC,
        "t",
        ResourcePatternType.LITERAL,
        "User:lt-x",
        "*",
        AclOperation.UNKNOWN,
        AclPermissionType.ALLOW,
    )
    admin = FakeAdmin({odd})
    changes = apply_acls(admin, PLAN, timeout_s=1)
    assert changes.unreadable == 1
    assert odd in admin.bindings
