"""The `lienthong` command line: one group, with subcommands per area."""

from __future__ import annotations

import click

from lienthong import __version__
from lienthong.cli.consumer import consumer_group
from lienthong.cli.context import pass_runtime
from lienthong.cli.db import db_group
from lienthong.cli.demo import demo_command
from lienthong.cli.dlq import dlq_group
from lienthong.cli.ops import directory_group, settings_group
from lienthong.cli.producer import producer_group
from lienthong.cli.publish import publish_command
from lienthong.cli.replay import replay_command
from lienthong.cli.router import router_group
from lienthong.cli.subscribe import subscribe_command
from lienthong.cli.topics import topics_group
from lienthong.cli.trace import trace_command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lienthong")
def main() -> None:
    """Lienthong: exchange official documents, reports and statuses between agencies over Kafka.

    Settings come from LIENTHONG_* environment variables (see `lienthong settings show`);
    the broker is LIENTHONG_KAFKA_BOOTSTRAP, default 127.0.0.1:9092.
    """


main.add_command(settings_group)
main.add_command(directory_group)
main.add_command(topics_group)
main.add_command(producer_group)
main.add_command(publish_command)
main.add_command(router_group)
main.add_command(consumer_group)
main.add_command(db_group)
main.add_command(trace_command)
main.add_command(demo_command)
main.add_command(dlq_group)
main.add_command(replay_command)
main.add_command(subscribe_command)

__all__ = ["main", "pass_runtime"]
