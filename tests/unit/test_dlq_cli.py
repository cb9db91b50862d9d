from __future__ import annotations

import click
import pytest
from click.testing import CliRunner, Result

from lienthong.cli.dlq import dlq_group
from lienthong.cli.replay import replay_command
from tests.support.api import EXAMPLE_DIRECTORY
from tests.support.ports import free_port


@click.group()
def root() -> None:
    """Stand in for `lienthong`, which registers these commands."""


root.add_command(dlq_group)
root.add_command(replay_command)


def run(*args: str, bootstrap: str = "127.0.0.1:9") -> Result:
    env = {
        "LIENTHONG_KAFKA_BOOTSTRAP": bootstrap,
        "LIENTHONG_KAFKA_SASL_USERNAME": "lt-operator",
        "LIENTHONG_KAFKA_SASL_PASSWORD": "not-checked-here",
        "LIENTHONG_DIRECTORY_PATH": str(EXAMPLE_DIRECTORY),
        "LIENTHONG_LOG_FORMAT": "json",
    }
    return CliRunner().invoke(root, list(args), env=env)


@pytest.mark.parametrize(
    "command", [["dlq", "list"], ["dlq", "show"], ["dlq", "replay"], ["replay"]]
)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert f"Example: lienthong {' '.join(command)}" in " ".join(result.stdout.split())


def test_dlq_replay_help_states_where_each_stage_goes() -> None:
    text = " ".join(run("dlq", "replay", "--help").stdout.split())
    assert "stage router: to the inbound topic" in text
    assert "stage consumer: to the inbound topic too" in text
    assert "naming the endpoint it failed at" in text
    assert "already replayed" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dlq", "replay"], "choose what to replay"),
        (["dlq", "replay", "3", "--reason", "bad-magic"], "choose what to replay"),
        (["dlq", "replay", "--all", "--reason", "bad-magic"], "choose what to replay"),
        (["dlq", "replay", "x:3"], "is not an offset: use 17 or 0:17"),
        (["dlq", "show", "-3"], "No such option"),
        (["dlq", "list", "--since", "yesterday"], "is not a time: use ISO 8601"),
        (["dlq", "list", "--limit", "0"], "0 is not in the range"),
        (["replay", "--endpoint", "vpcp"], "Missing option '--since'"),
        (["replay", "--endpoint", "vpcp", "--since", "1d", "--until", "2d"], "before --since"),
    ],
)
def test_bad_usage_exits_2_naming_the_mistake(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_unknown_endpoint_fails_with_one_line_naming_the_known_ones() -> None:
    result = run("replay", "--endpoint", "nope", "--since", "1h")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "unknown endpoint 'nope' (known: bo-nganh, bo-tai-chinh," in result.stderr


def test_settings_without_a_principal_fail_with_one_line_saying_which_is_missing() -> None:
    env = {"LIENTHONG_DIRECTORY_PATH": str(EXAMPLE_DIRECTORY), "LIENTHONG_LOG_FORMAT": "json"}
    result = CliRunner().invoke(root, ["dlq", "list", "--timeout", "1"], env=env)
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(
        "Error: cannot connect to Kafka: LIENTHONG_KAFKA_SASL_USERNAME is not set"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["dlq", "list"],
        ["dlq", "show", "0"],
        ["dlq", "replay", "--all"],
        ["dlq", "replay", "--all", "--dry-run"],
        ["replay", "--endpoint", "vpcp", "--since", "1h"],
    ],
)
def test_an_unreachable_broker_fails_with_one_line_naming_it(args: list[str]) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"  # nothing listens there
    result = run(*args, "--timeout", "1", bootstrap=bootstrap)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: cannot ")
    assert f"(is the broker at {bootstrap} up?)" in result.stderr
