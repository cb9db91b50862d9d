"""Read, create and delete ACLs on the cluster; apply a plan idempotently. The only I/O here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
)
from confluent_kafka.admin import ResourceType as KafkaResourceType

from lienthong.security.acls import diff
from lienthong.security.errors import BrokerError
from lienthong.security.futures import wait
from lienthong.security.model import Acl, Operation, Pattern, Permission, ResourceType

_RESOURCE_TYPES = {
    ResourceType.TOPIC: KafkaResourceType.TOPIC,
    ResourceType.GROUP: KafkaResourceType.GROUP,
    ResourceType.TRANSACTIONAL_ID: KafkaResourceType.TRANSACTIONAL_ID,
    ResourceType.CLUSTER: KafkaResourceType.BROKER,  # librdkafka's name for the cluster
}
_PATTERNS = {
    Pattern.LITERAL: ResourcePatternType.LITERAL,
    Pattern.PREFIXED: ResourcePatternType.PREFIXED,
}
_PERMISSIONS = {Permission.ALLOW: AclPermissionType.ALLOW, Permission.DENY: AclPermissionType.DENY}
# None matches any name, principal and host (librdkafka's filter); the stubs say str only.
_EVERY_ACL = AclBindingFilter(
    KafkaResourceType.ANY,
    None,  # type: ignore[arg-type]
    ResourcePatternType.ANY,
    None,  # type: ignore[arg-type]
    None,  # type: ignore[arg-type]
    AclOperation.ANY,
    AclPermissionType.ANY,
)


class AclAdmin(Protocol):
    """The part of confluent-kafka's AdminClient this module uses (a port, for fakes)."""

    def describe_acls(self, acl_binding_filter: AclBindingFilter, **kwargs: Any) -> Future[Any]:
        """Return a future of every binding the filter matches."""

    def create_acls(self, acls: list[AclBinding], **kwargs: Any) -> dict[AclBinding, Future[Any]]:
        """Return a future per binding created."""

    def delete_acls(
        self, acl_binding_filters: list[AclBindingFilter], **kwargs: Any
    ) -> dict[AclBindingFilter, Future[Any]]:
        """Return a future per filter of the bindings it deleted."""


@dataclass(frozen=True, slots=True)
class AclChanges:
    """What applying a plan did (or, dry, would do)."""

    created: frozenset[Acl]
    deleted: frozenset[Acl]
    in_place: int  # planned ACLs that already existed
    unreadable: int = 0  # bindings on the broker this model cannot express, left alone

    @property
    def nothing_to_do(self) -> bool:
        """Tell whether the cluster already matched the plan."""
        return not self.created and not self.deleted


def binding(acl: Acl) -> AclBinding:
    """Return the confluent-kafka binding of an ACL."""
    return AclBinding(
        _RESOURCE_TYPES[acl.resource_type],
        acl.name,
        _PATTERNS[acl.pattern],
        acl.principal,
        acl.host,
        AclOperation[acl.operation.value],
        _PERMISSIONS[acl.permission],
    )


def exact_filter(acl: Acl) -> AclBindingFilter:
    """Return a filter that matches this one ACL and nothing else."""
    return AclBindingFilter(
        _RESOURCE_TYPES[acl.resource_type],
        acl.name,
        _PATTERNS[acl.pattern],
        acl.principal,
        acl.host,
        AclOperation[acl.operation.value],
        _PERMISSIONS[acl.permission],
    )


def acl_of(bound: AclBinding) -> Acl | None:
    """Return the ACL of a binding read from the broker; None if our model cannot express it."""
    resource = next((ours for ours, k in _RESOURCE_TYPES.items() if k == bound.restype), None)
    pattern = next(
        (ours for ours, k in _PATTERNS.items() if k == bound.resource_pattern_type), None
    )
    permission = next(
        (ours for ours, k in _PERMISSIONS.items() if k == bound.permission_type), None
    )
    named = bound.operation  # an enum once constructed; the stubs allow what it accepts
    operation = Operation.__members__.get(named.name if isinstance(named, AclOperation) else "")
    if resource is None or pattern is None or permission is None or operation is None:
        return None
    return Acl(bound.principal, resource, pattern, bound.name, operation, permission, bound.host)


def read_acls(admin: AclAdmin, *, timeout_s: float) -> tuple[frozenset[Acl], int]:
    """Return every ACL on the cluster, and how many bindings could not be expressed."""
    future = admin.describe_acls(_EVERY_ACL, request_timeout=timeout_s)
    bindings = wait(future, timeout_s, "read the cluster's ACLs")
    acls = [acl_of(b) for b in bindings]
    return frozenset(a for a in acls if a is not None), sum(a is None for a in acls)


def create_acls(admin: AclAdmin, acls: Iterable[Acl], *, timeout_s: float) -> None:
    """Create ACLs; raise BrokerError with one line per ACL the broker refused."""
    wanted = {binding(a): a for a in sorted(acls)}
    if not wanted:
        return
    futures = admin.create_acls(list(wanted), request_timeout=timeout_s)
    _wait_each(futures, lambda bound: f"create {wanted[bound]}", timeout_s)


def delete_acls(admin: AclAdmin, acls: Iterable[Acl], *, timeout_s: float) -> None:
    """Delete exactly these ACLs; raise BrokerError with one line per ACL not deleted."""
    filters = {exact_filter(a): a for a in sorted(acls)}
    if not filters:
        return
    futures = admin.delete_acls(list(filters), request_timeout=timeout_s)
    _wait_each(futures, lambda matched: f"delete {filters[matched]}", timeout_s)


def _wait_each(
    futures: Mapping[Any, Future[Any]], what: Callable[[Any], str], timeout_s: float
) -> None:
    """Wait for every future; raise one BrokerError with a line for each that failed."""
    failures = []
    for key, future in futures.items():
        try:
            wait(future, timeout_s, what(key))
        except BrokerError as exc:
            failures.extend(exc.lines)
    if failures:
        raise BrokerError(failures)


def apply_acls(
    admin: AclAdmin, wanted: Iterable[Acl], *, dry_run: bool = False, timeout_s: float = 15.0
) -> AclChanges:
    """Create the missing ACLs, then delete our stale ones; a second run changes nothing."""
    planned = frozenset(wanted)
    existing, unreadable = read_acls(admin, timeout_s=timeout_s)
    to_create, to_delete = diff(planned, existing)
    if not dry_run:
        # Create before deleting: an ACL that changes shape (literal to prefixed, say) is
        # never missing in between, so a running service does not see a refusal.
        create_acls(admin, to_create, timeout_s=timeout_s)
        delete_acls(admin, to_delete, timeout_s=timeout_s)
    return AclChanges(to_create, to_delete, len(planned) - len(to_create), unreadable)
