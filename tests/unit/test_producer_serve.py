"""`lienthong producer serve` refuses to expose the published demo keys beyond this machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lienthong.cli.producer import demo_keys_in, is_loopback, producer_group
from lienthong.directory.loader import load_directory
from tests.support.api import EXAMPLE_DIRECTORY, example_directory


def test_the_example_directory_holds_demo_keys_and_a_real_one_does_not(tmp_path: Path) -> None:
    assert "vpcp" in demo_keys_in(example_directory())
    own = EXAMPLE_DIRECTORY.read_text(encoding="utf-8").replace(
        "credential_sha256: 8985c2153f97508190d757c0ce1f58f0cf0318194e2b00c3fc08443fab5b86dd",
        f"credential_sha256: {'ab' * 32}",
    )
    path = tmp_path / "directory.yaml"
    path.write_text(own, encoding="utf-8")
    assert "vpcp" not in demo_keys_in(load_directory(path))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("api", False)],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:  # noqa: FBT001
    assert is_loopback(host) is loopback


def test_serve_on_all_interfaces_with_demo_keys_is_refused_before_anything_starts() -> None:
    env = {
        "LIENTHONG_DIRECTORY_PATH": str(EXAMPLE_DIRECTORY),
        "LIENTHONG_KAFKA_BOOTSTRAP": "127.0.0.1:9",  # never reached: the refusal comes first
        "LIENTHONG_LOG_FORMAT": "json",
    }
    result = CliRunner().invoke(producer_group, ["serve", "--host", "0.0.0.0"], env=env)
    assert result.exit_code == 1, result.output
    assert "refusing to listen on 0.0.0.0" in result.output
    assert "vpcp" in result.output
