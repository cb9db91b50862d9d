from __future__ import annotations

import stat
from pathlib import Path

import pytest
from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism

from lienthong.security.errors import BrokerError, SecretsError
from lienthong.security.passwords import Passwords, env_name
from lienthong.security.users import (
    ITERATIONS,
    apply_users,
    existing_users,
    plan_users,
)
from tests.support.security_fakes import FakeAdmin

SHA512 = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS)
SHA256 = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096)
PLANNED = ("lt-router", "lt-api", "lt-endpoint-vpcp")


def secret_file(directory: Path, user: str, text: str, mode: int = 0o600) -> Path:
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / f"{user}.password"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_plan_creates_the_missing_and_keeps_the_rest() -> None:
    plan = plan_users(PLANNED, {"lt-router": {"SCRAM-SHA-512"}, "lt-admin": {"SCRAM-SHA-512"}})
    assert plan.create == ("lt-api", "lt-endpoint-vpcp")
    assert plan.in_place == ("lt-router",)
    assert plan.rotate == plan.delete == plan.stale == ()


def test_plan_rotates_only_what_exists_and_is_asked() -> None:
    plan = plan_users(PLANNED, {"lt-router": {"SCRAM-SHA-512"}}, rotate={"lt-router", "lt-api"})
    assert plan.rotate == ("lt-router",)
    assert plan.create == ("lt-api", "lt-endpoint-vpcp")


def test_a_user_with_only_sha256_gets_sha512() -> None:
    plan = plan_users(PLANNED, {"lt-api": {"SCRAM-SHA-256"}})
    assert "lt-api" in plan.create


def test_stale_users_are_ours_only_and_deleted_only_when_asked() -> None:
    existing = {
        "lt-endpoint-gone": {"SCRAM-SHA-512"},
        "lt-admin": {"SCRAM-SHA-512"},
        "lt-broker": {"SCRAM-SHA-512"},
        "analytics": {"SCRAM-SHA-512"},
    }
    kept = plan_users(PLANNED, existing)
    assert kept.stale == ("lt-endpoint-gone",)
    assert kept.delete == ()
    gone = plan_users(PLANNED, existing, delete_stale=True)
    assert gone.delete == ("lt-endpoint-gone",)
    assert gone.stale == ()


def test_existing_users_reports_mechanism_and_iterations() -> None:
    admin = FakeAdmin(users={"lt-api": [SHA512, SHA256]})
    assert existing_users(admin, timeout_s=1) == {
        "lt-api": ("SCRAM-SHA-256/4096", "SCRAM-SHA-512/8192")
    }


def test_apply_creates_users_from_files_and_the_environment(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secret_file(secrets, "lt-router", "router-pass\n")
    secret_file(secrets, "lt-api", "api-pass")
    passwords = Passwords(secrets, {env_name("lt-endpoint-vpcp"): "vpcp-pass"})
    admin = FakeAdmin()
    changes = apply_users(admin, PLANNED, passwords, timeout_s=1)
    assert changes.plan.create == PLANNED
    assert changes.written == {}
    assert {u.user: u.password for u in admin.upserts} == {
        "lt-router": b"router-pass",
        "lt-api": b"api-pass",
        "lt-endpoint-vpcp": b"vpcp-pass",
    }
    assert {u.scram_credential_info.mechanism for u in admin.upserts} == {
        ScramMechanism.SCRAM_SHA_512
    }
    assert all(u.scram_credential_info.iterations == 8192 for u in admin.upserts)
    assert len({u.salt for u in admin.upserts}) == 3  # a salt of its own for each
    again = apply_users(admin, PLANNED, passwords, timeout_s=1)
    assert again.plan.nothing_to_do
    assert len(admin.upserts) == 3


def test_a_missing_password_is_generated_into_a_private_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    admin = FakeAdmin()
    changes = apply_users(admin, ("lt-api",), Passwords(secrets, {}), timeout_s=1)
    path = secrets / "lt-api.password"
    assert changes.written == {"lt-api": str(path)}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    assert admin.upserts[0].password == path.read_text().strip().encode()
    assert len(path.read_text().strip()) >= 40
    assert not list(secrets.glob("*.new"))


def test_without_a_source_every_missing_password_is_named(tmp_path: Path) -> None:
    with pytest.raises(SecretsError) as caught:
        apply_users(FakeAdmin(), PLANNED[:2], Passwords(None, {}), timeout_s=1)
    assert caught.value.lines == [
        (
            "no password for lt-router: set LT_SCRAM_PASSWORD_LT_ROUTER, or give --secrets-dir"
            " to read lt-router.password from, or to write a new one into"
        ),
        (
            "no password for lt-api: set LT_SCRAM_PASSWORD_LT_API, or give --secrets-dir"
            " to read lt-api.password from, or to write a new one into"
        ),
    ]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o620])
def test_a_password_file_others_can_reach_is_refused(tmp_path: Path, mode: int) -> None:
    path = secret_file(tmp_path / "s", "lt-api", "x", mode)
    with pytest.raises(SecretsError, match=rf"lets other users at it; run chmod 600 {path}"):
        Passwords(tmp_path / "s", {}).password("lt-api")


def test_an_empty_password_file_is_refused(tmp_path: Path) -> None:
    secret_file(tmp_path / "s", "lt-api", "\n")
    with pytest.raises(SecretsError, match="empty"):
        Passwords(tmp_path / "s", {}).password("lt-api")


def test_a_file_wins_over_the_environment(tmp_path: Path) -> None:
    secret_file(tmp_path / "s", "lt-api", "from-file")
    passwords = Passwords(tmp_path / "s", {env_name("lt-api"): "from-env"})
    assert passwords.password("lt-api") == "from-file"
    assert passwords.source("lt-api") == "file"
    assert Passwords(None, {env_name("lt-api"): "e"}).source("lt-api") == "env"
    assert Passwords(None, {}).source("lt-api") is None


def test_an_environment_name_two_users_share_is_refused() -> None:
    users = ("lt-endpoint-a.b", "lt-endpoint-a-b")
    assert env_name(users[0]) == env_name(users[1]) == "LT_SCRAM_PASSWORD_LT_ENDPOINT_A_B"
    passwords = Passwords(None, {"LT_SCRAM_PASSWORD_LT_ENDPOINT_A_B": "x"})
    with pytest.raises(SecretsError, match=r"could be the password of lt-endpoint-a\.b or"):
        apply_users(FakeAdmin(), users, passwords, timeout_s=1)


def test_rotate_writes_new_passwords_and_sets_them(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    old = secret_file(secrets, "lt-api", "old")
    admin = FakeAdmin(users={"lt-api": [SHA512], "lt-router": [SHA512]})
    changes = apply_users(admin, ("lt-api", "lt-router"), Passwords(secrets, {}), rotate={"lt-api"})
    assert changes.plan.rotate == ("lt-api",)
    assert changes.plan.in_place == ("lt-router",)
    new = old.read_text().strip()
    assert new != "old"
    assert [(u.user, u.password) for u in admin.upserts] == [("lt-api", new.encode())]


def test_rotate_needs_a_directory_to_write_into() -> None:
    admin = FakeAdmin(users={"lt-api": [SHA512]})
    with pytest.raises(SecretsError, match="--rotate needs --secrets-dir"):
        apply_users(admin, ("lt-api",), Passwords(None, {}), rotate={"lt-api"})
    assert admin.upserts == []


def test_a_refused_rotation_keeps_the_old_password_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    old = secret_file(secrets, "lt-api", "old")
    admin = FakeAdmin(users={"lt-api": [SHA512]}, refuse={"lt-api"})
    with pytest.raises(BrokerError) as caught:
        apply_users(admin, ("lt-api",), Passwords(secrets, {}), rotate={"lt-api"})
    assert caught.value.lines == [
        (
            "cannot set the password of lt-api: Broker: Unsupported SASL mechanism"
            " (UNSUPPORTED_SASL_MECHANISM)"
        )
    ]
    assert old.read_text() == "old"


def test_dry_run_changes_nothing_and_writes_nothing(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    admin = FakeAdmin(users={"lt-endpoint-gone": [SHA512]})
    changes = apply_users(
        admin, ("lt-api",), Passwords(secrets, {}), delete_stale=True, dry_run=True
    )
    assert changes.plan.create == ("lt-api",)
    assert changes.plan.delete == ("lt-endpoint-gone",)
    assert admin.upserts == []
    assert admin.deletions == []
    assert not secrets.exists()


def test_stale_users_are_deleted_every_mechanism(tmp_path: Path) -> None:
    admin = FakeAdmin(users={"lt-endpoint-gone": [SHA512, SHA256], "other": [SHA512]})
    changes = apply_users(admin, (), Passwords(None, {}), delete_stale=True, timeout_s=1)
    assert changes.plan.delete == ("lt-endpoint-gone",)
    assert sorted(d.mechanism.name for d in admin.deletions) == ["SCRAM_SHA_256", "SCRAM_SHA_512"]
    assert set(admin.users) == {"other"}


def test_an_unreachable_broker_is_one_line() -> None:
    with pytest.raises(BrokerError) as caught:
        apply_users(FakeAdmin(down=True), PLANNED, Passwords(None, {}), timeout_s=1)
    assert caught.value.lines == [
        "cannot list the SCRAM users: Local: Broker transport failure (_TRANSPORT)"
    ]


def test_staged_files_do_not_follow_symlinks(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (secrets / "lt-api.password.new").symlink_to(target)
    with pytest.raises(SecretsError, match="cannot write"):
        Passwords(secrets, {}).stage("lt-api", "x")
    assert target.read_text() == "keep"


def test_a_shared_secrets_directory_is_refused_for_writing(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    secrets.chmod(0o755)
    with pytest.raises(SecretsError, match="lets other users in; run chmod 700"):
        Passwords(secrets, {}).stage("lt-api", "x")
