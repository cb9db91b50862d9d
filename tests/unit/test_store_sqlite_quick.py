"""Quick checks of the store's adapters on a SQLite file: URLs, pragmas, columns, `db` CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from lienthong.cli.db import db_group
from lienthong.consumer.store import StoreError, head, make_engine, redacted
from lienthong.consumer.store.columns import UtcDateTime, decode_headers, encode_headers
from lienthong.consumer.store.engine import parse_url

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("lienthong.sqlite", "sqlite:///lienthong.sqlite"),
        ("/var/lib/lt/h41.sqlite", "sqlite:////var/lib/lt/h41.sqlite"),
        ("sqlite:///relative.sqlite", "sqlite:///relative.sqlite"),
        ("postgresql://lt@db:5432/lt", "postgresql+psycopg://lt@db:5432/lt"),
        ("postgres://lt@db/lt", "postgresql+psycopg://lt@db/lt"),
        ("postgresql+psycopg://lt@db/lt", "postgresql+psycopg://lt@db/lt"),
    ],
)
def test_urls_and_paths_name_their_driver(given: str, expected: str) -> None:
    assert parse_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "postgresql+psycopg2://u@h/db"])
def test_other_databases_are_refused_without_their_password(url: str) -> None:
    with pytest.raises(StoreError, match="unsupported database") as raised:
        parse_url(url)
    assert "p@" not in str(raised.value)


def test_redacted_masks_the_password() -> None:
    assert redacted("postgresql://lt:s3cret@db:5432/lt") == "postgresql://lt:***@db:5432/lt"
    assert redacted("/data/h41.sqlite") == "/data/h41.sqlite"


def test_sqlite_connections_get_wal_normal_sync_foreign_keys_and_busy_timeout(
    tmp_path: Path,
) -> None:
    engine = make_engine(str(tmp_path / "pragmas.sqlite"))
    try:
        with engine.connect() as conn:
            pragmas = [
                conn.execute(text(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            ]
    finally:
        engine.dispose()
    assert pragmas == ["wal", 1, 1, 10_000]  # synchronous 1 is NORMAL


def test_headers_keep_order_duplicates_and_any_bytes() -> None:
    headers = (("a", b"1"), ("a", b"2"), ("bin", bytes(range(256))), ("empty", b""))
    assert decode_headers(encode_headers(headers)) == headers


def test_timestamps_are_bound_as_utc_and_read_back_aware() -> None:
    column = UtcDateTime()
    sqlite, pg = make_engine("x.sqlite").dialect, make_engine("postgresql://h/db").dialect
    local = datetime(2026, 11, 26, 15, 30, tzinfo=timezone(timedelta(hours=7)))
    assert column.process_bind_param(local, sqlite) == datetime(2026, 11, 26, 8, 30)  # noqa: DTZ001
    assert column.process_bind_param(local, pg) == datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
    naive = datetime(2026, 11, 26, 8, 30)  # noqa: DTZ001
    assert column.process_result_value(naive, sqlite) == naive.replace(tzinfo=UTC)
    assert column.process_result_value(local, pg) == local
    assert column.process_result_value(local, pg).tzinfo is UTC  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(naive, sqlite)


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    runner = CliRunner()

    behind = runner.invoke(db_group, ["current", "--url", url])
    first = runner.invoke(db_group, ["upgrade", "--url", url])
    again = runner.invoke(db_group, ["upgrade", "--url", url])
    now = runner.invoke(db_group, ["current", "--url", url])

    assert behind.exit_code == 1
    assert "none" in behind.output
    assert first.exit_code == 0, first.output
    assert f"upgraded from an empty schema to {head()}" in first.output
    assert "up to date" in again.output
    assert (now.exit_code, now.output) == (0, f"{head()} (head)\n")


def test_db_commands_default_to_the_consumer_setting(tmp_path: Path) -> None:
    path = tmp_path / "from-env.sqlite"
    env = {"LIENTHONG_CONSUMER_DATABASE_URL": str(path)}
    result = CliRunner().invoke(db_group, ["upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert f"{path} upgraded from an empty schema" in result.output
    assert CliRunner().invoke(db_group, ["current"], env=env).output == f"{head()} (head)\n"


def test_db_upgrade_failure_is_one_line_without_the_password() -> None:
    result = CliRunner().invoke(
        db_group, ["upgrade", "--url", "postgresql://lt:s3cret@127.0.0.1:9/none"]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: cannot upgrade postgresql://lt:***@127.0.0.1:9/none")
    assert "s3cret" not in result.output


def test_db_prune_outbox_says_what_it_did(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prune.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(db_group, ["upgrade", "--url", url]).exit_code == 0
    dry = runner.invoke(db_group, ["prune-outbox", "--url", url, "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["rows"] == 0
    done = runner.invoke(db_group, ["prune-outbox", "--url", url, "--sent-before", "2026-01-01"])
    assert done.output == "deleted 0 outbox rows sent before 2026-01-01T00:00:00+00:00\n"
    bad = runner.invoke(db_group, ["prune-outbox", "--url", url, "--sent-before", "soon"])
    assert bad.exit_code == 2
    assert "'soon' is not a time" in bad.output
