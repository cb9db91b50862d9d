"""The `lienthong` command line: one group, with subcommands per area, each imported on use.

A service restarted after a crash is away for as long as its process takes to start, and
importing every subcommand (FastAPI for the API, Alembic for the store, kafka-python for the
client...) cost 3 s of CPU before `lienthong consumer run` could begin: so each subcommand's
module is imported only when that command runs (or when `--help` lists them all).
"""

from __future__ import annotations

import importlib

import click

from lienthong import __version__
from lienthong.cli.context import pass_runtime

# name -> (module, attribute) of each subcommand.
_COMMANDS = {
    "settings": ("lienthong.cli.ops", "settings_group"),
    "directory": ("lienthong.cli.ops", "directory_group"),
    "topics": ("lienthong.cli.topics", "topics_group"),
    "producer": ("lienthong.cli.producer", "producer_group"),
    "publish": ("lienthong.cli.publish", "publish_command"),
    "router": ("lienthong.cli.router", "router_group"),
    "consumer": ("lienthong.cli.consumer", "consumer_group"),
    "db": ("lienthong.cli.db", "db_group"),
    "trace": ("lienthong.cli.trace", "trace_command"),
    "demo": ("lienthong.cli.demo", "demo_command"),
    "dlq": ("lienthong.cli.dlq", "dlq_group"),
    "replay": ("lienthong.cli.replay", "replay_command"),
    "subscribe": ("lienthong.cli.subscribe", "subscribe_command"),
    "acls": ("lienthong.cli.acls", "acls_group"),
    "users": ("lienthong.cli.users", "users_group"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when first asked for."""

    def __init__(self, *args: object, lazy: dict[str, tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # click's own signature
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return every subcommand's name, lazy ones included, sorted as click sorts them."""
        return sorted({*self._lazy, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return a subcommand, importing its module the first time."""
        if cmd_name not in self.commands and cmd_name in self._lazy:
            module, attribute = self._lazy[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module}.{attribute} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    lazy=_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="lienthong")
def main() -> None:
    """Lienthong: exchange official documents, reports and statuses between agencies over Kafka.

    Settings come from LIENTHONG_* environment variables (see `lienthong settings show`);
    the broker is LIENTHONG_KAFKA_BOOTSTRAP, default 127.0.0.1:9092.
    """


__all__ = ["main", "pass_runtime"]
