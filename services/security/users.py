"""SCRAM users on the cluster: who exists, who is planned, creating, rotating, deleting."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from confluent_kafka.admin import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from lienthong.security.errors import BrokerError, SecretsError
from lienthong.security.futures import wait
from lienthong.security.passwords import Passwords, env_name, new_password
from lienthong.security.principals import SUPER_USERS, is_owned_user

MECHANISM = "SCRAM-SHA-512"
ITERATIONS = 8192  # Kafka's maximum is 16384; 8192 is what its documentation shows
_MECHANISMS = {
    "SCRAM-SHA-256": ScramMechanism.SCRAM_SHA_256,
    MECHANISM: ScramMechanism.SCRAM_SHA_512,
}


class ScramAdmin(Protocol):
    """The part of confluent-kafka's AdminClient this module uses (a port, for fakes)."""

    def describe_user_scram_credentials(
        self, users: list[str] | None = None, **kwargs: Any
    ) -> Future[Any] | dict[str, Future[Any]]:
        """Return a future of every user's credentials (users=None)."""

    def alter_user_scram_credentials(
        self, alterations: list[UserScramCredentialAlteration], **kwargs: Any
    ) -> dict[str, Future[Any]]:
        """Return a future per user altered."""


@dataclass(frozen=True, slots=True)
class UserPlan:
    """What `users apply` does: users to create, rotate and delete, and those left as they are."""

    create: tuple[str, ...] = ()
    rotate: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    in_place: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()  # ours, not planned, not deleted unless asked

    @property
    def nothing_to_do(self) -> bool:
        """Tell whether the cluster already has every planned user and nothing is asked."""
        return not (self.create or self.rotate or self.delete)


def plan_users(
    planned: Sequence[str],
    existing: Mapping[str, Collection[str]],
    *,
    rotate: Collection[str] = (),
    delete_stale: bool = False,
) -> UserPlan:
    """Decide, from the users planned and those on the cluster, what to change."""
    have = {user for user, mechanisms in existing.items() if MECHANISM in mechanisms}
    stale = tuple(sorted(u for u in existing if is_owned_user(u) and u not in planned))
    return UserPlan(
        create=tuple(u for u in planned if u not in have),
        rotate=tuple(u for u in planned if u in have and u in rotate),
        delete=stale if delete_stale else (),
        in_place=tuple(u for u in planned if u in have and u not in rotate),
        stale=() if delete_stale else stale,
    )


@dataclass(frozen=True, slots=True)
class UserChanges:
    """What applying a user plan did; where generated passwords were written."""

    plan: UserPlan
    written: Mapping[str, str] = field(default_factory=dict)  # user -> password file


def existing_users(admin: ScramAdmin, *, timeout_s: float) -> dict[str, tuple[str, ...]]:
    """Return every SCRAM user on the cluster with its `MECHANISM/iterations` credentials."""
    answer = admin.describe_user_scram_credentials(None, request_timeout=timeout_s)
    if isinstance(answer, dict):  # only for a list of users
        raise TypeError("describe_user_scram_credentials(None) must return one future")
    described = wait(answer, timeout_s, "list the SCRAM users")
    users: dict[str, tuple[str, ...]] = {}
    for user, description in described.items():
        infos = description.scram_credential_infos
        users[user] = tuple(sorted(f"{_name(i.mechanism)}/{i.iterations}" for i in infos))
    return users


def mechanisms(credentials: Collection[str]) -> set[str]:
    """Return the mechanisms of `existing_users` credentials (`SCRAM-SHA-512/8192`)."""
    return {c.partition("/")[0] for c in credentials}


def upsert_users(
    admin: ScramAdmin, passwords: Mapping[str, str], *, timeout_s: float
) -> dict[str, str]:
    """Set users' SCRAM-SHA-512 passwords; return user -> why, for each one refused."""
    if not passwords:
        return {}
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS)
    alterations: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(user, info, password.encode(), secrets.token_bytes(32))
        for user, password in sorted(passwords.items())
    ]
    return _alter(admin, alterations, timeout_s, "set the password of")


def delete_users(
    admin: ScramAdmin, users: Mapping[str, Collection[str]], *, timeout_s: float
) -> dict[str, str]:
    """Delete every SCRAM credential of these users; return user -> why, for each refusal."""
    if any(user in SUPER_USERS for user in users):
        raise ValueError("super users are never deleted")
    alterations: list[UserScramCredentialAlteration] = [
        UserScramCredentialDeletion(user, _MECHANISMS[mechanism])
        for user, credentials in sorted(users.items())
        for mechanism in sorted(mechanisms(credentials))
        if mechanism in _MECHANISMS
    ]
    return _alter(admin, alterations, timeout_s, "delete") if alterations else {}


def apply_users(
    admin: ScramAdmin,
    planned: Sequence[str],
    passwords: Passwords,
    *,
    rotate: Collection[str] = (),
    delete_stale: bool = False,
    dry_run: bool = False,
    timeout_s: float = 15.0,
) -> UserChanges:
    """Create missing users, rotate the ones asked, delete stale ones if asked."""
    existing = existing_users(admin, timeout_s=timeout_s)
    plan = plan_users(
        planned,
        {u: mechanisms(c) for u, c in existing.items()},
        rotate=rotate,
        delete_stale=delete_stale,
    )
    passwords.check_unambiguous(planned)
    if plan.rotate and passwords.directory is None:
        raise SecretsError("--rotate needs --secrets-dir: the new passwords are written there")
    known = {u: p for u in plan.create if (p := passwords.password(u)) is not None}
    generate = [u for u in plan.create if u not in known] + list(plan.rotate)
    if generate and passwords.directory is None:
        raise SecretsError(
            f"no password for {user}: set {env_name(user)}, or give --secrets-dir to read"
            f" {user}.password from, or to write a new one into"
            for user in generate
        )
    if dry_run:
        return UserChanges(plan, {u: str(passwords.path(u)) for u in generate})
    fresh = {user: new_password() for user in generate}
    for user, password in fresh.items():
        passwords.stage(user, password)
    refused = upsert_users(admin, {**known, **fresh}, timeout_s=timeout_s)
    # A refused user keeps its old password file; its staged `.new` one is overwritten next time.
    written = {u: str(passwords.commit(u)) for u in fresh if u not in refused}
    failures = list(refused.values())
    if plan.delete:
        stale = {u: existing[u] for u in plan.delete}
        failures += delete_users(admin, stale, timeout_s=timeout_s).values()
    if failures:
        raise BrokerError(failures)
    return UserChanges(plan, written)


def _alter(
    admin: ScramAdmin,
    alterations: list[UserScramCredentialAlteration],
    timeout_s: float,
    doing: str,
) -> dict[str, str]:
    futures = admin.alter_user_scram_credentials(alterations, request_timeout=timeout_s)
    failures = {}
    for user, future in sorted(futures.items()):
        try:
            wait(future, timeout_s, f"{doing} {user}")
        except BrokerError as exc:
            failures[user] = str(exc)
    return failures


def _name(mechanism: ScramMechanism) -> str:
    return mechanism.name.replace("_", "-")
