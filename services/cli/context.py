"""What every command shares: settings read once, logging configured once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

import click

from lienthong.contract.agency import AgencyCodePattern
from lienthong.directory.errors import DirectoryError
from lienthong.directory.loader import load_directory
from lienthong.directory.model import Directory
from lienthong.plumbing.kafka_security import KafkaSecurityError
from lienthong.plumbing.logging import configure_logging
from lienthong.plumbing.settings import Settings, SettingsError

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Runtime:
    """Settings of this invocation and the loaders built from them."""

    settings: Settings

    def load_directory(self) -> Directory:
        """Load the configured directory or fail the command with its problems."""
        path = self.settings.directory.path
        try:
            return load_directory(
                path, agency_codes=AgencyCodePattern(self.settings.contract.agency_code_pattern)
            )
        except FileNotFoundError:
            raise click.ClickException(
                f"directory file {path} not found (set LIENTHONG_DIRECTORY_PATH)"
            ) from None
        except DirectoryError as exc:
            raise click.ClickException(f"directory {path} is invalid:\n{exc}") from None


def pass_runtime(func: Callable[Concatenate[Runtime, P], R]) -> Callable[P, R]:
    """Give a command the Runtime, building it once per process."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx = click.get_current_context()
        root = ctx.find_root()
        runtime = root.meta.get("lienthong.runtime")
        if runtime is None:
            try:
                settings = Settings.from_env()
            except SettingsError as exc:
                raise click.ClickException(f"bad settings: {exc}") from None
            configure_logging(settings.log)
            runtime = root.meta["lienthong.runtime"] = Runtime(settings)
        try:
            return func(runtime, *args, **kwargs)
        except KafkaSecurityError as exc:  # settings that cannot authenticate: say which
            raise click.ClickException(f"cannot connect to Kafka: {exc}") from None

    return wrapper
