from __future__ import annotations

from lienthong.security.acls import diff
from lienthong.security.model import Acl, Operation, Pattern, Permission, ResourceType

TOPIC = ResourceType.TOPIC


def acl(who: str, name: str = "lienthong.inbound", op: Operation = Operation.WRITE) -> Acl:
    return Acl(who, TOPIC, Pattern.LITERAL, name, op)


def test_missing_acls_are_created() -> None:
    wanted = {acl("User:lt-api"), acl("User:lt-router", op=Operation.READ)}
    create, delete = diff(wanted, {acl("User:lt-api")})
    assert create == {acl("User:lt-router", op=Operation.READ)}
    assert delete == frozenset()


def test_a_second_diff_after_applying_is_empty() -> None:
    wanted = {acl("User:lt-api"), acl("User:lt-endpoint-x", "lienthong.dlq")}
    create, delete = diff(wanted, set())
    assert diff(wanted, create) == (frozenset(), frozenset())
    assert delete == frozenset()


def test_stale_acls_of_our_principals_are_deleted() -> None:
    stale = {
        acl("User:lt-endpoint-gone", "lienthong.deliver.gone", Operation.READ),
        acl("User:lt-api", "lienthong.dlq"),  # a principal we still plan, an ACL we do not
        Acl(
            "User:lt-api",
            TOPIC,
            Pattern.LITERAL,
            "lienthong.inbound",
            Operation.WRITE,
            Permission.DENY,
        ),
    }
    create, delete = diff({acl("User:lt-api")}, {acl("User:lt-api"), *stale})
    assert create == frozenset()
    assert delete == stale


def test_what_is_not_ours_is_left_alone() -> None:
    foreign = {
        acl("User:lt-admin"),  # super users are never given ACLs, nor lose any
        acl("User:lt-broker"),
        acl("User:analytics", "lienthong.deliver.vpcp", Operation.READ),
        acl("User:lienthong-old"),  # not `lt-`
        acl("Group:lt-ops"),  # not a user principal
        acl("User:LT-api"),  # prefixes are case-sensitive, as Kafka's names are
        acl("User:*"),
    }
    create, delete = diff(set(), foreign)
    assert create == frozenset()
    assert delete == frozenset()


def test_a_changed_acl_is_one_create_and_one_delete() -> None:
    old = acl("User:lt-router", "lienthong.deliver.", Operation.WRITE)
    new = Acl("User:lt-router", TOPIC, Pattern.PREFIXED, "lienthong.deliver.", Operation.WRITE)
    assert diff({new}, {old}) == (frozenset({new}), frozenset({old}))
