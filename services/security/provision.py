"""Stand a new deployment's principals up in one step: its ACLs and its SCRAM users.

The same plan and the same apply as `lienthong acls apply` and `lienthong users apply
--secrets-dir DIR`, for what brings a whole axis up on a broker it has just made (`lienthong
demo`): every service then runs as its own principal, never as the administrator.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from lienthong.security.access import NO_ACCESS, Access
from lienthong.security.acls import plan_acls
from lienthong.security.errors import BrokerError
from lienthong.security.kafka_acls import AclAdmin, AclChanges, apply_acls, read_acls
from lienthong.security.passwords import Passwords
from lienthong.security.principals import SUPER_USERS, planned_users
from lienthong.security.users import ScramAdmin, UserChanges, apply_users, existing_users

if TYPE_CHECKING:
    from pathlib import Path

    from lienthong.directory.model import Directory
    from lienthong.plumbing.settings import KafkaSettings, Settings
    from lienthong.security.model import Acl


class Admin(AclAdmin, ScramAdmin, Protocol):
    """The ACL and SCRAM parts of confluent-kafka's AdminClient (a port, for fakes)."""


@dataclass(frozen=True, slots=True)
class Provisioned:
    """What provisioning did, and where the users' password files are."""

    acls: AclChanges
    users: UserChanges
    secrets: Path


def provision(
    admin: Admin,
    directory: Directory,
    settings: Settings,
    secrets: Path,
    *,
    access: Access = NO_ACCESS,
    timeout_s: float = 15.0,
) -> Provisioned:
    """Apply the planned ACLs, then create the planned users, new passwords in `secrets`.

    `admin` must be a super user's client; `secrets` is made private (0700) if it is new.
    Existing users keep their passwords; their files must already be in `secrets`.
    """
    secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    wanted = plan_acls(directory, settings, access)
    users = planned_users(directory, access)
    acl_changes = apply_acls(admin, wanted, timeout_s=timeout_s)
    user_changes = apply_users(admin, users, Passwords(secrets, {}), timeout_s=timeout_s)
    _until_visible(admin, wanted, users, timeout_s)
    return Provisioned(acl_changes, user_changes, secrets)


def _until_visible(
    admin: Admin, wanted: frozenset[Acl], users: tuple[str, ...], timeout_s: float
) -> None:
    """Wait until the broker's metadata shows every ACL and user, as its authorizer will.

    The admin calls return once the controller took the change; the broker applies it a
    moment later. A service started in between would be refused, and some fail for good.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        acls, _ = read_acls(admin, timeout_s=timeout_s)
        missing = len(wanted - acls) + len(
            set(users) - existing_users(admin, timeout_s=timeout_s).keys()
        )
        if not missing:
            return
        if time.monotonic() > deadline:
            raise BrokerError(
                [f"{missing} ACLs or users still not visible after {timeout_s:.0f} s"]
            )
        time.sleep(0.1)


def as_principal(kafka: KafkaSettings, user: str, secrets: Path) -> KafkaSettings:
    """Return `kafka` (an administrator's settings) as `user`, its password in its file."""
    if user in SUPER_USERS:
        raise ValueError(f"{user} is a super user: no service runs as one")
    return kafka.model_copy(
        update={
            "sasl_username": user,
            "sasl_password": None,
            "sasl_password_file": Passwords(secrets, {}).path(user),
        }
    )
