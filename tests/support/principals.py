"""Give a test's services principals of their own: `lienthong acls apply` and `users apply`.

The broker's super users (lt-admin, lt-broker) set things up; every service then runs as the
principal docs/security.md names for it, with only the ACLs the directory plans.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from lienthong.security.principals import SUPER_USERS


def provision(admin_env: Mapping[str, str], secrets: Path) -> None:
    """Apply the planned ACLs and create the planned users, their passwords in `secrets`.

    `admin_env` is the administrator's environment with the deployment's settings (topics,
    groups, directory): the plan is derived from them, as in production. The users are the
    session broker's, shared by every deployment: `--rotate` gives them new passwords here.
    """
    for args in (
        ["acls", "apply", "--no-readers"],
        ["users", "apply", "--no-readers", "--rotate", "--secrets-dir", str(secrets)],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "lienthong", *args],
            env=dict(admin_env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, (args, result.stdout, result.stderr)


def as_user(env: Mapping[str, str], user: str, secrets: Path) -> dict[str, str]:
    """Return `env` with the Kafka credentials of `user` instead of the administrator's."""
    assert user not in SUPER_USERS, f"{user} is a super user: no service runs as one"
    out = {k: v for k, v in env.items() if k != "LIENTHONG_KAFKA_SASL_PASSWORD"}
    out["LIENTHONG_KAFKA_SASL_USERNAME"] = user
    out["LIENTHONG_KAFKA_SASL_PASSWORD_FILE"] = str(secrets / f"{user}.password")
    return out
