"""An ACL as Kafka's authorizer sees it, in our own types, and how the authorizer reads ACLs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class ResourceType(StrEnum):
    """What an ACL is about (Kafka's names)."""

    TOPIC = "TOPIC"
    GROUP = "GROUP"
    TRANSACTIONAL_ID = "TRANSACTIONAL_ID"
    CLUSTER = "CLUSTER"


class Pattern(StrEnum):
    """How an ACL's resource name matches: the exact name, or every name it begins."""

    LITERAL = "LITERAL"
    PREFIXED = "PREFIXED"


class Operation(StrEnum):
    """What an ACL allows or denies (Kafka's names)."""

    ALL = "ALL"
    READ = "READ"
    WRITE = "WRITE"
    CREATE = "CREATE"
    DELETE = "DELETE"
    ALTER = "ALTER"
    DESCRIBE = "DESCRIBE"
    CLUSTER_ACTION = "CLUSTER_ACTION"
    DESCRIBE_CONFIGS = "DESCRIBE_CONFIGS"
    ALTER_CONFIGS = "ALTER_CONFIGS"
    IDEMPOTENT_WRITE = "IDEMPOTENT_WRITE"


class Permission(StrEnum):
    """Whether an ACL allows or denies; a matching DENY wins over every ALLOW."""

    ALLOW = "ALLOW"
    DENY = "DENY"


@dataclass(frozen=True, slots=True, order=True)
class Acl:
    """One ACL binding: principal, resource pattern, operation, permission, host."""

    principal: str  # `User:lt-router`
    resource_type: ResourceType
    pattern: Pattern
    name: str  # the resource name, or the prefix of a PREFIXED pattern
    operation: Operation
    permission: Permission = Permission.ALLOW
    host: str = "*"

    def covers(self, resource_type: ResourceType, name: str) -> bool:
        """Tell whether this ACL's resource pattern matches a resource."""
        if resource_type != self.resource_type:
            return False
        if self.pattern is Pattern.PREFIXED:
            return name.startswith(self.name)
        return self.name in (name, "*")

    def __str__(self) -> str:
        pattern = " (prefix)" if self.pattern is Pattern.PREFIXED else ""
        return (
            f"{self.permission} {self.principal} {self.operation}"
            f" on {self.resource_type} {self.name}{pattern}"
        )


# What Kafka's authorizer grants along with an operation (AclEntry.supportedOperations and
# the implied-operations rule of kafka.security.authorizer): READ, WRITE, DELETE and ALTER
# each imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL implies everything.
_IMPLIED = {
    Operation.DESCRIBE: {Operation.READ, Operation.WRITE, Operation.DELETE, Operation.ALTER},
    Operation.DESCRIBE_CONFIGS: {Operation.ALTER_CONFIGS},
}


def allows(
    acls: Iterable[Acl],
    kafka_principal: str,
    operation: Operation,
    resource_type: ResourceType,
    name: str,
) -> bool:
    """Tell whether the authorizer would let a principal do an operation on a resource."""
    # A model of StandardAuthorizer for tests and checks: hosts are not modelled (ours are
    # all `*`), and so is Kafka 4's rule that WRITE on any topic implies IDEMPOTENT_WRITE.
    matching = [a for a in acls if a.principal == kafka_principal and a.covers(resource_type, name)]
    granting = {operation, Operation.ALL, *_IMPLIED.get(operation, ())}
    denied = any(
        a.permission is Permission.DENY and a.operation in {operation, Operation.ALL}
        for a in matching
    )
    return not denied and any(
        a.permission is Permission.ALLOW and a.operation in granting for a in matching
    )
