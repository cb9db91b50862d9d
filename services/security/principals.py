"""The principals of a deployment: one per service role, endpoint and reader, all `lt-`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lienthong.directory.model import Directory
    from lienthong.security.access import Access

# Everything we own starts with OWNED_PREFIX: that is how a stale ACL or user is recognised
# as ours to delete, and anything else (another team's principals) is left alone.
OWNED_PREFIX = "lt-"
ROUTER = "lt-router"  # the router: reads inbound, writes deliveries and the DLQ
API = "lt-api"  # the producer HTTP API: writes inbound
OPERATOR = "lt-operator"  # dlq list/show/replay
CONSUMER_PREFIX = "lt-consumer-"  # + endpoint id: its persisting consumer and outbox
ENDPOINT_PREFIX = "lt-endpoint-"  # + endpoint id: its agency clients (the Python client)
READER_PREFIX = "lt-reader-"  # + reader name: read-only readers of delivery topics
# The broker's and the administrator's own principals: super users in the broker config,
# never given ACLs, never deleted.
SUPER_USERS = frozenset({"lt-admin", "lt-broker"})
SERVICE_USERS = (ROUTER, API, OPERATOR)


def endpoint_user(endpoint_id: str) -> str:
    """Return the SCRAM user name of an endpoint's agency clients."""
    return ENDPOINT_PREFIX + endpoint_id


def consumer_user(endpoint_id: str) -> str:
    """Return the SCRAM user name of an endpoint's persisting consumer (`consumer run`)."""
    return CONSUMER_PREFIX + endpoint_id


def reader_user(name: str) -> str:
    """Return the SCRAM user name of a reader."""
    return READER_PREFIX + name


def principal(user: str) -> str:
    """Return the Kafka principal of a SCRAM user: `User:<name>`."""
    return f"User:{user}"


def user_of(kafka_principal: str) -> str | None:
    """Return the user name of a `User:` principal, None for any other kind."""
    kind, _, name = kafka_principal.partition(":")
    return name if kind == "User" and name else None


def is_owned_user(user: str) -> bool:
    """Tell whether a user name is one of ours to manage (and so to delete when stale)."""
    return user.startswith(OWNED_PREFIX) and user not in SUPER_USERS


def is_owned(kafka_principal: str) -> bool:
    """Tell whether ACLs of this principal are ours to manage."""
    user = user_of(kafka_principal)
    return user is not None and is_owned_user(user)


def planned_users(directory: Directory, access: Access) -> tuple[str, ...]:
    """Return every user the deployment needs: services, then each endpoint's two, readers."""
    return (
        *SERVICE_USERS,
        *(u for e in sorted(directory.endpoints) for u in (consumer_user(e), endpoint_user(e))),
        *(reader_user(r.name) for r in sorted(access.readers, key=lambda r: r.name)),
    )
