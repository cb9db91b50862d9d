"""lienthong.security.provision: a deployment's ACLs and users in one step, then its principals."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from lienthong.directory.model import Directory, Endpoint
from lienthong.plumbing.settings import KafkaSettings, Settings
from lienthong.security.access import NO_ACCESS
from lienthong.security.acls import plan_acls
from lienthong.security.errors import BrokerError
from lienthong.security.kafka_acls import read_acls
from lienthong.security.principals import planned_users
from lienthong.security.provision import as_principal, provision
from tests.support.security_fakes import FakeAdmin

DIRECTORY = Directory.build(agencies=(), endpoints=[Endpoint("vpcp", "VPCP")])


def test_provision_applies_the_plan_and_writes_a_private_password_per_user(tmp_path: Path) -> None:
    admin = FakeAdmin()
    secrets = tmp_path / "secrets"

    made = provision(admin, DIRECTORY, Settings(), secrets)

    plan = plan_acls(DIRECTORY, Settings(), NO_ACCESS)
    assert read_acls(admin, timeout_s=1)[0] == plan
    assert made.acls.created == plan
    users = planned_users(DIRECTORY, NO_ACCESS)
    assert set(admin.users) == set(users)
    assert made.users.plan.create == users
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    assert sorted(p.name for p in secrets.iterdir()) == sorted(f"{u}.password" for u in users)

    again = provision(admin, DIRECTORY, Settings(), secrets)  # a second run changes nothing
    assert again.acls.nothing_to_do
    assert again.users.plan.nothing_to_do


def test_provision_fails_when_the_broker_is_away(tmp_path: Path) -> None:
    with pytest.raises(BrokerError):
        provision(FakeAdmin(down=True), DIRECTORY, Settings(), tmp_path / "secrets")


def test_as_principal_swaps_the_administrators_credentials_for_the_users_file() -> None:
    admin = KafkaSettings(sasl_username="lt-admin", sasl_password=SecretStr("secret"))

    router = as_principal(admin, "lt-router", Path("/run/secrets"))

    assert router.sasl_username == "lt-router"
    assert router.sasl_password is None
    assert router.sasl_password_file == Path("/run/secrets/lt-router.password")
    assert (router.bootstrap, router.ssl_ca_location) == (admin.bootstrap, admin.ssl_ca_location)


@pytest.mark.parametrize("user", ["lt-admin", "lt-broker"])
def test_no_one_is_given_a_super_users_settings(user: str) -> None:
    with pytest.raises(ValueError, match="super user"):
        as_principal(KafkaSettings(), user, Path("/run/secrets"))
