"""Least-privilege ACLs planned from the directory, the settings and the access file. Pure.

Who gets what (docs/security-acls.md is this, generated for the example directory):

- the router reads inbound in its group and writes every delivery topic and the DLQ, in
  transactions under its instances' ids (one prefix: each instance's id differs);
- the producer API writes inbound;
- the operator reads the DLQ and the replay log, and writes the log and inbound under the
  replay's transactional id: a replay re-sends into inbound only, so the router checks it
  again;
- each endpoint's persisting consumer reads its own delivery topic in its consumer group, and
  writes inbound (receipts) and the DLQ (what it cannot store); never a delivery topic;
- each endpoint's agency clients read the same topic in groups of the endpoint's own namespace,
  and write inbound (events, statuses) and their own dead-letter topics, never the DLQ: the
  operator replays the DLQ, so what is in it must come from the router or a consumer;
- each reader reads the delivery topics it is declared for, in groups of its own.

Kafka 4 implies IDEMPOTENT_WRITE from WRITE on any topic, and DESCRIBE (metadata, offsets,
what health probes and lag monitors ask) from READ and WRITE, so neither is granted apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from lienthong.security import names
from lienthong.security.access import Access, Reader, check_access
from lienthong.security.errors import PlanError
from lienthong.security.model import Acl, Operation, Pattern, Permission, ResourceType
from lienthong.security.principals import (
    API,
    OPERATOR,
    ROUTER,
    consumer_user,
    endpoint_user,
    is_owned,
    principal,
    reader_user,
)

if TYPE_CHECKING:
    from lienthong.directory.model import Directory, Endpoint
    from lienthong.plumbing.settings import Settings

READ, WRITE, CREATE, DESCRIBE = (
    Operation.READ,
    Operation.WRITE,
    Operation.CREATE,
    Operation.DESCRIBE,
)
TOPIC, GROUP, TXN = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID
LITERAL, PREFIXED = Pattern.LITERAL, Pattern.PREFIXED

_Resource = tuple[ResourceType, Pattern, str]


class _Plan:
    """ACLs being planned, and which principal owns each group, id and private topic."""

    def __init__(self) -> None:
        self.acls: set[Acl] = set()
        self.owners: dict[_Resource, str] = {}
        self.problems: list[str] = []

    def allow(
        self,
        user: str,
        resource_type: ResourceType,
        name: str,
        *operations: Operation,
        pattern: Pattern = LITERAL,
        owned: bool = False,
    ) -> None:
        """Allow a user operations on a resource; `owned`: no one else may have it."""
        who = principal(user)
        for operation in operations:
            self.acls.add(Acl(who, resource_type, pattern, name, operation))
        if not owned:
            return
        resource = (resource_type, pattern, name)
        other = self.owners.setdefault(resource, who)
        if other != who:
            self.problems.append(
                f"{resource_type} {name!r} would belong to both {other} and {who}:"
                " rename one (a reader may not share a name with an endpoint)"
            )

    def finish(self) -> frozenset[Acl]:
        """Return the ACLs, overlaps denied; raise PlanError if two own the same name."""
        if self.problems:
            raise PlanError(self.problems)
        return frozenset(self.acls | _deny_overlaps(self.owners))


def _deny_overlaps(owners: dict[_Resource, str]) -> set[Acl]:
    """Deny a prefix's owner whatever of another owner's falls under its prefix."""
    # Endpoints `a` and `a.b`: a's groups `lienthong-consumer-a.*` include b's consumer group
    # `lienthong-consumer-a.b` and b's own namespace. DENY wins in Kafka's authorizer, so a
    # is denied those names, and keeps the rest of its namespace.
    denied = set()
    prefixes = [(r, who) for r, who in owners.items() if r[1] is PREFIXED]
    for (resource_type, _, prefix), who in prefixes:
        for (other_type, pattern, name), other in owners.items():
            if other != who and other_type == resource_type and name.startswith(prefix):
                denied.add(Acl(who, resource_type, pattern, name, Operation.ALL, Permission.DENY))
    return denied


def plan_acls(directory: Directory, settings: Settings, access: Access) -> frozenset[Acl]:
    """Return every ACL the deployment needs; raise PlanError if it cannot be planned."""
    problems = check_access(access, directory)
    if problems:
        raise PlanError(problems)
    plan = _Plan()
    _router(plan, directory, settings)
    plan.allow(API, TOPIC, settings.topics.inbound, WRITE)
    _operator(plan, settings)
    for endpoint_id in sorted(directory.endpoints):
        _consumer(plan, directory.endpoint(endpoint_id), settings)
        _endpoint(plan, directory.endpoint(endpoint_id), settings)
    for reader in access.readers:
        _reader(plan, reader, directory, settings)
    return plan.finish()


def _router(plan: _Plan, directory: Directory, settings: Settings) -> None:
    topics = settings.topics
    plan.allow(ROUTER, TOPIC, topics.inbound, READ)
    plan.allow(ROUTER, GROUP, settings.router.group_id, READ, owned=True)
    # The whole delivery prefix, not one topic per endpoint: a directory reload adds an
    # endpoint to the running router, which must not find its transaction refused while
    # the ACLs catch up. Only the router writes there; an override elsewhere is added alone.
    prefix = topics.delivery_prefix
    if prefix:
        plan.allow(ROUTER, TOPIC, prefix, WRITE, pattern=PREFIXED)
    for endpoint in directory.endpoints.values():
        topic = endpoint.delivery_topic(prefix)
        if not prefix or not topic.startswith(prefix):
            plan.allow(ROUTER, TOPIC, topic, WRITE)
    plan.allow(ROUTER, TOPIC, topics.dlq, WRITE)
    ids = names.router_transactional_ids(settings)
    plan.allow(ROUTER, TXN, ids, WRITE, DESCRIBE, pattern=PREFIXED, owned=True)


def _operator(plan: _Plan, settings: Settings) -> None:
    topics = settings.topics
    log = names.replay_log(settings)
    plan.allow(OPERATOR, TOPIC, topics.dlq, READ)
    # `dlq replay` creates its log (compacted, one partition) when it is missing.
    plan.allow(OPERATOR, TOPIC, log, READ, WRITE, CREATE, owned=True)
    plan.allow(OPERATOR, TOPIC, topics.inbound, WRITE)
    plan.allow(OPERATOR, TXN, names.replay_transaction(settings), WRITE, DESCRIBE, owned=True)
    # Its readers join no group and commit nothing: DESCRIBE (to find the coordinator).
    plan.allow(OPERATOR, GROUP, names.OPERATOR_GROUP_PREFIX, DESCRIBE, pattern=PREFIXED, owned=True)


def _consumer(plan: _Plan, endpoint: Endpoint, settings: Settings) -> None:
    topics = settings.topics
    user = consumer_user(endpoint.id)
    plan.allow(user, TOPIC, endpoint.delivery_topic(topics.delivery_prefix), READ)
    plan.allow(user, GROUP, names.consumer_group(settings, endpoint.id), READ, owned=True)
    plan.allow(user, TOPIC, topics.inbound, WRITE)
    plan.allow(user, TOPIC, topics.dlq, WRITE)


def _endpoint(plan: _Plan, endpoint: Endpoint, settings: Settings) -> None:
    topics = settings.topics
    user = endpoint_user(endpoint.id)
    plan.allow(user, TOPIC, endpoint.delivery_topic(topics.delivery_prefix), READ)
    groups = names.client_groups(settings, endpoint.id)
    plan.allow(user, GROUP, groups, READ, pattern=PREFIXED, owned=True)
    plan.allow(user, TOPIC, topics.inbound, WRITE)
    dead_letters = names.client_dead_letters(settings, endpoint.id)
    plan.allow(user, TOPIC, dead_letters, WRITE, pattern=PREFIXED, owned=True)


def _reader(plan: _Plan, reader: Reader, directory: Directory, settings: Settings) -> None:
    user = reader_user(reader.name)
    prefix = settings.topics.delivery_prefix
    for endpoint_id in reader.reads(directory):
        plan.allow(user, TOPIC, directory.endpoint(endpoint_id).delivery_topic(prefix), READ)
    _groups(plan, user, reader.name, settings)
    if reader.dead_letters:
        plan.allow(user, TOPIC, settings.topics.dlq, WRITE)


def _groups(plan: _Plan, user: str, name: str, settings: Settings) -> None:
    plan.allow(user, GROUP, names.consumer_group(settings, name), READ, owned=True)
    plan.allow(user, GROUP, names.client_groups(settings, name), READ, pattern=PREFIXED, owned=True)


def diff(wanted: Iterable[Acl], existing: Iterable[Acl]) -> tuple[frozenset[Acl], frozenset[Acl]]:
    """Return (to create, to delete): the missing ACLs, and the stale ones we own."""
    want, have = frozenset(wanted), frozenset(existing)
    return want - have, frozenset(a for a in have - want if is_owned(a.principal))
