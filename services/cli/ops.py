"""`lienthong settings` and `lienthong directory`: look at what a process would run with."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lienthong.cli.context import Runtime, pass_runtime
from lienthong.plumbing.settings import env_names
from lienthong.plumbing.settings_doc import reference


@click.group("settings")
def settings_group() -> None:
    """Show the effective settings."""


@settings_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of NAME=value lines.")
@click.option("--markdown", is_flag=True, help="Print the reference of every setting's default.")
@pass_runtime
def settings_show(runtime: Runtime, *, as_json: bool, markdown: bool) -> None:
    """Print every setting with its environment variable; secrets are masked.

    Example: LIENTHONG_KAFKA_BOOTSTRAP=10.0.0.5:9092 lienthong settings show
    """
    if markdown:
        click.echo(reference())
        return
    described = runtime.settings.describe()
    if as_json:
        click.echo(json.dumps(described, indent=2, default=str))
        return
    for name, (section, field) in sorted(env_names().items()):
        click.echo(f"{name}={described[section][field]}")


@click.group("directory")
def directory_group() -> None:
    """Check the agency directory."""


@directory_group.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@pass_runtime
def directory_check(runtime: Runtime, path: Path | None) -> None:
    """Validate a directory file and print what it holds; every problem with its line.

    Example: lienthong directory check deploy/directory.example.yaml
    """
    if path is not None:
        section = runtime.settings.directory.model_copy(update={"path": path})
        runtime = Runtime(runtime.settings.model_copy(update={"directory": section}))
    directory = runtime.load_directory()
    click.echo(
        f"{runtime.settings.directory.path}: {len(directory.agencies)} agencies,"
        f" {len(directory.endpoints)} endpoints, {len(directory.groups)} groups"
    )
    for warning in directory.warnings:
        click.echo(f"warning: {warning}", err=True)
